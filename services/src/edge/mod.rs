//! edge: the only public door. It owns nothing (no store); it routes public requests (API.md
//! "Public API") to auth, ledger, payments and webhooks through the RPC client, after:
//! authentication (auth `/introspect`, small TTL cache) and the route's scope check;
//! a per-client rate limit (429 + `Retry-After`); a body-size limit (413 `payload_too_large`);
//! an upstream deadline (504 `upstream_timeout`), shortened by the caller's `Prefer: wait=N`.
//! It never trusts inbound `x-minibank-*` headers, and answers every response with
//! `x-request-id` and W3C `traceresponse`.
//! It also serves `GET /openapi.json` and, with the propagation probe on, `POST /test`.
//!
//! Its parts, in the one service shape as far as it applies to a gateway:
//! - `mod.rs`: settings, the [`Edge`] service (its own operations), `build`, the router.
//! - `error.rs`: its typed errors, each mapped once; [`gateway_answers`] is derived from them.
//! - `routes.rs` (which service serves each public route, with which scope), `proxy.rs`
//!   (forwarding one request), `authenticate.rs`, `rate_limit.rs`, `prefer_wait.rs`,
//!   `upstream.rs` (replicas), `probe.rs` (`POST /test`, parse -> apply -> encode).

pub mod authenticate;
pub mod error;
pub mod prefer_wait;
pub mod probe;
pub mod proxy;
pub mod rate_limit;
pub mod routes;
pub mod upstream;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, on, post};

use crate::app::{Application, Deps, HealthError, ServiceBuilder};
use crate::config;
use crate::http_error::{Answer, ErrorAnswer};
use crate::rpc::{HealthChecks, RequestContext, RpcClient, follow_dns};
use crate::service::{InProcess, Operation, Service, ServiceName};
use authenticate::Authenticator;
use error::{AccessError, CannotFail, GatewayError};
use rate_limit::{RateLimitSettings, RateLimiter};
use routes::{Target, public_routes};
pub use upstream::Discovery;
use upstream::Upstream;

/// The OpenAPI document of the public API.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// What edge itself can answer for an operation it forwards (`secured`: it needs a token),
/// besides the answers of the service behind it: those of its typed errors, [`GatewayError`]
/// on every forwarded route, [`AccessError`] on secured ones.
pub fn gateway_answers(secured: bool) -> Vec<Answer> {
    let mut answers = GatewayError::answers();
    if secured {
        answers.extend(AccessError::answers());
    }
    answers
}

/// edge's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// auth replicas.
    pub auth_urls: Vec<String>,
    /// ledger replicas.
    pub ledger_urls: Vec<String>,
    /// payments replicas.
    pub payments_urls: Vec<String>,
    /// webhooks replicas.
    pub webhooks_urls: Vec<String>,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// How long edge waits for an upstream answer (becomes the request's deadline).
    pub upstream_timeout: Duration,
    /// How long an introspection answer is reused (zero = ask auth on every request).
    pub introspection_cache_ttl: Duration,
    /// Per-client quota.
    pub rate_limit: RateLimitSettings,
    /// Per-`client_id` quota of the public routes (sign-in attempts): tighter, since they are
    /// what a password-guessing client would flood.
    pub public_rate_limit: RateLimitSettings,
    /// Serve `POST /test` (W3C trace-context test service).
    pub propagation_probe: bool,
    /// Where edge follows the upstreams' replicas while it runs; `None` = the URL lists above,
    /// followed by DNS when the platform's resilience settings turn it on, else fixed.
    pub discovery: Option<Discovery>,
    /// Health checks of the upstreams' replicas (`None`: the platform's, else none).
    pub health_checks: Option<HealthChecks>,
}

impl Settings {
    /// Settings with defaults for everything but the upstream URLs.
    pub fn new(
        bind: SocketAddr,
        auth_url: String,
        ledger_url: String,
        payments_url: String,
        webhooks_url: String,
    ) -> Self {
        Self {
            bind,
            auth_urls: vec![auth_url],
            ledger_urls: vec![ledger_url],
            payments_urls: vec![payments_url],
            webhooks_urls: vec![webhooks_url],
            body_limit: 64 * 1024,
            upstream_timeout: Duration::from_secs(30),
            introspection_cache_ttl: Duration::from_secs(5),
            rate_limit: RateLimitSettings::default(),
            public_rate_limit: RateLimitSettings::public_default(),
            propagation_probe: false,
            discovery: None,
            health_checks: None,
        }
    }

    /// From `MINIBANK_BIND`, `MINIBANK_{AUTH,LEDGER,PAYMENTS,WEBHOOKS}_URL` (comma-separated
    /// replicas), `MINIBANK_BODY_LIMIT` (bytes), `MINIBANK_UPSTREAM_TIMEOUT`,
    /// `MINIBANK_INTROSPECTION_CACHE_TTL`, `MINIBANK_RATE_LIMIT_PER_SECOND`,
    /// `MINIBANK_RATE_LIMIT_BURST`, `MINIBANK_PROPAGATION_PROBE`, `MINIBANK_HEALTH_CHECK_INTERVAL`
    /// (health-check every upstream replica's `/health/ready` this often; unset = no checks).
    pub fn from_env() -> anyhow::Result<Self> {
        let urls = |name: &str| -> anyhow::Result<Vec<String>> {
            Ok(config::required_url(name)?
                .split(',')
                .map(|url| url.trim().trim_end_matches('/').to_owned())
                .filter(|url| !url.is_empty())
                .collect())
        };
        let number = |text: &str| -> anyhow::Result<u64> {
            text.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("`{text}` is not a whole number"))
        };
        let defaults = RateLimitSettings::default();
        Ok(Self {
            bind: config::bind_from_env()?,
            auth_urls: urls("MINIBANK_AUTH_URL")?,
            ledger_urls: urls("MINIBANK_LEDGER_URL")?,
            payments_urls: urls("MINIBANK_PAYMENTS_URL")?,
            webhooks_urls: urls("MINIBANK_WEBHOOKS_URL")?,
            body_limit: config::env_parsed("MINIBANK_BODY_LIMIT", number)?
                .map_or(64 * 1024, |n| n as usize),
            upstream_timeout: config::env_parsed(
                "MINIBANK_UPSTREAM_TIMEOUT",
                config::parse_duration,
            )?
            .unwrap_or(Duration::from_secs(30)),
            introspection_cache_ttl: config::env_parsed(
                "MINIBANK_INTROSPECTION_CACHE_TTL",
                config::parse_duration,
            )?
            .unwrap_or(Duration::from_secs(5)),
            rate_limit: RateLimitSettings {
                per_second: config::env_parsed("MINIBANK_RATE_LIMIT_PER_SECOND", number)?
                    .map_or(defaults.per_second, |n| n.min(u32::MAX as u64) as u32),
                burst: config::env_parsed("MINIBANK_RATE_LIMIT_BURST", number)?
                    .map_or(defaults.burst, |n| n.min(u32::MAX as u64) as u32),
            },
            public_rate_limit: RateLimitSettings::public_default(),
            propagation_probe: config::env_parsed(
                "MINIBANK_PROPAGATION_PROBE",
                config::parse_bool,
            )?
            .unwrap_or(false),
            discovery: None,
            health_checks: config::env_parsed(
                "MINIBANK_HEALTH_CHECK_INTERVAL",
                config::parse_duration,
            )?
            .map(|interval| HealthChecks {
                interval,
                ..HealthChecks::default()
            }),
        })
    }
}

/// What edge's handlers share.
#[derive(Clone, Debug)]
pub struct EdgeState {
    auth: Upstream,
    ledger: Upstream,
    payments: Upstream,
    webhooks: Upstream,
    authenticator: Authenticator,
    rate_limiter: RateLimiter,
    public_rate_limiter: RateLimiter,
    body_limit: usize,
    upstream_timeout: Duration,
    probe: RpcClient,
}

impl EdgeState {
    fn upstream(&self, target: Target) -> &Upstream {
        match target {
            Target::Auth => &self.auth,
            Target::Ledger => &self.ledger,
            Target::Payments => &self.payments,
            Target::Webhooks => &self.webhooks,
        }
    }
}

/// edge, as one of the platform's services.
pub struct Edge;

impl Service for Edge {
    const NAME: ServiceName = ServiceName::Edge;
    type Settings = Settings;

    fn from_env() -> anyhow::Result<Settings> {
        Settings::from_env()
    }

    fn in_process(platform: &InProcess<'_>) -> Settings {
        let config = platform.config;
        let mut settings = Settings::new(
            config::default_bind(),
            (platform.url_of)(ServiceName::Auth),
            (platform.url_of)(ServiceName::Ledger),
            (platform.url_of)(ServiceName::Payments),
            (platform.url_of)(ServiceName::Webhooks),
        );
        settings.propagation_probe = config.propagation_probe;
        settings.discovery = Some(platform.discovery.clone());
        settings.introspection_cache_ttl = config.introspection_cache_ttl;
        settings
    }

    fn for_tests(mut settings: Settings) -> Settings {
        // A frozen service makes callers wait this long: short enough for a scenario.
        settings.upstream_timeout = Duration::from_secs(10);
        settings
    }

    /// Edge's own operations; the forwarded ones are the services', with
    /// [`gateway_answers`] added.
    fn operations() -> Vec<Operation> {
        vec![
            Operation::new::<CannotFail>("openapi", &[200]),
            probe::OPERATION,
            Operation::new::<CannotFail>("live", &[200]),
            Operation::new::<HealthError>("ready", &[200]),
        ]
    }

    fn set_bind(settings: &mut Settings, bind: SocketAddr) {
        settings.bind = bind;
    }

    async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
        build(settings, deps).await
    }
}

/// Builds and binds edge.
pub async fn build(settings: Settings, mut deps: Deps) -> anyhow::Result<Application> {
    // edge health-checks its upstreams' replicas when configured here or by the platform.
    if settings.health_checks.is_some() {
        deps.resilience.health_checks = settings.health_checks.clone();
    }
    let timeout = settings.upstream_timeout;
    // Replicas: from the platform's registry in-process; else each upstream's URL list,
    // followed by DNS when discovery is on, or fixed.
    let replicas =
        |target: &str, urls: &[String]| match (&settings.discovery, deps.resilience.dns_refresh) {
            (Some(discovery), _) => discovery.watch(target),
            (None, Some(every)) => follow_dns(urls, every),
            (None, None) => tokio::sync::watch::channel(urls.to_vec()).1,
        };
    let auth = Upstream::new(
        &deps,
        "auth",
        replicas("auth", &settings.auth_urls),
        timeout,
    )?;
    let state = EdgeState {
        authenticator: Authenticator::new(auth.clone(), settings.introspection_cache_ttl),
        auth,
        ledger: Upstream::new(
            &deps,
            "ledger",
            replicas("ledger", &settings.ledger_urls),
            timeout,
        )?,
        payments: Upstream::new(
            &deps,
            "payments",
            replicas("payments", &settings.payments_urls),
            timeout,
        )?,
        webhooks: Upstream::new(
            &deps,
            "webhooks",
            replicas("webhooks", &settings.webhooks_urls),
            timeout,
        )?,
        rate_limiter: RateLimiter::new(settings.rate_limit),
        public_rate_limiter: RateLimiter::new(settings.public_rate_limit),
        body_limit: settings.body_limit,
        upstream_timeout: timeout,
        probe: deps.client("test", "", Duration::from_secs(10)),
    };
    ServiceBuilder::new(deps.telemetry, router(state, settings.propagation_probe))
        .public_edge()
        .bind(settings.bind)
        .await
}

fn router(state: EdgeState, propagation_probe: bool) -> Router {
    let mut router = Router::new().route("/openapi.json", get(openapi));
    for route in public_routes() {
        let filter = match axum::routing::MethodFilter::try_from(route.method.clone()) {
            Ok(filter) => filter,
            Err(_) => continue,
        };
        router = router.route(
            route.pattern,
            on(
                filter,
                move |State(state): State<EdgeState>, ctx: RequestContext, request: Request| {
                    proxy::forward(state, route.clone(), ctx, request)
                },
            ),
        );
    }
    // `/test` is declared whatever the probe's setting, so another method on it is 405 with
    // `Allow: POST` like every declared path; with the probe off, POST is 404 `not_found`.
    router = if propagation_probe {
        router.route("/test", post(probe::handle))
    } else {
        router.route("/test", post(crate::app::no_route))
    };
    router.with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
