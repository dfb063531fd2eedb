//! Interop: spans made by the OpenTelemetry SDK and sent by its own OTLP/HTTP exporter
//! (opentelemetry-otlp, http-proto over reqwest) arrive intact and pass the checks.

use std::sync::Arc;
use std::time::Duration;

use harness::checks::{self, Peers};
use harness::fetch::InMemoryFetcher;
use harness::model::{SpanKind, StatusCode, TraceId};
use harness::settle::{Expectation, settle};
use opentelemetry::trace::{
    Span as _, SpanKind as OtelKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    SdkTracerProvider, Span, SpanData, SpanExporter as _, SpanProcessor,
};
use parking_lot::Mutex;

use crate::support::{http_client, start_sink};

/// Keeps finished spans so the test can hand them to the real exporter on its runtime.
#[derive(Debug, Default)]
struct Collect(Arc<Mutex<Vec<SpanData>>>);

impl SpanProcessor for Collect {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        self.0.lock().push(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

struct Service {
    provider: SdkTracerProvider,
    resource: Resource,
    finished: Arc<Mutex<Vec<SpanData>>>,
}

fn service(name: &str) -> Service {
    let finished = Arc::new(Mutex::new(Vec::new()));
    let resource = Resource::builder()
        .with_service_name(name.to_owned())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(Collect(Arc::clone(&finished)))
        .with_resource(resource.clone())
        .build();
    Service {
        provider,
        resource,
        finished,
    }
}

async fn export(service: &Service, url: &str) {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http_client())
        .with_endpoint(url)
        .build()
        .expect("exporter");
    exporter.set_resource(&service.resource);
    let batch: Vec<SpanData> = std::mem::take(&mut *service.finished.lock());
    exporter
        .export(batch)
        .await
        .expect("sink accepts the SDK's export");
}

#[tokio::test]
async fn spans_exported_by_the_sdk_settle_and_pass_the_checks() {
    let sink = start_sink().await;
    let harness_svc = service("harness");
    let edge_svc = service("edge");
    let harness_tracer = harness_svc.provider.tracer("harness");
    let edge_tracer = edge_svc.provider.tracer("minibank");

    let client = harness_tracer
        .span_builder("POST /v1/payments")
        .with_kind(OtelKind::Client)
        .start(&harness_tracer);
    let cx = Context::current_with_span(client);
    let trace_id = TraceId::parse(&cx.span().span_context().trace_id().to_string()).expect("id");
    let mut server = edge_tracer
        .span_builder("POST /v1/payments")
        .with_kind(OtelKind::Server)
        .with_attributes([KeyValue::new("http.response.status_code", 502)])
        .start_with_context(&edge_tracer, &cx);
    server.set_status(Status::error("upstream failed"));
    server.end();
    cx.span().end();

    export(&edge_svc, &sink.otlp_traces_url()).await;
    export(&harness_svc, &sink.otlp_traces_url()).await;

    let fetcher = InMemoryFetcher::new(sink.store());
    let expectation = Expectation::services(["harness", "edge"]).within(Duration::from_secs(5));
    let trace = settle(&fetcher, &trace_id, &expectation)
        .await
        .expect("settles");
    checks::well_formed(&trace).expect("one root, no orphans");
    checks::calls(&trace, &Peers::new(), "harness", "edge").expect("client -> server edge");
    let edge = trace.spans_of("edge").next().expect("edge span");
    assert_eq!(edge.kind, SpanKind::Server);
    assert_eq!(edge.status.code, StatusCode::Error);
    assert_eq!(edge.status.message, "upstream failed");
    assert!(
        edge.attr("http.response.status_code")
            .is_some_and(|v| v.matches_text("502"))
    );
    assert!(edge.end_unix_nanos >= edge.start_unix_nanos && edge.start_unix_nanos > 0);
    let failure = checks::no_errors(&trace).expect_err("edge failed");
    assert!(
        failure
            .tree
            .contains("- harness: POST /v1/payments [client]"),
        "{}",
        failure.tree
    );
}
