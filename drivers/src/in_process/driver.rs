//! The in-process driver itself: boot, the `Driver` impl, shutdown.

use std::{
    net::Ipv4Addr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_trait::async_trait;
use harness::{fetch::TraceFetcher, sink::RunningSink};
use minibank::platform::{PlatformConfig, RunningPlatform};

use super::{DEFAULT_PROVIDER_FIXTURES, SETTLE_TIMING, logs::LogCapture};
use crate::{
    CallFault, CallFaultId, CallFaults, CircuitView, Driver, LogReader, MerchantEndpoints,
    MetricsReader, OperatorCredentials, ProviderControl, ReplicaControl, Restarts,
    harness_side::{BootPhases, HarnessSide},
};

/// Options of the in-process driver; [`Default`] is what a normal run uses.
#[derive(Debug, Clone)]
pub struct InProcessOptions {
    /// Folder of provider stub files.
    pub provider_fixtures: PathBuf,
    /// Capture the platform's logs (installs the process-wide subscriber).
    pub capture_logs: bool,
}

impl Default for InProcessOptions {
    fn default() -> Self {
        InProcessOptions {
            provider_fixtures: PathBuf::from(DEFAULT_PROVIDER_FIXTURES),
            capture_logs: true,
        }
    }
}

/// The in-process driver. See the module documentation.
pub struct InProcessDriver {
    edge_url: String,
    operator: OperatorCredentials,
    /// The sink (traces and metrics), the provider stand-in and merchant endpoints.
    harness: HarnessSide,
    logs: Option<Arc<LogCapture>>,
    /// The platform's fault rules (shared with every RPC client in it).
    faults: minibank::rpc::FaultInjector,
    boot_time: Duration,
    boot_phases: Vec<(&'static str, Duration)>,
    /// `None` once shut down.
    running: tokio::sync::Mutex<Option<Running>>,
}

/// What must stay alive (and be stopped in order) while the driver runs.
struct Running {
    platform: RunningPlatform,
    sink: RunningSink,
    /// Holds the SQLite files; removed on drop, after the platform stopped.
    data_dir: tempfile::TempDir,
}

impl InProcessDriver {
    /// Boot everything. Call from inside a multi-threaded tokio runtime that lives as long as
    /// the driver (the services are tasks on it).
    pub async fn start(options: InProcessOptions) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut phases = BootPhases::default();
        let logs = options.capture_logs.then(LogCapture::install);
        let data_dir = tempfile::Builder::new()
            .prefix("minibank-acceptance-")
            .tempdir()
            .context("creating the temp dir for the services' SQLite files")?;
        phases.mark("log capture + temp dir");
        // The TimesOut delay is fixed below, once the platform's provider timeout is known.
        let (harness, sink) = HarnessSide::start(
            Ipv4Addr::LOCALHOST.into(),
            &options.provider_fixtures,
            Duration::from_secs(5),
        )
        .await?;
        phases.mark("trace sink + provider stand-in");
        let mut config = PlatformConfig::for_tests(
            data_dir.path().to_path_buf(),
            harness.provider.url(),
            Some(harness.otlp_traces_url.clone()),
        );
        // Metrics go the OTLP way too, so a step reading them proves the export.
        config.otlp_metrics_endpoint = Some(sink.otlp_metrics_url());
        harness
            .provider
            .set_slow_answer_after(config.provider_timeout * 3 + Duration::from_millis(200));
        let operator = OperatorCredentials {
            client_id: config.operator.client_id.clone(),
            client_secret: config.operator.client_secret.expose().to_string(),
        };
        let platform = minibank::platform::start(config)
            .await
            .context("starting the minibank services")?;
        phases.mark("minibank platform");
        Ok(InProcessDriver {
            edge_url: platform.edge_url(),
            operator,
            harness,
            logs,
            faults: platform.faults(),
            boot_time: started.elapsed(),
            boot_phases: phases.0,
            running: tokio::sync::Mutex::new(Some(Running {
                platform,
                sink,
                data_dir,
            })),
        })
    }

    /// How long [`InProcessDriver::start`] took.
    pub fn boot_time(&self) -> Duration {
        self.boot_time
    }

    /// Where the boot time went, phase by phase, in order (for the boot benchmark).
    pub fn boot_phases(&self) -> &[(&'static str, Duration)] {
        &self.boot_phases
    }
}

impl InProcessDriver {
    /// The running platform, or an error once shut down.
    async fn platform<T>(
        &self,
        f: impl AsyncFnOnce(&RunningPlatform) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the in-process driver was shut down")?;
        f(&running.platform).await
    }
}

#[async_trait]
impl Driver for InProcessDriver {
    fn name(&self) -> &str {
        "in-process"
    }

    fn edge_url(&self) -> String {
        self.edge_url.clone()
    }

    fn operator(&self) -> Option<OperatorCredentials> {
        Some(self.operator.clone())
    }

    fn traces(&self) -> Arc<dyn TraceFetcher> {
        self.harness.fetcher.clone()
    }

    fn harness_otlp_traces_url(&self) -> Option<String> {
        Some(self.harness.otlp_traces_url.clone())
    }

    fn settle_timing(&self) -> (Duration, Duration) {
        SETTLE_TIMING
    }

    async fn shutdown(&self) {
        if let Some(running) = self.running.lock().await.take() {
            running.platform.shutdown().await;
            running.sink.shutdown().await;
            drop(running.data_dir);
        }
    }

    fn provider(&self) -> Option<Arc<dyn ProviderControl>> {
        Some(self.harness.provider.clone())
    }

    fn merchant_endpoints(&self) -> Option<&dyn MerchantEndpoints> {
        Some(&self.harness)
    }

    fn logs(&self) -> Option<Arc<dyn LogReader>> {
        self.logs
            .as_ref()
            .filter(|l| l.is_capturing())
            .map(|l| l.clone() as Arc<dyn LogReader>)
    }

    fn restarts(&self) -> Option<&dyn Restarts> {
        Some(self)
    }

    fn call_faults(&self) -> Option<&dyn CallFaults> {
        Some(self)
    }

    fn replicas(&self) -> Option<&dyn ReplicaControl> {
        Some(self)
    }

    fn metrics(&self) -> Option<&dyn MetricsReader> {
        Some(&self.harness)
    }
}

#[async_trait]
impl Restarts for InProcessDriver {
    async fn restart(&self, service: &str) -> anyhow::Result<()> {
        let name = service.parse().map_err(|_| {
            anyhow::anyhow!("unknown service {service:?}; known: {:?}", crate::SERVICES)
        })?;
        self.platform(async |p| p.restart(name).await).await
    }
}

#[async_trait]
impl CallFaults for InProcessDriver {
    async fn inject_call_fault(&self, fault: CallFault) -> anyhow::Result<CallFaultId> {
        self.platform(async |p| super::call_faults::inject(p, &self.faults, fault))
            .await
    }

    async fn call_fault_hits(&self, id: CallFaultId) -> anyhow::Result<u32> {
        Ok(self.faults.hits(minibank::rpc::FaultId(id.0)))
    }

    async fn clear_call_fault(&self, id: CallFaultId) -> anyhow::Result<()> {
        self.faults.remove(minibank::rpc::FaultId(id.0));
        Ok(())
    }

    async fn circuit(&self, caller: &str, target: &str) -> anyhow::Result<CircuitView> {
        self.platform(async |p| super::call_faults::circuit(p, caller, target))
            .await
    }
}

#[async_trait]
impl ReplicaControl for InProcessDriver {
    async fn add_replica(&self, service: &str) -> anyhow::Result<()> {
        let name = service.parse()?;
        self.platform(async |p| p.add_replica(name).await.map(drop))
            .await
    }

    async fn remove_replica(&self, service: &str) -> anyhow::Result<()> {
        let name = service.parse()?;
        self.platform(async |p| p.remove_replica(name).await).await
    }
}
