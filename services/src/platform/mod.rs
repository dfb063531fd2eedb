//! The whole platform in one process: every service as tasks on 127.0.0.1, one SQLite file per
//! service in a data directory, each with its own tracer provider. Used by the in-process test
//! driver and by `minibank up` (ARCHITECTURE.md, "Seam 1"). Each service's settings come from
//! its own [`Service::in_process`](crate::service::Service::in_process), through the one list
//! of services ([`crate::service::start`]).

pub mod config;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::app::{Deps, ShutdownHandle};
pub use crate::config::OperatorCredentials;
use crate::edge::Discovery;
use crate::rpc::{CircuitState, FaultInjector, RpcClient};
pub use crate::service::ServiceName;
use crate::service::{InProcess, SettingsFrom};
use crate::telemetry::{Telemetry, TelemetrySettings};
pub use config::PlatformConfig;

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
        settings.metrics_by_scenario = config.metrics_by_scenario;
        let telemetry = Telemetry::init(&settings)?;
        // Each service (and replica) its own pool, as in its own process: its counters are
        // its own figures.
        let deps = Deps::with_own_pool(telemetry.clone(), config.resilience.clone());
        let url_of = |service: ServiceName| self.service_url(service);
        let platform = InProcess {
            config,
            url_of: &url_of,
            discovery: &self.discovery,
        };
        let app =
            crate::service::start(name, SettingsFrom::InProcess { platform, bind }, deps).await?;
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
