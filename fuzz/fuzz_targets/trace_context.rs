//! W3C trace context from hostile headers, read the way every minibank hop reads it
//! (`minibank::rpc::extract_from_headers`: the `traceparent` check, then `rpc::TraceState` for
//! `tracestate`), written again (`inject_into_headers`), stored and restored
//! (`PropagatedContext`), and mutated with a service's own member (`with_own_member`).
//!
//! Properties: nothing panics; what a hop sends, the next hop reads as the same context (trace
//! id, span id, flags, `tracestate`); a parsed `tracestate` has at most 32 valid members and
//! parses again from its own header; a service's own member goes first and keeps the others'
//! order.
//!
//! The input, split on newlines: the `traceparent` value, then one `tracestate` field per line.
#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use minibank::rpc::tracestate::{MAX_MEMBERS, valid_key, valid_value};
use minibank::rpc::{
    PropagatedContext, TraceState, extract_from_headers, inject_into_headers, with_own_member,
};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt as _};

fn span_of(cx: &Context) -> SpanContext {
    cx.span().span_context().clone()
}

fn sent(cx: &Context) -> HeaderMap {
    let mut headers = HeaderMap::new();
    inject_into_headers(cx, &mut headers);
    headers
}

/// A parsed list obeys the grammar and survives its own header; an own member goes first.
fn check_tracestate(text: &str) {
    let Ok(state) = TraceState::parse(text) else {
        return;
    };
    assert!(state.members().count() <= MAX_MEMBERS);
    for (key, value) in state.members() {
        assert!(valid_key(key) && valid_value(value), "{key}={value}");
    }
    let again = TraceState::parse(&state.header()).expect("a list we send, we accept");
    assert_eq!(again, state);

    let mut mutated = state.clone();
    mutated.upsert("minibank", "fuzz").expect("a valid member");
    let members: Vec<(&str, &str)> = mutated.members().collect();
    assert_eq!(members[0], ("minibank", "fuzz"));
    assert!(members.len() <= MAX_MEMBERS);
    let others: Vec<(&str, &str)> = state.members().filter(|(k, _)| *k != "minibank").collect();
    let mut rest = others.iter();
    for member in &members[1..] {
        assert!(
            rest.any(|kept| kept == member),
            "order kept, nothing invented"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let traceparent = lines.next().unwrap_or_default();
    let tracestate: Vec<&[u8]> = lines.collect();
    for field in &tracestate {
        if let Ok(text) = std::str::from_utf8(field) {
            check_tracestate(text);
        }
    }

    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(traceparent) {
        headers.append("traceparent", value);
    }
    for field in tracestate {
        if let Ok(value) = HeaderValue::from_bytes(field) {
            headers.append("tracestate", value);
        }
    }
    let cx = extract_from_headers(&headers);

    // The next hop reads what this one sends as the same context.
    let out = sent(&cx);
    let next = extract_from_headers(&out);
    assert_eq!(span_of(&next).trace_id(), span_of(&cx).trace_id());
    assert_eq!(span_of(&next).span_id(), span_of(&cx).span_id());
    assert_eq!(span_of(&next).trace_flags(), span_of(&cx).trace_flags());
    assert_eq!(sent(&next).get("tracestate"), out.get("tracestate"));

    // Stored beside asynchronous work and restored: the same strings again.
    let stored = PropagatedContext::capture(&cx);
    assert_eq!(PropagatedContext::capture(&stored.restore()), stored);

    // A service adds its own member: first in the list it sends, when there is a span.
    let own = with_own_member(&cx, "minibank", "fuzz").expect("a valid member");
    if span_of(&cx).is_valid() {
        let header = sent(&own)
            .get("tracestate")
            .map(|v| v.to_str().expect("ASCII").to_owned())
            .expect("a tracestate is sent");
        assert!(header.starts_with("minibank=fuzz"), "{header}");
        TraceState::parse(&header).expect("what we send, we accept");
    }
});
