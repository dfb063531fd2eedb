//! W3C Trace Context and W3C Baggage, in headers and as stored strings.
//!
//! One composite propagator (`traceparent`/`tracestate` + `baggage`) is used everywhere, so every
//! hop, synchronous (HTTP headers) or asynchronous (outbox rows), carries the same fields.

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::propagation::{Injector, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use serde::{Deserialize, Serialize};

use super::tracestate::{InvalidTraceState, TraceState};

static PROPAGATOR: LazyLock<TextMapCompositePropagator> = LazyLock::new(|| {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
});

/// Reads the trace context and baggage from request headers. An invalid or missing `traceparent`
/// gives a context without a remote parent, so the next span starts a new trace (W3C: restart,
/// never fail); `tracestate` is not even parsed then, as the spec requires.
///
/// Repeated headers follow the W3C rules: two or more `traceparent` headers make the context
/// invalid (restart), repeated `tracestate` and `baggage` headers are combined with commas.
/// `tracestate` is read by [`TraceState`] (the one parser of every hop); an invalid one is
/// discarded as a whole while the `traceparent` is kept.
pub fn extract_from_headers(headers: &HeaderMap) -> Context {
    let values = |name: &str| -> Vec<Option<&str>> {
        headers
            .get_all(name)
            .iter()
            .map(|value| value.to_str().ok())
            .collect()
    };
    let traceparent = match values("traceparent").as_slice() {
        [Some(traceparent)] => Some(*traceparent),
        _ => None,
    };
    let tracestate = values("tracestate")
        .into_iter()
        .collect::<Option<Vec<&str>>>()
        .ok_or(InvalidTraceState::NotText);
    let baggage: Vec<&str> = values("baggage").into_iter().flatten().collect();
    context_from(traceparent, tracestate, &baggage.join(","))
}

/// The one way a context is made from its strings (headers or stored): `tracestate` is parsed
/// only beside a well-formed `traceparent`, and travels in the context as a [`TraceState`].
fn context_from<'a>(
    traceparent: Option<&'a str>,
    tracestate: Result<Vec<&'a str>, InvalidTraceState>,
    baggage: &str,
) -> Context {
    let mut fields = std::collections::HashMap::new();
    let mut state = None;
    if let Some(traceparent) = traceparent.filter(|value| well_formed_traceparent(value)) {
        fields.insert("traceparent".to_owned(), traceparent.to_owned());
        match tracestate.and_then(TraceState::parse_fields) {
            Ok(parsed) if !parsed.is_empty() => {
                // Also given to the SDK, so exported spans carry it (its parser is looser).
                fields.insert("tracestate".to_owned(), parsed.header());
                state = Some(parsed);
            }
            Ok(_) => {}
            Err(invalid) => tracing::debug!(%invalid, "tracestate discarded"),
        }
    }
    if !baggage.is_empty() {
        fields.insert("baggage".to_owned(), baggage.to_owned());
    }
    let cx = PROPAGATOR.extract(&fields);
    match state {
        Some(state) if cx.span().span_context().is_valid() => cx.with_value(state),
        _ => cx,
    }
}

/// The `tracestate` to send for `cx`: the one received (or set with [`with_own_member`]), when
/// `cx` has a valid span; `None` when there is nothing to send.
fn tracestate_of(cx: &Context) -> Option<String> {
    if !cx.span().span_context().is_valid() {
        return None;
    }
    match cx.get::<TraceState>() {
        Some(state) => Some(state.header()).filter(|header| !header.is_empty()),
        None => Some(cx.span().span_context().trace_state().header())
            .filter(|header| !header.is_empty()),
    }
}

/// `cx` with this service's own `tracestate` member added or updated: it moves to the front and
/// the other members keep their order (W3C "Mutating the tracestate Field").
pub fn with_own_member(cx: &Context, key: &str, value: &str) -> Result<Context, InvalidTraceState> {
    let mut state = cx.get::<TraceState>().cloned().unwrap_or_default();
    state.upsert(key, value)?;
    Ok(cx.with_value(state))
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
    headers.remove("tracestate");
    if let Some(state) = tracestate_of(cx) {
        HeaderInjector(headers).set("tracestate", state);
    }
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
            tracestate: tracestate_of(cx),
            baggage: take("baggage"),
        }
    }

    /// The context these strings describe (a remote parent plus baggage). Invalid strings give a
    /// context without parent, so work continues in a new trace rather than failing.
    pub fn restore(&self) -> Context {
        context_from(
            Some(&self.traceparent),
            Ok(self.tracestate.as_deref().into_iter().collect()),
            self.baggage.as_deref().unwrap_or_default(),
        )
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

    fn forwarded(headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        inject_into_headers(&extract_from_headers(headers), &mut out);
        out
    }

    #[test]
    fn an_invalid_tracestate_is_discarded_while_the_traceparent_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(PARENT));
        headers.insert("tracestate", HeaderValue::from_static("foo@@bar=1,bar=2"));
        let out = forwarded(&headers);
        assert!(
            out["traceparent"]
                .to_str()
                .unwrap()
                .contains("0af7651916cd43dd8448eb211c80319c")
        );
        assert!(out.get("tracestate").is_none());
    }

    #[test]
    fn a_tracestate_header_that_is_not_text_is_discarded() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(PARENT));
        headers.append("tracestate", HeaderValue::from_static("a=1"));
        headers.append("tracestate", HeaderValue::from_bytes(b"b=\xe9").unwrap());
        assert!(forwarded(&headers).get("tracestate").is_none());
    }

    #[test]
    fn a_valid_tracestate_is_forwarded_in_order_without_optional_whitespace() {
        let system = "s".repeat(14);
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(PARENT));
        headers.append(
            "tracestate",
            HeaderValue::from_str(&format!(" t@{system}=1 ,, rojo= x")).unwrap(),
        );
        headers.append("tracestate", HeaderValue::from_static(""));
        headers.append("tracestate", HeaderValue::from_static("congo=2"));
        let out = forwarded(&headers);
        assert_eq!(out["tracestate"], format!("t@{system}=1,rojo= x,congo=2"));
    }

    #[test]
    fn an_own_member_is_sent_first() {
        let mut headers = HeaderMap::new();
        headers.insert("traceparent", HeaderValue::from_static(PARENT));
        headers.insert(
            "tracestate",
            HeaderValue::from_static("rojo=1,minibank=0,congo=2"),
        );
        let cx = with_own_member(&extract_from_headers(&headers), "minibank", "9").unwrap();
        let mut out = HeaderMap::new();
        inject_into_headers(&cx, &mut out);
        assert_eq!(out["tracestate"], "minibank=9,rojo=1,congo=2");
        assert_eq!(
            PropagatedContext::capture(&cx).tracestate.as_deref(),
            Some("minibank=9,rojo=1,congo=2")
        );
    }

    #[test]
    fn a_stored_invalid_tracestate_is_discarded_on_restore() {
        let stored = PropagatedContext {
            traceparent: PARENT.to_owned(),
            tracestate: Some("vendor=1,vendor=2".to_owned()),
            baggage: None,
        };
        let again = PropagatedContext::capture(&stored.restore());
        assert_eq!(again.traceparent, PARENT);
        assert_eq!(again.tracestate, None);
    }
}
