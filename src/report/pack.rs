//! Traces packed for a page: a whole run holds thousands of spans whose attribute keys and
//! most values (`http.request.method`, `POST`, `127.0.0.1`, service names) repeat, so every
//! string that occurs more than once is written once in a page-wide table and referred to by
//! its index. Each span becomes an array (see `Waterfall.unpack` in `assets/waterfall.js`,
//! which turns it back into the [`SpanView`] shape):
//!
//! `[id, parent, depth, service, label, name, kind, start_us, duration_us, status, error,
//!   async_hop, orphan, [[key, value], ...], [[event, at_us, [[key, value], ...]], ...]]`
//!
//! where every string field is either a table index (a number) or the string itself.
//! This keeps the whole suite's report under its 3 MB budget (BENCHMARKS.md).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::trace_view::{SpanView, TraceView};

/// The string table and each trace, packed.
pub struct Packed {
    /// The shared strings, as a JSON array.
    pub table: String,
    /// Each trace's packed JSON, by trace id.
    pub traces: Vec<(String, String)>,
}

/// Packs `traces` against one table.
pub fn pack<'a>(traces: impl IntoIterator<Item = &'a TraceView> + Clone) -> Packed {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for trace in traces.clone() {
        for span in &trace.spans {
            for s in strings(span) {
                *counts.entry(s).or_default() += 1;
            }
        }
    }
    let mut shared: Vec<&str> = counts
        .iter()
        .filter(|(s, n)| **n > 1 && s.len() > 2)
        .map(|(s, _)| *s)
        .collect();
    // Most used first: their indices are the shortest.
    shared.sort_by(|a, b| counts[b].cmp(&counts[a]).then(a.cmp(b)));
    let index: HashMap<&str, usize> = shared.iter().enumerate().map(|(i, s)| (*s, i)).collect();
    let str_or_index = |s: &str| match index.get(s) {
        Some(i) => json!(i),
        None => json!(s),
    };
    let traces = traces
        .into_iter()
        .map(|trace| {
            let spans: Vec<Value> = trace
                .spans
                .iter()
                .map(|span| {
                    let pairs = |list: &[(String, String)]| -> Vec<Value> {
                        list.iter()
                            .map(|(k, v)| json!([str_or_index(k), str_or_index(v)]))
                            .collect()
                    };
                    json!([
                        span.id,
                        span.parent,
                        span.depth,
                        str_or_index(&span.service),
                        str_or_index(&span.label),
                        str_or_index(&span.name),
                        str_or_index(&span.kind),
                        span.start_us,
                        span.duration_us,
                        str_or_index(&span.status),
                        u8::from(span.error),
                        span.async_hop,
                        u8::from(span.orphan),
                        pairs(&span.attributes),
                        span.events
                            .iter()
                            .map(|(name, at, attrs)| json!([str_or_index(name), at, pairs(attrs)]))
                            .collect::<Vec<_>>(),
                    ])
                })
                .collect();
            let packed = json!({
                "id": trace.id,
                "total_us": trace.total_us,
                "services": trace.services,
                "spans": spans,
            });
            (trace.id.clone(), packed.to_string())
        })
        .collect();
    Packed {
        table: serde_json::to_string(&shared).unwrap_or_else(|_| "[]".to_owned()),
        traces,
    }
}

/// Every string of a span that may repeat across spans.
fn strings(span: &SpanView) -> impl Iterator<Item = &str> {
    [
        span.service.as_str(),
        &span.label,
        &span.name,
        &span.kind,
        &span.status,
    ]
    .into_iter()
    .chain(
        span.attributes
            .iter()
            .chain(span.events.iter().flat_map(|(_, _, attrs)| attrs.iter()))
            .flat_map(|(k, v)| [k.as_str(), v.as_str()]),
    )
    .chain(span.events.iter().map(|(name, _, _)| name.as_str()))
}
