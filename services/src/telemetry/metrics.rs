//! A service's metrics, exported over OTLP/HTTP under its own `service.name` (one meter
//! provider per service, never a process-global one):
//!
//! - `http.server.request.duration` (semconv histogram, seconds), recorded by the RPC server
//!   layer for every request with `http.request.method`, `http.route` and
//!   `http.response.status_code`: request rate, errors and duration per route; on a test
//!   platform also `minibank.scenario`, the scenario the request was made for (its baggage);
//! - `minibank.rpc.client.calls` and `minibank.rpc.client.connections.opened` (counters,
//!   observed at each collection): how the service's RPC client used its connection pool.
//!
//! Exported every `OTEL_METRIC_EXPORT_INTERVAL` to `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, from
//! the SDK's own reader thread: recording is an in-memory update, so a collector that is down
//! or slow costs the request path nothing. Without an endpoint nothing is recorded.

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider as _, ObservableCounter};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use parking_lot::Mutex;

/// The semconv server request histogram.
pub const REQUEST_DURATION: &str = "http.server.request.duration";
/// Calls the service's RPC client sent (the harness reads this name).
pub const POOL_CALLS: &str = "minibank.rpc.client.calls";
/// Connections the service's RPC client opened (the harness reads this name).
pub const POOL_CONNECTIONS_OPENED: &str = "minibank.rpc.client.connections.opened";

/// One service's metrics: its meter provider and instruments, when exported.
#[derive(Debug)]
pub struct ServiceMetrics {
    otlp: Option<Exported>,
    by_scenario: bool,
}

/// The request figures' label naming the scenario a request was made for: the baggage
/// member's own name.
pub const SCENARIO_LABEL: &str = crate::rpc::SCENARIO_BAGGAGE_KEY;

#[derive(Debug)]
struct Exported {
    provider: SdkMeterProvider,
    requests: Histogram<f64>,
    /// Observable instruments stay registered while held.
    observed: Mutex<Vec<ObservableCounter<u64>>>,
}

impl ServiceMetrics {
    /// No export: recording does nothing.
    pub fn disabled() -> Self {
        Self {
            otlp: None,
            by_scenario: false,
        }
    }

    /// Metrics exported to the OTLP/HTTP metrics URL `endpoint` every `interval`, under
    /// `resource` (the service's `service.name` and instance).
    pub fn exported(
        endpoint: &str,
        resource: Resource,
        interval: Duration,
    ) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .context("the metrics exporter needs a tokio runtime")?;
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(OnRuntime {
                http: reqwest::Client::builder()
                    .no_proxy()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .context("building the OTLP metrics HTTP client")?,
                runtime,
            })
            .with_endpoint(endpoint)
            .build()
            .with_context(|| format!("building the OTLP metrics exporter for {endpoint}"))?;
        let reader = PeriodicReader::builder(exporter)
            .with_interval(interval)
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        let requests = provider
            .meter("minibank")
            .f64_histogram(REQUEST_DURATION)
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .build();
        Ok(Self {
            otlp: Some(Exported {
                provider,
                requests,
                observed: Mutex::default(),
            }),
            by_scenario: false,
        })
    }

    /// The same metrics, labelling request figures with their scenario when `on` (test
    /// platforms: see `TelemetrySettings::metrics_by_scenario`).
    pub fn by_scenario(mut self, on: bool) -> Self {
        self.by_scenario = on;
        self
    }

    /// Whether request figures are labelled with their scenario (the caller then passes it
    /// to [`ServiceMetrics::record`]).
    pub fn labels_scenarios(&self) -> bool {
        self.by_scenario && self.otlp.is_some()
    }

    /// Records one answered request (`route` `None`: no route matched), made for `scenario`
    /// (labelled only when [`ServiceMetrics::labels_scenarios`]).
    pub fn record(
        &self,
        method: &str,
        route: Option<&str>,
        status: u16,
        duration: Duration,
        scenario: Option<&str>,
    ) {
        let Some(otlp) = &self.otlp else { return };
        let mut labels = vec![
            KeyValue::new("http.request.method", method.to_owned()),
            KeyValue::new("http.route", route.unwrap_or("unmatched").to_owned()),
            KeyValue::new("http.response.status_code", i64::from(status)),
        ];
        if let (true, Some(scenario)) = (self.by_scenario, scenario) {
            labels.push(KeyValue::new(SCENARIO_LABEL, scenario.to_owned()));
        }
        otlp.requests.record(duration.as_secs_f64(), &labels);
    }

    /// Exports the connection pool's counters, read at each collection: `calls()` as
    /// [`POOL_CALLS`], `connections()` as [`POOL_CONNECTIONS_OPENED`].
    pub fn observe_pool(
        &self,
        calls: impl Fn() -> u64 + Send + Sync + 'static,
        connections: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        let Some(otlp) = &self.otlp else { return };
        let meter = otlp.provider.meter("minibank");
        let calls = meter
            .u64_observable_counter(POOL_CALLS)
            .with_unit("{call}")
            .with_description("Calls the RPC client sent to other services, every attempt.")
            .with_callback(move |observer| observer.observe(calls(), &[]))
            .build();
        let connections = meter
            .u64_observable_counter(POOL_CONNECTIONS_OPENED)
            .with_unit("{connection}")
            .with_description("Connections the RPC client opened for those calls.")
            .with_callback(move |observer| observer.observe(connections(), &[]))
            .build();
        otlp.observed.lock().extend([calls, connections]);
    }

    /// Exports what is pending and stops the exporter (no-op when not exported). The SDK's
    /// shutdown blocks until its export, which runs on this runtime: so it waits off it.
    pub async fn shutdown(&self) {
        if let Some(otlp) = &self.otlp {
            let provider = otlp.provider.clone();
            let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        }
    }
}

/// Sends the exporter's requests on the service's tokio runtime: the SDK's periodic reader
/// exports from its own thread, where an async `reqwest` client has no reactor.
#[derive(Debug)]
struct OnRuntime {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let http = self.http.clone();
        self.runtime
            .spawn(async move {
                let request = reqwest::Request::try_from(request)?;
                let response = http.execute(request).await?;
                let mut answer = http::Response::new(bytes::Bytes::new());
                *answer.status_mut() = response.status();
                *answer.headers_mut() = response.headers().clone();
                *answer.body_mut() = response.bytes().await?;
                Ok::<_, opentelemetry_http::HttpError>(answer)
            })
            .await?
    }
}
