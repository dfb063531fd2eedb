//! The running shape every service shares: a router behind the RPC server layer, health routes,
//! JSON 404/405, background tasks, one shutdown signal, binding from configuration so port 0 works.
//!
//! A service's `build` ends with:
//! ```ignore
//! ServiceBuilder::new(telemetry, router)
//!     .readiness(move || { let pool = pool.clone(); async move { db::ping(&pool).await } })
//!     .background(move |stop| relay.run(stop))
//!     .bind(settings.bind)
//!     .await
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::http_error::ErrorAnswer;
use crate::rpc::{Resilience, RpcClient, ServerLayer};
use crate::telemetry::Telemetry;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type ReadinessCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;
type BackgroundTask = Box<dyn FnOnce(CancellationToken) -> BoxFuture + Send>;

/// How long in-flight requests and background tasks get to finish after shutdown is asked.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What every service's `build(settings, deps)` receives besides its own settings: its own
/// telemetry (its `service.name`) and the process's shared HTTP client (one connection pool).
#[derive(Clone, Debug)]
pub struct Deps {
    /// This service's telemetry.
    pub telemetry: Telemetry,
    /// The shared HTTP client every [`RpcClient`] is built on.
    pub http: reqwest::Client,
    /// Retry, circuit-breaking and fault settings of every [`RpcClient`] (defaults unless
    /// [`Deps::with_resilience`]).
    pub resilience: Resilience,
}

impl Deps {
    /// Bundles a service's telemetry with the shared HTTP client.
    pub fn new(telemetry: Telemetry, http: reqwest::Client) -> Self {
        Self {
            telemetry,
            http,
            resilience: Resilience::default(),
        }
    }

    /// A service's own connection pool, counted and exported: a fresh HTTP client whose
    /// connections and calls are counted into `resilience.pool` (replaced by fresh stats), and
    /// those counters exported with the service's metrics. What each service process (and
    /// each in-process service) runs with, so every service reports its own pool.
    pub fn with_own_pool(telemetry: Telemetry, mut resilience: Resilience) -> Self {
        let pool = crate::rpc::PoolStats::default();
        resilience.pool = pool.clone();
        let (calls, connections) = (pool.clone(), pool.clone());
        telemetry.metrics().observe_pool(
            move || calls.calls(),
            move || connections.connections_opened(),
        );
        Self {
            http: RpcClient::shared_http_counted(&pool),
            telemetry,
            resilience,
        }
    }

    /// The same, with these retry, breaker and fault settings for every client.
    pub fn with_resilience(mut self, resilience: Resilience) -> Self {
        self.resilience = resilience;
        self
    }

    /// An [`RpcClient`] from this service to `target` at `base_url`. With DNS discovery on
    /// ([`Resilience::dns_refresh`]), a call to another minibank service whose URL names a host
    /// is balanced over the addresses the name resolves to, followed as they change (external
    /// systems are called by name: their TLS certificates and virtual hosts need it).
    pub fn client(&self, target: &str, base_url: &str, timeout: Duration) -> RpcClient {
        let peer_service = target.parse::<crate::service::ServiceName>().is_ok();
        if let Some(every) = self.resilience.dns_refresh
            && peer_service
            && crate::rpc::dns::has_name(base_url)
        {
            let replicas = crate::rpc::follow_dns(&[base_url.to_owned()], every);
            return self.balanced_client(target, replicas, timeout);
        }
        RpcClient::with_resilience(
            self.http.clone(),
            self.telemetry.clone(),
            target,
            base_url,
            timeout,
            &self.resilience,
        )
    }

    /// An [`RpcClient`] from this service to `target`, balanced over the replicas `replicas`
    /// lists as it changes.
    pub fn balanced_client(
        &self,
        target: &str,
        replicas: crate::rpc::Replicas,
        timeout: Duration,
    ) -> RpcClient {
        RpcClient::balanced(
            self.http.clone(),
            self.telemetry.clone(),
            target,
            replicas,
            timeout,
            &self.resilience,
        )
    }
}

/// Assembles a service: its routes, readiness check and background tasks.
pub struct ServiceBuilder {
    telemetry: Telemetry,
    router: Router,
    readiness: ReadinessCheck,
    background: Vec<BackgroundTask>,
    trust_identity_headers: bool,
    traceresponse: bool,
}

impl ServiceBuilder {
    /// A service answering `router`'s routes (state already applied), reporting as `telemetry`.
    pub fn new(telemetry: Telemetry, router: Router) -> Self {
        Self {
            telemetry,
            router,
            readiness: Arc::new(|| Box::pin(async { true })),
            background: Vec::new(),
            trust_identity_headers: true,
            traceresponse: false,
        }
    }

    /// What `/health/ready` checks (e.g. a database ping). Ready = true.
    pub fn readiness<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.readiness = Arc::new(move || Box::pin(check()));
        self
    }

    /// A task that runs as long as the service (an outbox relay, a saga resumer). It gets the
    /// shutdown token and must return soon after it is cancelled.
    pub fn background<F, Fut>(mut self, task: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.background
            .push(Box::new(move |stop| Box::pin(task(stop))));
        self
    }

    /// The public door's settings: ignore inbound identity headers, answer `traceresponse`.
    pub fn public_edge(mut self) -> Self {
        self.trust_identity_headers = false;
        self.traceresponse = true;
        self
    }

    /// Binds `addr` (port 0 = any free port) and returns the application, not yet running.
    pub async fn bind(self, addr: SocketAddr) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local_addr = listener.local_addr().context("reading the bound address")?;
        let shutdown = CancellationToken::new();
        let layer = ServerLayer {
            telemetry: self.telemetry.clone(),
            local_addr,
            trust_identity_headers: self.trust_identity_headers,
            traceresponse: self.traceresponse,
        };
        let routes = self
            .router
            .fallback(no_route)
            .method_not_allowed_fallback(method_not_allowed);
        let health = Router::new()
            .route("/health/live", get(live))
            .route("/health/ready", get(ready))
            // Set on each route registered so far: the health routes answer the typed 405 too.
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(Health {
                check: self.readiness,
                shutdown: shutdown.clone(),
            });
        // Internal services keep health probes out of traces (probes every few seconds would
        // flood the trace store); edge traces them too, because every edge response must carry
        // `traceresponse` and `x-request-id`.
        let router = if self.traceresponse {
            layer.apply(health.merge(routes))
        } else {
            health.merge(layer.apply(routes))
        };
        Ok(Application {
            listener,
            local_addr,
            router,
            shutdown,
            background: self.background,
            telemetry: self.telemetry,
        })
    }
}

/// A bound service, ready to run.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
    background: Vec<BackgroundTask>,
    telemetry: Telemetry,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("service", &self.telemetry.service_name())
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<addr>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The service's telemetry.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// A handle that stops this application gracefully.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until the shutdown handle fires: then stops accepting, lets in-flight requests and
    /// background tasks finish (bounded), and flushes the service's spans.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        for task in self.background {
            tasks.spawn(task(self.shutdown.child_token()));
        }
        let stop = self.shutdown.clone();
        let server = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { stop.cancelled().await });
        let served = tokio::select! {
            served = server => served.context("serving HTTP"),
            () = drain_deadline(&self.shutdown) => {
                tracing::warn!(service = self.telemetry.service_name(), "in-flight requests did not finish in time");
                Ok(())
            }
        };
        self.shutdown.cancel();
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tasks.abort_all();
        }
        self.telemetry.shutdown(Duration::from_secs(2)).await;
        served
    }
}

async fn drain_deadline(shutdown: &CancellationToken) {
    shutdown.cancelled().await;
    tokio::time::sleep(DRAIN_TIMEOUT).await;
}

/// Stops an [`Application`] (clone it freely).
#[derive(Clone, Debug)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Asks the application to stop (idempotent).
    pub fn shutdown(&self) {
        self.0.cancel();
    }

    /// True once shutdown was asked.
    pub fn is_shutdown(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves when shutdown is asked.
    pub async fn stopped(&self) {
        self.0.cancelled().await;
    }
}

#[derive(Clone)]
struct Health {
    check: ReadinessCheck,
    shutdown: CancellationToken,
}

async fn live() -> Response {
    axum::Json(json!({"status": "live"})).into_response()
}

async fn ready(State(health): State<Health>) -> Response {
    if !health.shutdown.is_cancelled() && (health.check)().await {
        return axum::Json(json!({"status": "ready"})).into_response();
    }
    let error = HealthError::NotReady;
    let answer = error.answer();
    // The error body, plus the `status` field a readiness probe reads.
    (
        answer.status,
        axum::Json(json!({
            "status": "not_ready",
            "code": answer.code,
            "message": error.to_string(),
        })),
    )
        .into_response()
}

/// What `GET /health/ready` answers while the service cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// Its database or a required dependency is not usable (or it is stopping): 503 `not_ready`.
    #[error("the service cannot use its database or a required dependency")]
    NotReady,
}

crate::error_answers!(HealthError {
    NotReady => SERVICE_UNAVAILABLE "not_ready",
});

/// What every minibank router answers for a request none of its routes takes.
#[derive(Debug, thiserror::Error)]
pub enum Unrouted {
    /// No route serves the path: 404 `not_found`.
    #[error("no route for {method} {path}")]
    NoRoute {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
    },
    /// A route serves the path, but not with this method: 405 `method_not_allowed`.
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The request's method.
        method: Method,
        /// The request's path.
        path: String,
    },
}

crate::error_answers!(Unrouted {
    NoRoute => NOT_FOUND "not_found",
    MethodNotAllowed => METHOD_NOT_ALLOWED "method_not_allowed",
});

/// The 404 every minibank router answers for a path it does not serve.
pub(crate) async fn no_route(method: Method, uri: Uri) -> Unrouted {
    Unrouted::NoRoute {
        method,
        path: uri.path().to_owned(),
    }
}

/// The 405 every minibank router answers for a method a route does not take.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> Unrouted {
    Unrouted::MethodNotAllowed {
        method,
        path: uri.path().to_owned(),
    }
}
