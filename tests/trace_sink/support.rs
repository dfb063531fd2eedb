//! Builders for spans and traces used across these tests.

use std::sync::Arc;

use harness::model::{
    AttrValue, Attributes, Resource, Span, SpanId, SpanKind, SpanStatus, StatusCode, Trace, TraceId,
};

/// A trace id made from a small number, so tests read well.
pub fn trace_id(n: u64) -> TraceId {
    TraceId::parse(&format!("{:032x}", n + 1)).expect("valid trace id")
}

/// A span id made from a small number.
pub fn span_id(n: u64) -> SpanId {
    SpanId::parse(&format!("{:016x}", n + 1)).expect("valid span id")
}

/// A span builder with sensible defaults (internal, unset status, 1 ms long).
#[derive(Clone)]
pub struct SpanBuilder(pub Span);

/// Starts a span of `service` with id `id` in trace `trace`.
pub fn span(trace: u64, id: u64, service: &str) -> SpanBuilder {
    SpanBuilder(Span {
        trace_id: trace_id(trace),
        span_id: span_id(id),
        parent_span_id: None,
        resource: Arc::new(Resource::service(service)),
        scope: None,
        name: format!("op-{id}"),
        kind: SpanKind::Internal,
        start_unix_nanos: 1_000_000_000 + id * 1_000_000,
        end_unix_nanos: 1_000_000_000 + id * 1_000_000 + 500_000,
        attributes: Attributes::new(),
        status: SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        },
        events: Vec::new(),
        links: Vec::new(),
    })
}

impl SpanBuilder {
    pub fn parent(mut self, id: u64) -> Self {
        self.0.parent_span_id = Some(span_id(id));
        self
    }
    pub fn name(mut self, name: &str) -> Self {
        self.0.name = name.to_owned();
        self
    }
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.0.kind = kind;
        self
    }
    pub fn attr(mut self, key: &str, value: AttrValue) -> Self {
        self.0.attributes.insert(key.to_owned(), value);
        self
    }
    pub fn error(mut self, message: &str) -> Self {
        self.0.status = SpanStatus {
            code: StatusCode::Error,
            message: message.to_owned(),
        };
        self
    }
    pub fn at(mut self, start_ms: u64, duration_ms: u64) -> Self {
        self.0.start_unix_nanos = 1_000_000_000 + start_ms * 1_000_000;
        self.0.end_unix_nanos = self.0.start_unix_nanos + duration_ms * 1_000_000;
        self
    }
    pub fn build(self) -> Span {
        self.0
    }
}

/// A trace from built spans (all in trace `n`).
pub fn trace(n: u64, spans: Vec<SpanBuilder>) -> Trace {
    Trace::new(
        trace_id(n),
        spans.into_iter().map(SpanBuilder::build).collect(),
    )
}

/// Starts a sink on ephemeral ports.
pub async fn start_sink() -> harness::sink::RunningSink {
    harness::sink::TraceSink::start(harness::sink::SinkConfig::ephemeral())
        .await
        .expect("sink starts on ephemeral ports")
}

/// An OTLP export request carrying `spans` (encoded by the harness's own encoder).
pub fn export_request(
    spans: &[Span],
) -> opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
    opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: harness::otlp::encode::traces_data(spans).resource_spans,
    }
}

/// A loopback HTTP client that ignores proxy settings.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

/// The OTLP/HTTP content type of protobuf exports.
pub const PROTOBUF: &str = "application/x-protobuf";

/// POSTs `body` to an OTLP/HTTP receiver's `url` as `content_type`, with `encoding` as its
/// `content-encoding` when given.
pub async fn post(
    url: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = http_client()
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    request.send().await.expect("request sent")
}

/// Decodes an OTLP/HTTP error body, a `google.rpc.Status`: (code, message).
pub fn rpc_status(body: &[u8]) -> (i32, String) {
    #[derive(Clone, PartialEq, prost::Message)]
    struct RpcStatus {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let status = <RpcStatus as prost::Message>::decode(body).expect("google.rpc.Status body");
    (status.code, status.message)
}

/// Gzips `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip write");
    encoder.finish().expect("gzip finish")
}
