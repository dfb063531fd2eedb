//! Decoded spans and traces: the harness's own view of OTLP data.
//!
//! Ids are newtypes over lowercase hex strings, built only through `parse`, so a
//! `TraceId` in hand is always 32 valid hex digits and never all zeros. Spans keep
//! what checks and reports need: service (resource `service.name`), instance, name,
//! kind, timing, attributes, status, events and links.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use serde::Serialize;

/// Why an id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason} (got {input:?})")]
pub struct IdError {
    kind: &'static str,
    reason: &'static str,
    input: String,
}

fn parse_id<const N: usize>(kind: &'static str, input: &str) -> Result<String, IdError> {
    let err = |reason| IdError {
        kind,
        reason,
        input: input.chars().take(64).collect(),
    };
    let bytes: Vec<u8> = if input.len() == N * 2 {
        hex::decode(input).map_err(|_| err("not hex"))?
    } else {
        // Tempo (and protojson in general) may send ids as base64 of the raw bytes.
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(input)
            .map_err(|_| err("neither hex nor base64"))?;
        if decoded.len() != N {
            return Err(err("wrong length"));
        }
        decoded
    };
    from_bytes::<N>(kind, &bytes, input)
}

fn from_bytes<const N: usize>(
    kind: &'static str,
    bytes: &[u8],
    input: &str,
) -> Result<String, IdError> {
    let err = |reason| IdError {
        kind,
        reason,
        input: input.chars().take(64).collect(),
    };
    if bytes.len() != N {
        return Err(err("wrong length"));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(err("all zeros"));
    }
    Ok(hex::encode(bytes))
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $len:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses lowercase or uppercase hex of the right length, or base64 of the raw
            /// bytes (as Tempo may answer). All-zero ids are invalid, as W3C says.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                parse_id::<$len>($kind, input.trim()).map(Self)
            }

            /// Builds the id from its raw bytes (as carried in OTLP protobuf).
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                from_bytes::<$len>($kind, bytes, &hex::encode(bytes)).map(Self)
            }

            /// The raw bytes, for encoding back into OTLP protobuf.
            pub fn to_bytes(&self) -> Vec<u8> {
                // The inner string is valid hex by construction.
                hex::decode(&self.0).unwrap_or_default()
            }

            /// The lowercase hex form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
    };
}

id_type!(
    /// A W3C / OTLP trace id: 16 bytes, shown as 32 lowercase hex digits.
    TraceId,
    16,
    "trace id"
);
id_type!(
    /// A W3C / OTLP span id: 8 bytes, shown as 16 lowercase hex digits.
    SpanId,
    8,
    "span id"
);

/// The OTLP span kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// Kind not set by the producer.
    Unspecified,
    /// Internal operation.
    Internal,
    /// Handles an inbound synchronous request.
    Server,
    /// Makes an outbound synchronous request.
    Client,
    /// Emits an asynchronous message.
    Producer,
    /// Handles an asynchronous message.
    Consumer,
}

impl SpanKind {
    /// From the OTLP enum number; unknown numbers count as unspecified.
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    /// The OTLP enum number.
    pub fn to_otlp(self) -> i32 {
        match self {
            Self::Unspecified => 0,
            Self::Internal => 1,
            Self::Server => 2,
            Self::Client => 3,
            Self::Producer => 4,
            Self::Consumer => 5,
        }
    }

    /// Parses `server`, `SERVER`, `SPAN_KIND_SERVER`, ... (feature files and protojson).
    pub fn parse(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SPAN_KIND_").unwrap_or(&upper);
        Some(match bare {
            "UNSPECIFIED" => Self::Unspecified,
            "INTERNAL" => Self::Internal,
            "SERVER" => Self::Server,
            "CLIENT" => Self::Client,
            "PRODUCER" => Self::Producer,
            "CONSUMER" => Self::Consumer,
            _ => return None,
        })
    }
}

impl fmt::Display for SpanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        })
    }
}

/// The OTLP span status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// Not set (the default; means "no error reported").
    Unset,
    /// Explicitly marked successful.
    Ok,
    /// Marked as failed.
    Error,
}

impl StatusCode {
    /// From the OTLP enum number; unknown numbers count as unset.
    pub fn from_otlp(value: i32) -> Self {
        match value {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }

    /// The OTLP enum number.
    pub fn to_otlp(self) -> i32 {
        match self {
            Self::Unset => 0,
            Self::Ok => 1,
            Self::Error => 2,
        }
    }

    /// Parses `error`, `ERROR`, `STATUS_CODE_ERROR`, ...
    pub fn parse(name: &str) -> Option<Self> {
        let upper = name.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("STATUS_CODE_").unwrap_or(&upper);
        Some(match bare {
            "UNSET" => Self::Unset,
            "OK" => Self::Ok,
            "ERROR" => Self::Error,
            _ => return None,
        })
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unset => "unset",
            Self::Ok => "ok",
            Self::Error => "error",
        })
    }
}

/// A span's status: code plus the producer's message (usually empty unless error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SpanStatus {
    /// The status code.
    pub code: StatusCode,
    /// The description, empty when none was given.
    pub message: String,
}

/// An attribute value, as OTLP's `AnyValue`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    /// A string.
    String(String),
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// Raw bytes (shown as hex).
    Bytes(Vec<u8>),
    /// A homogeneous or mixed array.
    Array(Vec<AttrValue>),
    /// A nested key/value list.
    Map(BTreeMap<String, AttrValue>),
}

impl AttrValue {
    /// The string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer value, if this is an int (or a string holding one).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            Self::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Compares with a value written in a feature file: `200` matches the int 200 and
    /// the string "200"; `true` matches the bool; strings match exactly.
    pub fn matches_text(&self, expected: &str) -> bool {
        self.to_string() == expected
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Double(d) => write!(f, "{d}"),
            Self::Bytes(b) => write!(f, "0x{}", hex::encode(b)),
            Self::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Self::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Attributes by key, sorted so that output is stable.
pub type Attributes = BTreeMap<String, AttrValue>;

/// A timed event recorded on a span (for example an exception).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanEvent {
    /// Event name, e.g. `exception`.
    pub name: String,
    /// When it happened, unix nanoseconds.
    pub time_unix_nanos: u64,
    /// Event attributes.
    pub attributes: Attributes,
}

/// A link from a span to another span, usually of another trace (an async or queue hop
/// that starts a new trace but points back at the one that caused it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpanLink {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// Link attributes.
    pub attributes: Attributes,
}

/// The resource a span was reported under: its service and every resource attribute.
/// Shared by all spans of one OTLP `ResourceSpans` batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resource {
    /// `service.name`, or `unknown_service` when the producer did not set it.
    pub service_name: String,
    /// `service.instance.id`, when set.
    pub service_instance_id: Option<String>,
    /// Every resource attribute, `service.name` included.
    pub attributes: Attributes,
}

impl Resource {
    /// Builds a resource from its attributes, picking out the service name and instance.
    pub fn from_attributes(attributes: Attributes) -> Self {
        let service_name = attributes
            .get("service.name")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "unknown_service".to_owned());
        let service_instance_id = attributes.get("service.instance.id").map(|v| v.to_string());
        Self {
            service_name,
            service_instance_id,
            attributes,
        }
    }

    /// A resource carrying only a service name (handy in tests and fixtures).
    pub fn service(name: &str) -> Self {
        let mut attributes = Attributes::new();
        attributes.insert("service.name".into(), AttrValue::String(name.into()));
        Self::from_attributes(attributes)
    }
}

/// One decoded span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// The trace this span belongs to.
    pub trace_id: TraceId,
    /// This span's id.
    pub span_id: SpanId,
    /// The parent's id; `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    /// The resource (service) that reported the span.
    pub resource: Arc<Resource>,
    /// The instrumentation scope name, when given.
    pub scope: Option<String>,
    /// Span name, e.g. `POST /v1/payments`.
    pub name: String,
    /// Span kind.
    pub kind: SpanKind,
    /// Start, unix nanoseconds.
    pub start_unix_nanos: u64,
    /// End, unix nanoseconds.
    pub end_unix_nanos: u64,
    /// Span attributes.
    pub attributes: Attributes,
    /// Status.
    pub status: SpanStatus,
    /// Events, in the order recorded.
    pub events: Vec<SpanEvent>,
    /// Links to other spans (often of other traces), in the order recorded.
    pub links: Vec<SpanLink>,
}

impl Span {
    /// The reporting service's `service.name`.
    pub fn service(&self) -> &str {
        &self.resource.service_name
    }

    /// A span attribute by key.
    pub fn attr(&self, key: &str) -> Option<&AttrValue> {
        self.attributes.get(key)
    }

    /// Duration in nanoseconds (0 if the end precedes the start).
    pub fn duration_nanos(&self) -> u64 {
        self.end_unix_nanos.saturating_sub(self.start_unix_nanos)
    }

    /// True when the span's status is error.
    pub fn is_error(&self) -> bool {
        self.status.code == StatusCode::Error
    }
}

/// All spans known for one trace id, in arrival order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// The trace id.
    pub trace_id: TraceId,
    /// The spans, in the order they arrived.
    pub spans: Vec<Span>,
}

impl Trace {
    /// Builds a trace from spans; spans of other traces are a caller bug and are dropped.
    pub fn new(trace_id: TraceId, spans: Vec<Span>) -> Self {
        let spans = spans
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        Self { trace_id, spans }
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the trace has no spans.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The distinct `service.name`s that reported spans.
    pub fn services(&self) -> BTreeSet<String> {
        self.spans.iter().map(|s| s.service().to_owned()).collect()
    }

    /// A span by id.
    pub fn span(&self, id: &SpanId) -> Option<&Span> {
        self.spans.iter().find(|s| &s.span_id == id)
    }

    /// The span's parent, when present in this trace.
    pub fn parent_of(&self, span: &Span) -> Option<&Span> {
        span.parent_span_id.as_ref().and_then(|p| self.span(p))
    }

    /// The direct children of a span, ordered by start time.
    pub fn children_of(&self, span: &Span) -> Vec<&Span> {
        let mut children: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id.as_ref() == Some(&span.span_id))
            .collect();
        children.sort_by_key(|s| s.start_unix_nanos);
        children
    }

    /// Spans without a parent id (true roots), ordered by start time.
    pub fn roots(&self) -> Vec<&Span> {
        let mut roots: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id.is_none())
            .collect();
        roots.sort_by_key(|s| s.start_unix_nanos);
        roots
    }

    /// Spans whose parent id names a span that is not in the trace, ordered by start.
    pub fn orphans(&self) -> Vec<&Span> {
        let ids: BTreeSet<&SpanId> = self.spans.iter().map(|s| &s.span_id).collect();
        let mut orphans: Vec<&Span> = self
            .spans
            .iter()
            .filter(|s| s.parent_span_id.as_ref().is_some_and(|p| !ids.contains(p)))
            .collect();
        orphans.sort_by_key(|s| s.start_unix_nanos);
        orphans
    }

    /// Spans with error status.
    pub fn errors(&self) -> Vec<&Span> {
        self.spans.iter().filter(|s| s.is_error()).collect()
    }

    /// Spans of one service.
    pub fn spans_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Span> + 'a {
        self.spans.iter().filter(move |s| s.service() == service)
    }

    /// The earliest start time, unix nanoseconds (0 for an empty trace).
    pub fn start_unix_nanos(&self) -> u64 {
        self.spans
            .iter()
            .map(|s| s.start_unix_nanos)
            .min()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_accepts_hex_and_base64_of_sixteen_bytes() {
        let hex_id = TraceId::parse("0AF7651916CD43DD8448EB211C80319C").unwrap();
        assert_eq!(hex_id.as_str(), "0af7651916cd43dd8448eb211c80319c");
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex_id.to_bytes());
        assert_eq!(TraceId::parse(&b64).unwrap(), hex_id);
    }

    #[test]
    fn ids_reject_zero_wrong_length_and_garbage() {
        assert!(TraceId::parse(&"0".repeat(32)).is_err());
        assert!(TraceId::parse("abc").is_err());
        assert!(SpanId::parse("zzzzzzzzzzzzzzzz").is_err());
        assert!(SpanId::from_bytes(&[1, 2, 3]).is_err());
        assert!(SpanId::parse("00f067aa0ba902b7").is_ok());
    }

    #[test]
    fn kinds_and_statuses_parse_protojson_names() {
        assert_eq!(SpanKind::parse("SPAN_KIND_CLIENT"), Some(SpanKind::Client));
        assert_eq!(SpanKind::parse("server"), Some(SpanKind::Server));
        assert_eq!(
            StatusCode::parse("STATUS_CODE_ERROR"),
            Some(StatusCode::Error)
        );
        assert_eq!(
            SpanKind::from_otlp(SpanKind::Consumer.to_otlp()),
            SpanKind::Consumer
        );
    }

    #[test]
    fn attribute_values_match_feature_file_text() {
        assert!(AttrValue::Int(200).matches_text("200"));
        assert!(AttrValue::String("POST".into()).matches_text("POST"));
        assert!(AttrValue::Bool(true).matches_text("true"));
        assert!(!AttrValue::Int(201).matches_text("200"));
    }
}
