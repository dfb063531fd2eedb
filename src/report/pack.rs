//! Traces packed for a page: a whole run holds thousands of spans whose attribute keys and
//! most values (`http.request.method`, `POST`, `127.0.0.1`, service names) repeat, so every
//! string that occurs more than once is written once in a page-wide table and referred to by
//! its index. Each span becomes an array (see `Waterfall.unpack` in `assets/waterfall.js`,
//! which turns it back into the [`SpanView`] shape):
//!
//! `[id, parent_row, depth, service, label, name, kind, start_us, duration_us, status, error,
//!   async_hop, orphan, [[key, value], ...], [[event, at_us, [[key, value], ...]], ...]]`
//!
//! where every string field is either a table index (a number) or the string itself, and
//! `parent_row` is the index of the parent's row in the same trace (`-1` when it has none).
//! This keeps the whole suite's report under its 3 MB budget (BENCHMARKS.md).

use std::collections::HashMap;

use std::fmt::Write as _;

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
    let traces = traces
        .into_iter()
        .map(|trace| (trace.id.clone(), pack_one(trace, &index)))
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

/// One trace as packed JSON, written straight into a string (a run has thousands of spans;
/// building `serde_json::Value`s for them first costs more than the rest of the page).
fn pack_one(trace: &TraceView, index: &HashMap<&str, usize>) -> String {
    let mut out = String::with_capacity(trace.spans.len() * 256);
    let rows: HashMap<&str, usize> = trace
        .spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    out.push_str("{\"id\":");
    string(&mut out, &trace.id);
    let _ = write!(out, ",\"total_us\":{},\"services\":[", trace.total_us);
    for (i, service) in trace.services.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(&mut out, service);
    }
    out.push_str("],\"spans\":[");
    for (i, span) in trace.spans.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        string(&mut out, &span.id);
        let parent = span
            .parent
            .as_deref()
            .and_then(|p| rows.get(p))
            .map_or(-1, |row| *row as i64);
        let _ = write!(out, ",{parent},{},", span.depth);
        for text in [&span.service, &span.label, &span.name, &span.kind] {
            shared(&mut out, text, index);
            out.push(',');
        }
        let _ = write!(out, "{},{},", span.start_us, span.duration_us);
        shared(&mut out, &span.status, index);
        let _ = write!(out, ",{},", u8::from(span.error));
        match &span.async_hop {
            Some(hop) => string(&mut out, hop),
            None => out.push_str("null"),
        }
        let _ = write!(out, ",{},", u8::from(span.orphan));
        pairs(&mut out, &span.attributes, index);
        out.push_str(",[");
        for (j, (name, at, attrs)) in span.events.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            shared(&mut out, name, index);
            let _ = write!(out, ",{at},");
            pairs(&mut out, attrs, index);
            out.push(']');
        }
        out.push_str("]]");
    }
    out.push_str("]}");
    out
}

fn pairs(out: &mut String, list: &[(String, String)], index: &HashMap<&str, usize>) {
    out.push('[');
    for (i, (k, v)) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        shared(out, k, index);
        out.push(',');
        shared(out, v, index);
        out.push(']');
    }
    out.push(']');
}

/// The table index of `text`, or `text` itself.
fn shared(out: &mut String, text: &str, index: &HashMap<&str, usize>) {
    match index.get(text) {
        Some(i) => {
            let _ = write!(out, "{i}");
        }
        None => string(out, text),
    }
}

/// `text` as a JSON string.
fn string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::trace_view::SpanView;

    fn span(id: &str, parent: Option<&str>, label: &str) -> SpanView {
        SpanView {
            id: id.into(),
            parent: parent.map(str::to_owned),
            depth: usize::from(parent.is_some()),
            service: "payments".into(),
            label: label.into(),
            name: "POST".into(),
            kind: "client".into(),
            start_us: 5,
            duration_us: 7,
            error: true,
            status: "error: \"boom\"\n".into(),
            async_hop: None,
            orphan: false,
            attributes: vec![("peer.service".into(), "ledger".into())],
            events: vec![("exception".into(), 6, vec![("k".into(), "v".into())])],
        }
    }

    #[test]
    fn packed_traces_are_json_whose_repeated_strings_point_into_the_table() {
        let trace = TraceView {
            id: "t1".into(),
            total_us: 12,
            services: vec!["payments".into()],
            spans: vec![span("a", None, "one \u{1}"), span("b", Some("a"), "two")],
        };
        let packed = pack([&trace]);
        let table: Vec<String> = serde_json::from_str(&packed.table).unwrap();
        let json: serde_json::Value = serde_json::from_str(&packed.traces[0].1).unwrap();
        let second = &json["spans"][1];
        assert_eq!(second[1], 0, "the parent is row 0");
        assert_eq!(table[second[3].as_u64().unwrap() as usize], "payments");
        assert_eq!(second[4], "two", "a string seen once stays inline");
        assert_eq!(
            table[second[9].as_u64().unwrap() as usize],
            "error: \"boom\"\n"
        );
        assert_eq!(json["spans"][0][4], "one \u{1}");
        assert_eq!(json["spans"][0][1], -1);
        assert_eq!(second[14][0][1], 6);
    }
}
