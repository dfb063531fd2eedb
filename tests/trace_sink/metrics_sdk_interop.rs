//! Interop: metrics made by the OpenTelemetry SDK and sent by its own OTLP/HTTP metrics exporter
//! (opentelemetry-otlp, http-proto) become the figures steps read, in either temporality.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};

use crate::support::start_sink;

/// Sends the exporter's requests on the test's runtime: the SDK's periodic reader exports
/// from its own thread, where an async `reqwest` client has no reactor.
#[derive(Debug)]
struct OnRuntime(tokio::runtime::Handle);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        self.0
            .spawn(async move {
                let client = reqwest::Client::builder().no_proxy().build()?;
                let response = client.execute(reqwest::Request::try_from(request)?).await?;
                let mut answer = http::Response::new(bytes::Bytes::new());
                *answer.status_mut() = response.status();
                *answer.body_mut() = response.bytes().await?;
                Ok::<_, opentelemetry_http::HttpError>(answer)
            })
            .await?
    }
}

fn provider(endpoint: String, temporality: Temporality) -> SdkMeterProvider {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(OnRuntime(tokio::runtime::Handle::current()))
        .with_endpoint(endpoint)
        .with_temporality(temporality)
        .build()
        .expect("exporter");
    SdkMeterProvider::builder()
        .with_resource(Resource::builder().with_service_name("ledger").build())
        // Long interval: the test exports with force_flush, twice, at moments it chooses.
        .with_reader(
            PeriodicReader::builder(exporter)
                .with_interval(Duration::from_secs(3600))
                .build(),
        )
        .build()
}

async fn exported_figures_add_up(temporality: Temporality) {
    let sink = start_sink().await;
    let provider = provider(sink.otlp_metrics_url(), temporality);
    let meter = provider.meter("interop");
    let histogram = meter.f64_histogram("http.server.request.duration").build();
    let calls = meter.u64_counter("minibank.rpc.client.calls").build();
    let attrs = |status: i64| {
        [
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/accounts/{account_id}"),
            KeyValue::new("http.response.status_code", status),
        ]
    };
    // Two collections: with delta temporality the second carries only what came after the
    // first, so the store must add; with cumulative it must replace.
    for round in 0..2 {
        histogram.record(0.25, &attrs(200));
        histogram.record(0.5, &attrs(503));
        calls.add(3, &[]);
        let flushing = provider.clone();
        tokio::task::spawn_blocking(move || flushing.force_flush())
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("export round {round} failed: {e}"));
    }
    let figures = sink.metrics().figures("ledger").expect("ledger reported");
    let route = figures
        .route("GET", "/accounts/{account_id}")
        .expect("route counted");
    assert_eq!((route.requests, route.errors), (4, 2), "{temporality:?}");
    assert!(
        (route.duration_seconds - 1.5).abs() < 1e-9,
        "{temporality:?}"
    );
    assert_eq!(figures.pool.calls, 6, "{temporality:?}");
    let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_exporter_s_cumulative_metrics_become_figures() {
    exported_figures_add_up(Temporality::Cumulative).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_exporter_s_delta_metrics_are_added_up() {
    exported_figures_add_up(Temporality::Delta).await;
}
