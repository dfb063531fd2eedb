//! W3C Trace Context and W3C Baggage, in headers and as stored strings.
//!
//! One composite propagator (`traceparent`/`tracestate` + `baggage`) is used everywhere, so every
//! hop, synchronous (HTTP headers) or asynchronous (outbox rows), carries the same fields.

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Injector, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use serde::{Deserialize, Serialize};

static PROPAGATOR: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
});

/// Reads the trace context and baggage from request headers. An invalid or missing `traceparent`
/// gives a context without a remote parent, so the next span starts a new trace (W3C: restart,
/// never fail); `tracestate` is ignored then, as the spec requires.
///
/// Repeated headers follow the W3C rules: two or more `traceparent` headers make the context
/// invalid (restart), repeated `tracestate` and `baggage` headers are combined with commas.
pub fn extract_from_headers(headers: &HeaderMap) -> Context {
    let mut fields = std::collections::HashMap::new();
    let values = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect()
    };
    if let [traceparent] = values("traceparent").as_slice()
        && well_formed_traceparent(traceparent)
    {
        fields.insert("traceparent".to_owned(), (*traceparent).to_owned());
    }
    for name in ["tracestate", "baggage"] {
        let combined = values(name).join(",");
        if !combined.is_empty() {
            fields.insert(name.to_owned(), combined);
        }
    }
    PROPAGATOR.extract(&fields)
}

/// The W3C field widths: the SDK's propagator parses ids with `from_str_radix`, which accepts
/// short ids (`00-4bf9…e47-…` of 30 digits) and zero-pads them into a different trace.
fn well_formed_traceparent(value: &str) -> bool {
    let value = value.trim();
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() >= 4
        && hex(parts[0], 2)
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && (parts[0] != "00" || parts.len() == 4)
}

/// Writes `traceparent`, `tracestate` (when not empty) and `baggage` (when not empty) of `cx`.
pub fn inject_into_headers(cx: &Context, headers: &mut HeaderMap) {
    PROPAGATOR.inject_context(cx, &mut HeaderInjector(headers));
}

/// A context as strings, for storing beside asynchronous work (the payments outbox) and
/// continuing later (the webhook delivery). Field names match the webhooks `POST /events` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropagatedContext {
    /// W3C `traceparent`; empty when the context had no valid span.
    pub traceparent: String,
    /// W3C `tracestate`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// W3C `baggage`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baggage: Option<String>,
}

impl PropagatedContext {
    /// Captures the span and baggage of `cx` as strings.
    pub fn capture(cx: &Context) -> Self {
        let mut fields = std::collections::HashMap::new();
        PROPAGATOR.inject_context(cx, &mut fields);
        let take = |name: &str| fields.get(name).filter(|v| !v.is_empty()).cloned();
        Self {
            traceparent: take("traceparent").unwrap_or_default(),
            tracestate: take("tracestate"),
            baggage: take("baggage"),
        }
    }

    /// The context these strings describe (a remote parent plus baggage). Invalid strings give a
    /// context without parent, so work continues in a new trace rather than failing.
    pub fn restore(&self) -> Context {
        let mut fields = std::collections::HashMap::new();
        fields.insert("traceparent".to_owned(), self.traceparent.clone());
        if let Some(state) = &self.tracestate {
            fields.insert("tracestate".to_owned(), state.clone());
        }
        if let Some(baggage) = &self.baggage {
            fields.insert("baggage".to_owned(), baggage.clone());
        }
        PROPAGATOR.extract(&fields)
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if value.is_empty() {
            return;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt as _;

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn a_valid_traceparent_becomes_the_remote_parent() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(PARENT));
        headers.insert("baggage", HeaderValue::from_static("tenant=acme"));
        let cx = extract_from_headers(&headers);
        let span = cx.span().span_context().clone();
        assert!(span.is_valid() && span.is_remote());
        assert_eq!(
            span.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        let captured = PropagatedContext::capture(&cx);
        assert_eq!(captured.traceparent, PARENT);
        assert_eq!(captured.baggage.as_deref(), Some("tenant=acme"));
    }

    #[test]
    fn an_invalid_traceparent_gives_no_parent() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
        );
        headers.insert("tracestate", HeaderValue::from_static("a=b"));
        let cx = extract_from_headers(&headers);
        assert!(!cx.span().span_context().is_valid());
    }

    #[test]
    fn a_traceparent_with_a_short_trace_id_gives_no_parent() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01"),
        );
        assert!(
            !extract_from_headers(&headers)
                .span()
                .span_context()
                .is_valid()
        );
    }

    #[test]
    fn two_traceparent_headers_give_no_parent() {
        let mut headers = HeaderMap::new();
        headers.append("traceparent", HeaderValue::from_static(PARENT));
        headers.append(
            "traceparent",
            HeaderValue::from_static("00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        );
        assert!(
            !extract_from_headers(&headers)
                .span()
                .span_context()
                .is_valid()
        );
    }

    #[test]
    fn repeated_tracestate_headers_are_combined() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(PARENT));
        headers.append("tracestate", HeaderValue::from_static("a=1"));
        headers.append("tracestate", HeaderValue::from_static("b=2"));
        let cx = extract_from_headers(&headers);
        assert_eq!(cx.span().span_context().trace_state().header(), "a=1,b=2");
    }

    #[test]
    fn stored_strings_restore_the_same_context() {
        let stored = PropagatedContext {
            traceparent: PARENT.to_owned(),
            tracestate: Some("vendor=1".to_owned()),
            baggage: Some("k=v".to_owned()),
        };
        let again = PropagatedContext::capture(&stored.restore());
        assert_eq!(again, stored);
    }
}
