//! Request metrics of one service, per route: how many requests, how many failed (5xx), how
//! long they took. Recorded by the RPC server layer for every request. Kept in memory, readable
//! with [`ServiceMetrics::snapshot`] (the in-process platform serves them to the harness), and
//! exported over OTLP as the semconv histogram `http.server.request.duration` when a metrics
//! endpoint is configured (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::metrics::{Histogram, MeterProvider as _};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use parking_lot::Mutex;

/// What one route of one service has served so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMetric {
    /// HTTP method.
    pub method: String,
    /// The route template (`/accounts/{account_id}`), or `unmatched`.
    pub route: String,
    /// Requests answered.
    pub requests: u64,
    /// Of which answered 5xx.
    pub errors: u64,
    /// Time spent answering them, in total.
    pub duration: Duration,
}

/// One service's request metrics.
#[derive(Debug)]
pub struct ServiceMetrics {
    routes: Mutex<BTreeMap<(String, String), RouteMetric>>,
    otlp: Option<(SdkMeterProvider, Histogram<f64>)>,
}

impl ServiceMetrics {
    /// Metrics kept in memory only.
    pub fn in_memory() -> Self {
        Self {
            routes: Mutex::default(),
            otlp: None,
        }
    }

    /// Metrics also exported to the OTLP/HTTP metrics URL `endpoint` every `interval`, under
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
        let histogram = provider
            .meter("minibank")
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_description("Duration of HTTP server requests.")
            .build();
        Ok(Self {
            routes: Mutex::default(),
            otlp: Some((provider, histogram)),
        })
    }

    /// Records one answered request.
    pub fn record(&self, method: &str, route: Option<&str>, status: u16, duration: Duration) {
        let route = route.unwrap_or("unmatched");
        {
            let mut routes = self.routes.lock();
            let entry = routes
                .entry((method.to_owned(), route.to_owned()))
                .or_insert_with(|| RouteMetric {
                    method: method.to_owned(),
                    route: route.to_owned(),
                    requests: 0,
                    errors: 0,
                    duration: Duration::ZERO,
                });
            entry.requests += 1;
            entry.errors += u64::from(status >= 500);
            entry.duration += duration;
        }
        if let Some((_, histogram)) = &self.otlp {
            histogram.record(
                duration.as_secs_f64(),
                &[
                    KeyValue::new("http.request.method", method.to_owned()),
                    KeyValue::new("http.route", route.to_owned()),
                    KeyValue::new("http.response.status_code", i64::from(status)),
                ],
            );
        }
    }

    /// Every route's metrics so far, by method then route.
    pub fn snapshot(&self) -> Vec<RouteMetric> {
        self.routes.lock().values().cloned().collect()
    }

    /// Exports what is pending and stops the exporter (no-op when in memory). The SDK's
    /// shutdown blocks until its export, which runs on this runtime: so it waits off it.
    pub async fn shutdown(&self) {
        if let Some((provider, _)) = &self.otlp {
            let provider = provider.clone();
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
