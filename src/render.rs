//! Renders a trace as an indented tree, for failure messages.
//!
//! ```text
//! trace 4bf92f3577b34da6a3ce929d0e0e4736: 4 spans, services: edge, harness, payments
//! - harness: POST /v1/payments [client] unset +0.000ms 12.410ms
//!   - edge: POST /v1/payments [server] unset +0.310ms 11.807ms
//!     - edge: POST /v1/payments [client] unset +1.020ms 10.100ms
//!       - payments: POST /v1/payments [server] error "provider down" +1.400ms 9.500ms
//! ```
//! Children are ordered by start time; offsets are from the earliest span's start.
//! Spans whose parent is missing are listed under an `orphans` heading.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::model::{Span, SpanId, Trace};

/// The whole trace as an indented tree (one line per span).
pub fn render_tree(trace: &Trace) -> String {
    let mut out = String::new();
    let services: Vec<String> = trace.services().into_iter().collect();
    let _ = writeln!(
        out,
        "trace {}: {} span(s), services: {}",
        trace.trace_id,
        trace.len(),
        if services.is_empty() {
            "none".to_owned()
        } else {
            services.join(", ")
        }
    );
    let origin = trace.start_unix_nanos();
    let mut children: HashMap<&SpanId, Vec<&Span>> = HashMap::new();
    for span in &trace.spans {
        if let Some(parent) = &span.parent_span_id {
            children.entry(parent).or_default().push(span);
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| s.start_unix_nanos);
    }
    let mut seen: HashSet<&SpanId> = HashSet::new();
    for root in trace.roots() {
        write_subtree(&mut out, root, 0, origin, &children, &mut seen);
    }
    let orphans = trace.orphans();
    if !orphans.is_empty() {
        let _ = writeln!(out, "orphans (parent span not in the trace):");
        for orphan in orphans {
            write_subtree(&mut out, orphan, 1, origin, &children, &mut seen);
        }
    }
    // Anything still unseen sits in a parent cycle; show it rather than hide it.
    let cyclic: Vec<&Span> = trace
        .spans
        .iter()
        .filter(|s| !seen.contains(&s.span_id))
        .collect();
    if !cyclic.is_empty() {
        let _ = writeln!(out, "spans in a parent cycle:");
        for span in cyclic {
            let _ = writeln!(out, "  - {}", span_line(span, origin));
        }
    }
    out
}

fn write_subtree<'a>(
    out: &mut String,
    span: &'a Span,
    depth: usize,
    origin: u64,
    children: &HashMap<&'a SpanId, Vec<&'a Span>>,
    seen: &mut HashSet<&'a SpanId>,
) {
    if !seen.insert(&span.span_id) {
        return;
    }
    let _ = writeln!(out, "{}- {}", "  ".repeat(depth), span_line(span, origin));
    if let Some(kids) = children.get(&span.span_id) {
        for child in kids {
            write_subtree(out, child, depth + 1, origin, children, seen);
        }
    }
}

/// One span as `service: name [kind] status +offset duration`.
pub fn span_line(span: &Span, origin_unix_nanos: u64) -> String {
    // Many instrumentations leave the status message empty and record the cause as an
    // `exception` event instead; show that rather than nothing.
    let exception = || {
        span.events
            .iter()
            .find(|e| e.name == "exception")
            .and_then(|e| e.attributes.get("exception.message"))
            .map(|m| m.to_string())
    };
    let status = match (&span.status.message, span.is_error()) {
        (message, _) if !message.is_empty() => format!("{} {:?}", span.status.code, message),
        (_, true) => match exception() {
            Some(message) => format!("{} (exception {message:?})", span.status.code),
            None => span.status.code.to_string(),
        },
        _ => span.status.code.to_string(),
    };
    format!(
        "{}: {} [{}] {} +{} {}",
        span.service(),
        span.name,
        span.kind,
        status,
        millis(span.start_unix_nanos.saturating_sub(origin_unix_nanos)),
        millis(span.duration_nanos()),
    )
}

fn millis(nanos: u64) -> String {
    format!("{}.{:03}ms", nanos / 1_000_000, (nanos % 1_000_000) / 1_000)
}
