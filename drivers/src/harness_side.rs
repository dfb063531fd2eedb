//! The harness's side of a platform the harness starts itself (in-process and containers):
//! the trace sink the services export to (traces and metrics), the provider stand-in, merchant
//! endpoints, all listening on one address the services can reach, and the boot's phases.
//! One copy for both drivers; the staging driver reaches what the deployment has instead.

use std::{
    net::{IpAddr, SocketAddr},
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use async_trait::async_trait;
use harness::{
    fetch::InMemoryFetcher,
    metrics::MetricsStore,
    sink::{RunningSink, SinkConfig, TraceSink},
};

use crate::{
    MerchantEndpoint, MerchantEndpoints, MetricsReader, PoolUse, RouteMetrics,
    stand_ins::{MerchantStandIn, ProviderStandIn},
};

/// The sink, the provider stand-in and merchant endpoints, on `ip`.
pub(crate) struct HarnessSide {
    ip: IpAddr,
    /// Reads traces from the sink's store (notified, not polled).
    pub fetcher: Arc<InMemoryFetcher>,
    /// Where the services' metrics land.
    pub metrics: Arc<MetricsStore>,
    /// The external bank provider's stand-in.
    pub provider: Arc<ProviderStandIn>,
    /// The OTLP/HTTP traces URL of the sink (the services' and the harness's own spans).
    pub otlp_traces_url: String,
}

impl HarnessSide {
    /// Starts the sink and the provider stand-in together, both listening on `ip` (ephemeral
    /// ports); the provider answers "too late" after `slow_answer`. The running sink is
    /// returned apart, for the driver to stop in its own order.
    pub async fn start(
        ip: IpAddr,
        provider_fixtures: &Path,
        slow_answer: Duration,
    ) -> anyhow::Result<(Self, RunningSink)> {
        let at = SocketAddr::new(ip, 0);
        let sink_config = SinkConfig {
            otlp_grpc_addr: at,
            otlp_http_addr: at,
            query_addr: at,
            ..SinkConfig::ephemeral()
        };
        let (sink, provider) = tokio::join!(
            TraceSink::start(sink_config),
            ProviderStandIn::start_on(ip, provider_fixtures, slow_answer),
        );
        let sink = sink.with_context(|| format!("starting the trace sink on {ip}"))?;
        let provider = provider.with_context(|| {
            format!(
                "starting the provider stand-in with stubs from {}",
                provider_fixtures.display()
            )
        })?;
        Ok((
            HarnessSide {
                ip,
                fetcher: Arc::new(InMemoryFetcher::new(sink.store())),
                metrics: sink.metrics(),
                provider: Arc::new(provider),
                otlp_traces_url: sink.otlp_traces_url(),
            },
            sink,
        ))
    }
}

#[async_trait]
impl MerchantEndpoints for HarnessSide {
    async fn new_merchant_endpoint(&self) -> anyhow::Result<Arc<dyn MerchantEndpoint>> {
        Ok(Arc::new(MerchantStandIn::start_on(self.ip).await?))
    }
}

#[async_trait]
impl MetricsReader for HarnessSide {
    async fn route_metrics(
        &self,
        service: &str,
        scenario: Option<&str>,
    ) -> anyhow::Result<Vec<RouteMetrics>> {
        crate::metrics::route_metrics(&self.metrics, service, scenario).await
    }

    async fn pool_use(&self) -> anyhow::Result<PoolUse> {
        crate::metrics::pool_use(&self.metrics).await
    }
}

/// Times consecutive boot phases (for the boot benchmark and the containers' boot line).
pub(crate) struct BootPhases(pub Vec<(&'static str, Duration)>, Instant);

impl Default for BootPhases {
    fn default() -> Self {
        BootPhases(Vec::new(), Instant::now())
    }
}

impl BootPhases {
    /// Ends the current phase under `name` and starts the next.
    pub fn mark(&mut self, name: &'static str) {
        let now = Instant::now();
        self.0.push((name, now - self.1));
        self.1 = now;
    }
}
