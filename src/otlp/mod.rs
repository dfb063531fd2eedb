//! Conversions between OTLP (the `opentelemetry-proto` types) and the harness model.
//!
//! - [`decode`]: OTLP `ResourceSpans` -> [`crate::model::Span`]s, counting rejected spans
//!   the way OTLP partial success reports them.
//! - [`encode`]: spans -> OTLP `TracesData`, for the query API.
//! - [`json`]: a lenient OTLP/JSON reader that also accepts what trace backends answer
//!   (base64 ids from Tempo, enum names from protojson, `{"result": ...}` / `{"trace": ...}`
//!   wrappers).

pub mod decode;
pub mod encode;
pub mod json;

pub use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
pub use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
