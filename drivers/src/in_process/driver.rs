//! The in-process driver itself: boot, the `Driver` impl, shutdown.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_trait::async_trait;
use harness::{
    fetch::{InMemoryFetcher, TraceFetcher},
    sink::{RunningSink, SinkConfig, TraceSink},
};
use minibank::platform::{PlatformConfig, RunningPlatform};

use super::{DEFAULT_PROVIDER_FIXTURES, SETTLE_TIMING, logs::LogCapture};
use crate::{
    CallFault, CallFaultId, Capabilities, Capability, CircuitView, Driver, LogReader,
    MerchantEndpoint, OperatorCredentials, ProviderControl,
    stand_ins::{ProviderStandIn, WiremockMerchantEndpoint},
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
    harness_otlp_traces_url: String,
    fetcher: Arc<InMemoryFetcher>,
    /// The embedded sink's metrics store, where every service exports its metrics.
    metrics: Arc<harness::metrics::MetricsStore>,
    provider: Arc<ProviderStandIn>,
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
        // Independent of each other: start them together. The TimesOut delay is fixed below,
        // once the platform's provider timeout is known.
        let (sink, provider) = tokio::join!(
            TraceSink::start(SinkConfig::ephemeral()),
            ProviderStandIn::start(&options.provider_fixtures, Duration::from_secs(5)),
        );
        let sink = sink.context("starting the embedded trace sink")?;
        let provider = provider.with_context(|| {
            format!(
                "starting the provider stand-in with stubs from {}",
                options.provider_fixtures.display()
            )
        })?;
        phases.mark("trace sink + provider stand-in");
        let mut config = PlatformConfig::for_tests(
            data_dir.path().to_path_buf(),
            provider.url(),
            Some(sink.otlp_traces_url()),
        );
        // Metrics go the OTLP way too, so a step reading them proves the export.
        config.otlp_metrics_endpoint = Some(sink.otlp_metrics_url());
        provider.set_slow_answer_after(config.provider_timeout * 3 + Duration::from_millis(200));
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
            harness_otlp_traces_url: sink.otlp_traces_url(),
            fetcher: Arc::new(InMemoryFetcher::new(sink.store())),
            metrics: sink.metrics(),
            provider: Arc::new(provider),
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

/// Times consecutive boot phases.
struct BootPhases(Vec<(&'static str, Duration)>, Instant);

impl Default for BootPhases {
    fn default() -> Self {
        BootPhases(Vec::new(), Instant::now())
    }
}

impl BootPhases {
    /// Ends the current phase under `name` and starts the next.
    fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.0.push((name, now - self.1));
        self.1 = now;
    }
}

#[async_trait]
impl Driver for InProcessDriver {
    fn name(&self) -> &str {
        "in-process"
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::of([
            Capability::StubProvider,
            Capability::MerchantEndpoints,
            Capability::RestartService,
            Capability::OperatorAccess,
            Capability::InjectFaults,
            Capability::Replicas,
            Capability::Metrics,
        ]);
        if self.logs.as_ref().is_some_and(|l| l.is_capturing()) {
            caps.0.insert(Capability::ReadLogs);
        }
        caps
    }

    fn edge_url(&self) -> String {
        self.edge_url.clone()
    }

    fn operator(&self) -> OperatorCredentials {
        self.operator.clone()
    }

    fn traces(&self) -> Arc<dyn TraceFetcher> {
        self.fetcher.clone()
    }

    fn harness_otlp_traces_url(&self) -> Option<String> {
        Some(self.harness_otlp_traces_url.clone())
    }

    fn settle_timing(&self) -> (Duration, Duration) {
        SETTLE_TIMING
    }

    fn provider(&self) -> Option<Arc<dyn ProviderControl>> {
        Some(self.provider.clone())
    }

    async fn new_merchant_endpoint(&self) -> anyhow::Result<Arc<dyn MerchantEndpoint>> {
        Ok(Arc::new(WiremockMerchantEndpoint::start().await))
    }

    fn logs(&self) -> Option<Arc<dyn LogReader>> {
        self.logs
            .as_ref()
            .filter(|l| l.is_capturing())
            .map(|l| l.clone() as Arc<dyn LogReader>)
    }

    async fn restart(&self, service: &str) -> anyhow::Result<()> {
        let name = service.parse().map_err(|_| {
            anyhow::anyhow!("unknown service {service:?}; known: {:?}", crate::SERVICES)
        })?;
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the in-process driver was shut down")?;
        running.platform.restart(name).await
    }

    async fn inject_call_fault(&self, fault: CallFault) -> anyhow::Result<CallFaultId> {
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the in-process driver was shut down")?;
        super::call_faults::inject(&running.platform, &self.faults, fault)
    }

    async fn route_metrics(&self, service: &str) -> anyhow::Result<Vec<crate::RouteMetrics>> {
        crate::metrics::route_metrics(&self.metrics, service).await
    }

    async fn pool_use(&self) -> anyhow::Result<crate::PoolUse> {
        crate::metrics::pool_use(&self.metrics).await
    }

    async fn add_replica(&self, service: &str) -> anyhow::Result<()> {
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the in-process driver was shut down")?;
        running
            .platform
            .add_replica(service.parse()?)
            .await
            .map(drop)
    }

    async fn remove_replica(&self, service: &str) -> anyhow::Result<()> {
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the in-process driver was shut down")?;
        running.platform.remove_replica(service.parse()?).await
    }

    async fn call_fault_hits(&self, id: CallFaultId) -> anyhow::Result<u32> {
        Ok(self.faults.hits(minibank::rpc::FaultId(id.0)))
    }

    async fn clear_call_fault(&self, id: CallFaultId) -> anyhow::Result<()> {
        self.faults.remove(minibank::rpc::FaultId(id.0));
        Ok(())
    }

    async fn circuit(&self, caller: &str, target: &str) -> anyhow::Result<CircuitView> {
        let running = self.running.lock().await;
        let running = running
            .as_ref()
            .context("the in-process driver was shut down")?;
        super::call_faults::circuit(&running.platform, caller, target)
    }

    async fn shutdown(&self) {
        if let Some(running) = self.running.lock().await.take() {
            running.platform.shutdown().await;
            running.sink.shutdown().await;
            drop(running.data_dir);
        }
    }
}
