//! The whole platform in one process: every service as tasks on 127.0.0.1, one SQLite file per
//! service in a data directory, each with its own tracer provider. Used by the in-process test
//! driver and by `minibank up` (ARCHITECTURE.md, "Seam 1").

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::app::{Application, Deps, ShutdownHandle};
pub use crate::auth::OperatorCredentials;
use crate::config::Secret;
use crate::db::sqlite_url;
use crate::edge::Discovery;
use crate::rpc::{
    BreakerSettings, CircuitRegistry, CircuitState, FaultInjector, HealthChecks, HealthRegistry,
    PoolStats, Resilience, RetrySettings, RpcClient,
};
use crate::telemetry::{Telemetry, TelemetrySettings};
use crate::webhooks::schedule::RetrySchedule;
use crate::{auth, edge, ledger, payments, webhooks};

/// The services of minibank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceName {
    /// The public door.
    Edge,
    /// Clients and tokens.
    Auth,
    /// Accounts, holds, postings.
    Ledger,
    /// The payment saga and its outbox.
    Payments,
    /// Webhook endpoints and deliveries.
    Webhooks,
}

impl ServiceName {
    /// Every service, in start order.
    pub const ALL: [ServiceName; 5] = [
        ServiceName::Ledger,
        ServiceName::Webhooks,
        ServiceName::Auth,
        ServiceName::Payments,
        ServiceName::Edge,
    ];

    /// The name it reports as (`service.name`), e.g. `payments`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Edge => "edge",
            ServiceName::Auth => "auth",
            ServiceName::Ledger => "ledger",
            ServiceName::Payments => "payments",
            ServiceName::Webhooks => "webhooks",
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServiceName {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|name| name.as_str() == text.trim())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "`{text}` is not a minibank service (edge, auth, ledger, payments, webhooks)"
                )
            })
    }
}

/// How to run the platform.
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    /// One SQLite file per service inside (created if missing).
    pub data_dir: PathBuf,
    /// Where edge listens (`127.0.0.1:0` for an ephemeral port).
    pub edge_addr: SocketAddr,
    /// External bank provider base URL (wiremock in tests).
    pub provider_url: String,
    /// Full OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`; `None` = no export.
    pub otlp_traces_endpoint: Option<String>,
    /// Full OTLP/HTTP metrics URL, e.g. `http://127.0.0.1:4318/v1/metrics`; `None` = no
    /// metrics export.
    pub otlp_metrics_endpoint: Option<String>,
    /// How often every service exports its metrics (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub metrics_interval: Duration,
    /// Batch schedule delay of every service's span export (in-process: a few ms).
    pub export_delay: Duration,
    /// The bootstrap operator client.
    pub operator: OperatorCredentials,
    /// Webhook delivery retry schedule.
    pub webhook_retry_schedule: Vec<Duration>,
    /// How long one provider call may take before its outcome counts as unknown.
    pub provider_timeout: Duration,
    /// Serve `POST /test` at edge (W3C trace-context test service).
    pub propagation_probe: bool,
    /// HS256 key for auth's tokens.
    pub token_signing_key: Secret,
    /// How long edge reuses a token introspection (zero: ask auth on every request, so every
    /// trace shows the token check).
    pub introspection_cache_ttl: Duration,
    /// Millisecond backoffs and sweeps inside the services (tests), instead of production ones.
    pub test_timings: bool,
    /// Retry, circuit-breaking and fault settings of every RPC client (its fault injector is
    /// the one [`RunningPlatform::faults`] controls).
    pub resilience: Resilience,
}

impl PlatformConfig {
    /// Settings for tests: ephemeral edge port, fresh operator credentials and signing key,
    /// export batched every 5 ms, millisecond retry schedules, short provider timeout, no
    /// introspection cache.
    pub fn for_tests(
        data_dir: impl Into<PathBuf>,
        provider_url: impl Into<String>,
        otlp_traces_endpoint: Option<String>,
    ) -> Self {
        Self {
            data_dir: data_dir.into(),
            edge_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            provider_url: provider_url.into().trim_end_matches('/').to_owned(),
            otlp_traces_endpoint,
            otlp_metrics_endpoint: None,
            // Short, so a step reading the figures waits for a fresh collection briefly.
            metrics_interval: Duration::from_millis(100),
            export_delay: Duration::from_millis(5),
            operator: OperatorCredentials::generate(),
            webhook_retry_schedule: vec![
                Duration::from_millis(20),
                Duration::from_millis(40),
                Duration::from_millis(80),
            ],
            provider_timeout: Duration::from_millis(300),
            propagation_probe: false,
            token_signing_key: Secret::new(hex::encode(rand::random::<[u8; 32]>())),
            introspection_cache_ttl: Duration::ZERO,
            test_timings: true,
            resilience: Resilience {
                // Short enough that a scenario waits for recovery in milliseconds; five
                // consecutive failures so that one slow provider answer cannot open it.
                breaker: BreakerSettings {
                    failure_threshold: 5,
                    open_for: Duration::from_millis(250),
                },
                retry: RetrySettings {
                    backoff: Duration::from_millis(5),
                    ..RetrySettings::default()
                },
                faults: FaultInjector::new(),
                circuits: CircuitRegistry::default(),
                health: HealthRegistry::default(),
                pool: PoolStats::default(),
                // Edge checks its upstreams' replicas every 50 ms: a replica that stops
                // answering is out of rotation within a scenario step.
                health_checks: Some(HealthChecks {
                    path: "/health/ready".to_owned(),
                    interval: Duration::from_millis(50),
                    timeout: Duration::from_millis(200),
                }),
                // Replicas come from `Discovery` here, and every peer URL is an address.
                dns_refresh: None,
            },
        }
    }
}

struct RunningService {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    task: JoinHandle<anyhow::Result<()>>,
    telemetry: Telemetry,
}

/// The running platform. Drop without [`RunningPlatform::shutdown`] leaves the tasks running
/// until the runtime ends.
pub struct RunningPlatform {
    config: PlatformConfig,
    http: reqwest::Client,
    addrs: HashMap<ServiceName, SocketAddr>,
    services: Mutex<HashMap<ServiceName, RunningService>>,
    /// Where edge finds the replicas of the services behind it.
    discovery: Discovery,
    /// Replicas started after boot, oldest first.
    replicas: Mutex<Vec<(ServiceName, RunningService)>>,
}

impl fmt::Debug for RunningPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningPlatform")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

/// Starts every service (ledger, webhooks, auth, payments, then edge) and returns once all are
/// listening.
pub async fn start(config: PlatformConfig) -> anyhow::Result<RunningPlatform> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut platform = RunningPlatform {
        http: RpcClient::shared_http(),
        addrs: HashMap::new(),
        services: Mutex::new(HashMap::new()),
        discovery: Discovery::new(),
        replicas: Mutex::new(Vec::new()),
        config,
    };
    for name in ServiceName::ALL {
        let bind = if name == ServiceName::Edge {
            platform.config.edge_addr
        } else {
            loopback
        };
        let service = platform
            .launch(name, bind)
            .await
            .with_context(|| format!("starting {name}"))?;
        platform.addrs.insert(name, service.addr);
        platform
            .discovery
            .set(name.as_str(), vec![format!("http://{}", service.addr)]);
        platform.services.get_mut().insert(name, service);
    }
    Ok(platform)
}

impl RunningPlatform {
    /// edge's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn edge_url(&self) -> String {
        self.service_url(ServiceName::Edge)
    }

    /// A service's base URL (internal services are reachable too, for tests and probes).
    pub fn service_url(&self, service: ServiceName) -> String {
        match self.addrs.get(&service) {
            Some(addr) => format!("http://{addr}"),
            None => String::new(),
        }
    }

    /// The operator credentials auth was bootstrapped with.
    pub fn operator(&self) -> &OperatorCredentials {
        &self.config.operator
    }

    /// The fault rules every RPC client of the platform applies (add and remove them while it
    /// runs).
    pub fn faults(&self) -> FaultInjector {
        self.config.resilience.faults.clone()
    }

    /// The circuit from `caller` to `target` (e.g. `payments` → `provider`), if that caller
    /// has a client for that target.
    pub fn circuit(&self, caller: ServiceName, target: &str) -> Option<CircuitState> {
        self.config
            .resilience
            .circuit_state(caller.as_str(), target)
    }

    /// The configuration the platform runs with.
    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    /// A bearer token for the operator, obtained through edge.
    pub async fn operator_token(&self) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/v1/tokens", self.edge_url()))
            .json(&serde_json::json!({
                "client_id": self.config.operator.client_id,
                "client_secret": self.config.operator.client_secret.expose(),
            }))
            .send()
            .await
            .context("asking edge for an operator token")?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.context("reading the token")?;
        anyhow::ensure!(
            status.is_success(),
            "token request answered {status}: {body}"
        );
        body["access_token"]
            .as_str()
            .map(str::to_owned)
            .context("the token answer has no access_token")
    }

    /// Spans each running service has dropped (collector down or slow), by service.
    pub async fn dropped_spans(&self) -> HashMap<ServiceName, u64> {
        self.services
            .lock()
            .await
            .iter()
            .map(|(name, service)| (*name, service.telemetry.dropped_spans()))
            .collect()
    }

    /// Waits (at most `timeout`) until every service has exported the spans ended so far.
    pub async fn flush_telemetry(&self, timeout: Duration) {
        let services = self.services.lock().await;
        let flushes = services
            .values()
            .map(|service| service.telemetry.flush(timeout));
        futures::future::join_all(flushes).await;
    }

    /// Stops `service` gracefully and starts it again on the same address and database
    /// (the payments saga resumes from what it persisted).
    pub async fn restart(&self, service: ServiceName) -> anyhow::Result<()> {
        let mut services = self.services.lock().await;
        let running = services
            .remove(&service)
            .with_context(|| format!("{service} is not running in this platform"))?;
        stop(service, running).await;
        let addr = self.addrs[&service];
        let restarted = self
            .launch(service, addr)
            .await
            .with_context(|| format!("restarting {service} on {addr}"))?;
        services.insert(service, restarted);
        Ok(())
    }

    /// Starts another replica of `service` (ledger or auth: the services without background
    /// workers, which would contend over one database) on a new port and the same database, and
    /// tells edge, which balances over it from its next call. Returns its base URL.
    pub async fn add_replica(&self, service: ServiceName) -> anyhow::Result<String> {
        anyhow::ensure!(
            matches!(service, ServiceName::Ledger | ServiceName::Auth),
            "only ledger and auth can have replicas here, not {service}"
        );
        let running = self
            .launch(service, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .with_context(|| format!("starting a replica of {service}"))?;
        let url = format!("http://{}", running.addr);
        self.replicas.lock().await.push((service, running));
        self.discovery.add(service.as_str(), &url);
        Ok(url)
    }

    /// Stops the newest replica of `service` that [`RunningPlatform::add_replica`] started:
    /// edge stops choosing it first, then it drains and stops.
    pub async fn remove_replica(&self, service: ServiceName) -> anyhow::Result<()> {
        let running = {
            let mut replicas = self.replicas.lock().await;
            let index = replicas
                .iter()
                .rposition(|(name, _)| *name == service)
                .with_context(|| format!("{service} has no added replica to remove"))?;
            replicas.remove(index).1
        };
        self.discovery
            .remove(service.as_str(), &format!("http://{}", running.addr));
        stop(service, running).await;
        Ok(())
    }

    /// The `host:port` of `service`'s replica number `ordinal` (1 = the first one started at
    /// boot, 2 = the first added replica, ...), as edge calls it.
    pub fn replica_address(&self, service: ServiceName, ordinal: usize) -> Option<String> {
        let urls = self.discovery.replicas(service.as_str());
        let url = urls.get(ordinal.checked_sub(1)?)?;
        Some(url.trim_start_matches("http://").to_owned())
    }

    /// Stops every service: edge first, so no new work arrives, then the others.
    pub async fn shutdown(self) {
        for (name, running) in self.replicas.into_inner() {
            stop(name, running).await;
        }
        let mut services = self.services.into_inner();
        for name in ServiceName::ALL.into_iter().rev() {
            if let Some(running) = services.remove(&name) {
                stop(name, running).await;
            }
        }
    }

    async fn launch(&self, name: ServiceName, bind: SocketAddr) -> anyhow::Result<RunningService> {
        let config = &self.config;
        let mut settings = TelemetrySettings::new(
            name.as_str(),
            config.otlp_traces_endpoint.clone(),
            config.export_delay,
        );
        settings.otlp_metrics_endpoint = config.otlp_metrics_endpoint.clone();
        settings.metrics_interval = config.metrics_interval;
        let telemetry = Telemetry::init(&settings)?;
        // Each service (and replica) its own pool, as in its own process: its counters are
        // its own figures.
        let deps = Deps::with_own_pool(telemetry.clone(), config.resilience.clone());
        let database_url =
            |service: &str| sqlite_url(&config.data_dir.join(format!("{service}.db")));
        let url = |service: ServiceName| self.service_url(service);
        let app: Application = match name {
            ServiceName::Ledger => {
                ledger::build(
                    ledger::Settings {
                        bind,
                        database_url: database_url("ledger"),
                    },
                    deps,
                )
                .await?
            }
            ServiceName::Auth => {
                auth::build(
                    auth::Settings {
                        bind,
                        database_url: database_url("auth"),
                        ledger_url: url(ServiceName::Ledger),
                        signing_key: config.token_signing_key.clone(),
                        token_ttl: Duration::from_secs(15 * 60),
                        operator: config.operator.clone(),
                        ledger_timeout: Duration::from_secs(5),
                    },
                    deps,
                )
                .await?
            }
            ServiceName::Payments => {
                let mut settings = payments::Settings::new(
                    database_url("payments"),
                    url(ServiceName::Ledger),
                    url(ServiceName::Webhooks),
                    config.provider_url.clone(),
                );
                if config.test_timings {
                    settings = settings.for_tests();
                }
                settings.bind = bind;
                settings.provider_timeout = config.provider_timeout;
                payments::build(settings, deps).await?
            }
            ServiceName::Webhooks => {
                let mut settings = webhooks::Settings::new(database_url("webhooks"));
                settings.bind = bind;
                settings.retry_schedule = RetrySchedule::new(config.webhook_retry_schedule.clone());
                if config.test_timings {
                    settings.delivery_timeout = Duration::from_secs(2);
                    settings.sweep = Duration::from_millis(100);
                }
                webhooks::build(settings, deps).await?
            }
            ServiceName::Edge => {
                let mut settings = edge::Settings::new(
                    bind,
                    url(ServiceName::Auth),
                    url(ServiceName::Ledger),
                    url(ServiceName::Payments),
                    url(ServiceName::Webhooks),
                );
                settings.propagation_probe = config.propagation_probe;
                settings.discovery = Some(self.discovery.clone());
                settings.introspection_cache_ttl = config.introspection_cache_ttl;
                if config.test_timings {
                    settings.upstream_timeout = Duration::from_secs(10);
                }
                edge::build(settings, deps).await?
            }
        };
        let addr = app.local_addr();
        let shutdown = app.shutdown_handle();
        let task = tokio::spawn(app.run_until_stopped());
        tracing::info!(service = name.as_str(), %addr, "service started");
        Ok(RunningService {
            addr,
            shutdown,
            task,
            telemetry,
        })
    }
}

async fn stop(name: ServiceName, running: RunningService) {
    running.shutdown.shutdown();
    match tokio::time::timeout(Duration::from_secs(15), running.task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => tracing::warn!(
            service = name.as_str(),
            error = format!("{error:#}"),
            "service stopped with an error"
        ),
        Ok(Err(join_error)) => {
            tracing::warn!(service = name.as_str(), %join_error, "service task failed")
        }
        Err(_) => tracing::warn!(service = name.as_str(), "service did not stop within 15s"),
    }
}
