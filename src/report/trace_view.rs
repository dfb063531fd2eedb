//! A trace made ready to draw as a waterfall: spans in tree order (children by start time),
//! each with its depth, its offset and duration from the trace's start, its people's label,
//! an error mark and, where the context was carried through storage rather than a call (the
//! payments outbox continued by a webhook delivery), an async-hop mark.
//!
//! Keys are short because a run holds thousands of spans and the page carries them all.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{Span, SpanId, SpanKind, Trace};
use crate::span_label::span_label;

/// One trace, drawable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceView {
    /// The trace id (hex).
    pub id: String,
    /// From the first span's start to the last span's end, in microseconds.
    pub total_us: u64,
    /// The services in the order they first appear in the tree.
    pub services: Vec<String>,
    /// Spans in tree order.
    pub spans: Vec<SpanView>,
}

/// One row of the waterfall.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpanView {
    /// Span id (hex).
    pub id: String,
    /// The parent's span id, when the parent is in the trace.
    #[serde(rename = "p", skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Depth in the tree (0 for a root or an orphan).
    #[serde(rename = "dp")]
    pub depth: usize,
    /// Service that reported it.
    #[serde(rename = "s")]
    pub service: String,
    /// The people's label (`payments → ledger POST /holds`).
    #[serde(rename = "l")]
    pub label: String,
    /// The span's own name.
    #[serde(rename = "n")]
    pub name: String,
    /// Span kind (`server`, `client`, ...).
    #[serde(rename = "k")]
    pub kind: String,
    /// Start, microseconds after the trace's start.
    #[serde(rename = "t")]
    pub start_us: u64,
    /// Duration in microseconds.
    #[serde(rename = "d")]
    pub duration_us: u64,
    /// Whether the span reports an error.
    #[serde(rename = "e", default, skip_serializing_if = "is_false")]
    pub error: bool,
    /// The status (`unset`, `ok`, `error`) and its message.
    #[serde(rename = "st")]
    pub status: String,
    /// Why this span is an async hop (its context came through storage), if it is one.
    #[serde(rename = "x", skip_serializing_if = "Option::is_none")]
    pub async_hop: Option<String>,
    /// Set when its parent is not in the trace.
    #[serde(rename = "o", default, skip_serializing_if = "is_false")]
    pub orphan: bool,
    /// Attributes, resource attributes prefixed `resource.`, as text.
    #[serde(rename = "a")]
    pub attributes: Vec<(String, String)>,
    /// Events: name, offset from the trace's start (µs), attributes.
    #[serde(rename = "ev", default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventView>,
}

/// A span event: name, offset from the trace's start (µs), attributes as text.
pub type EventView = (String, u64, Vec<(String, String)>);

fn is_false(b: &bool) -> bool {
    !*b
}

impl TraceView {
    /// Lays out `trace`.
    pub fn of(trace: &Trace) -> Self {
        let origin = trace.start_unix_nanos();
        let end = trace
            .spans
            .iter()
            .map(|s| s.end_unix_nanos.max(s.start_unix_nanos))
            .max()
            .unwrap_or(origin);
        let by_id: HashMap<&SpanId, &Span> = trace.spans.iter().map(|s| (&s.span_id, s)).collect();
        let mut children: HashMap<&SpanId, Vec<&Span>> = HashMap::new();
        for span in &trace.spans {
            if let Some(parent) = &span.parent_span_id {
                children.entry(parent).or_default().push(span);
            }
        }
        for list in children.values_mut() {
            list.sort_by_key(|s| s.start_unix_nanos);
        }
        let mut layout = Layout {
            origin,
            by_id: &by_id,
            children: &children,
            seen: HashSet::new(),
            rows: Vec::new(),
        };
        let mut roots = trace.roots();
        roots.sort_by_key(|s| s.start_unix_nanos);
        for root in roots {
            layout.walk(root, 0, false);
        }
        let mut orphans = trace.orphans();
        orphans.sort_by_key(|s| s.start_unix_nanos);
        for orphan in orphans {
            layout.walk(orphan, 0, true);
        }
        // Spans in a parent cycle are reached by no walk; show them rather than hide them.
        let left: Vec<&Span> = trace
            .spans
            .iter()
            .filter(|s| !layout.seen.contains(&s.span_id))
            .collect();
        for span in left {
            layout.walk(span, 0, true);
        }
        let mut services: Vec<String> = Vec::new();
        for row in &layout.rows {
            if !services.contains(&row.service) {
                services.push(row.service.clone());
            }
        }
        TraceView {
            id: trace.trace_id.to_string(),
            total_us: (end.saturating_sub(origin)) / 1_000,
            services,
            spans: layout.rows,
        }
    }
}

struct Layout<'a> {
    origin: u64,
    by_id: &'a HashMap<&'a SpanId, &'a Span>,
    children: &'a HashMap<&'a SpanId, Vec<&'a Span>>,
    seen: HashSet<&'a SpanId>,
    rows: Vec<SpanView>,
}

impl<'a> Layout<'a> {
    fn walk(&mut self, span: &'a Span, depth: usize, orphan: bool) {
        if !self.seen.insert(&span.span_id) {
            return;
        }
        let parent = span
            .parent_span_id
            .as_ref()
            .and_then(|p| self.by_id.get(p).copied());
        self.rows
            .push(view(span, parent, depth, orphan, self.origin));
        if let Some(kids) = self.children.get(&span.span_id) {
            for kid in kids {
                self.walk(kid, depth + 1, false);
            }
        }
    }
}

fn view(span: &Span, parent: Option<&Span>, depth: usize, orphan: bool, origin: u64) -> SpanView {
    let us = |nanos: u64| nanos.saturating_sub(origin) / 1_000;
    let mut attributes: Vec<(String, String)> = span
        .attributes
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    if let Some(instance) = &span.resource.service_instance_id {
        attributes.push(("resource.service.instance.id".into(), instance.clone()));
    }
    let status = if span.status.message.is_empty() {
        span.status.code.to_string()
    } else {
        format!("{}: {}", span.status.code, span.status.message)
    };
    SpanView {
        id: span.span_id.to_string(),
        parent: parent.map(|p| p.span_id.to_string()),
        depth,
        service: span.service().to_owned(),
        label: span_label(span),
        name: span.name.clone(),
        kind: span.kind.to_string(),
        start_us: us(span.start_unix_nanos),
        duration_us: span.duration_nanos() / 1_000,
        error: span.is_error(),
        status,
        async_hop: parent.and_then(|p| async_hop(p, span)),
        orphan,
        attributes,
        events: span
            .events
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    us(e.time_unix_nanos),
                    e.attributes
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_string()))
                        .collect(),
                )
            })
            .collect(),
    }
}

/// Whether `child` continues `parent` through storage rather than inside it, and how to say
/// so. A call happens while its caller's span is open; a span that starts after its parent
/// ended (the payments outbox relay, the webhook delivery) was carried asynchronously, and so
/// was a consumer span, or a non-server span of another service under a non-client span
/// (context read back from a store, not received on a call).
fn async_hop(parent: &Span, child: &Span) -> Option<String> {
    let after_parent = child.start_unix_nanos >= parent.end_unix_nanos;
    let through_storage = parent.service() != child.service()
        && !matches!(child.kind, SpanKind::Server)
        && !matches!(parent.kind, SpanKind::Client);
    let is_consumer = matches!(child.kind, SpanKind::Consumer);
    if !(after_parent || through_storage || is_consumer) {
        return None;
    }
    let gap_ms = child.start_unix_nanos.saturating_sub(parent.end_unix_nanos) as f64 / 1_000_000.0;
    Some(format!(
        "async hop (outbox): continues `{}` {gap_ms:.1} ms after it ended",
        span_label(parent)
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Resource, SpanStatus, StatusCode, TraceId};

    fn span(id: &str, parent: Option<&str>, service: &str, kind: SpanKind, t: (u64, u64)) -> Span {
        Span {
            trace_id: TraceId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            span_id: SpanId::parse(id).unwrap(),
            parent_span_id: parent.map(|p| SpanId::parse(p).unwrap()),
            resource: Arc::new(Resource::service(service)),
            scope: None,
            name: format!("{service} span"),
            kind,
            start_unix_nanos: 1_000_000_000 + t.0 * 1_000_000,
            end_unix_nanos: 1_000_000_000 + t.1 * 1_000_000,
            attributes: Default::default(),
            status: SpanStatus {
                code: StatusCode::Unset,
                message: String::new(),
            },
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    #[test]
    fn rows_follow_the_tree_with_children_by_start_time_and_offsets_from_the_first_span() {
        let trace = Trace::new(
            TraceId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            vec![
                span(
                    "0000000000000003",
                    Some("0000000000000001"),
                    "ledger",
                    SpanKind::Server,
                    (5, 6),
                ),
                span("0000000000000001", None, "edge", SpanKind::Server, (0, 10)),
                span(
                    "0000000000000002",
                    Some("0000000000000001"),
                    "auth",
                    SpanKind::Server,
                    (1, 2),
                ),
            ],
        );
        let view = TraceView::of(&trace);
        let order: Vec<(&str, usize, u64)> = view
            .spans
            .iter()
            .map(|s| (s.service.as_str(), s.depth, s.start_us))
            .collect();
        assert_eq!(
            order,
            [("edge", 0, 0), ("auth", 1, 1000), ("ledger", 1, 5000)]
        );
        assert_eq!(view.total_us, 10_000);
        assert_eq!(view.services, ["edge", "auth", "ledger"]);
    }

    #[test]
    fn a_span_starting_after_its_parent_ended_is_an_async_hop_a_call_is_not() {
        let trace = Trace::new(
            TraceId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            vec![
                span(
                    "0000000000000001",
                    None,
                    "payments",
                    SpanKind::Server,
                    (0, 10),
                ),
                span(
                    "0000000000000002",
                    Some("0000000000000001"),
                    "payments",
                    SpanKind::Client,
                    (1, 3),
                ),
                span(
                    "0000000000000003",
                    Some("0000000000000002"),
                    "ledger",
                    SpanKind::Server,
                    (1, 2),
                ),
                span(
                    "0000000000000004",
                    Some("0000000000000001"),
                    "payments",
                    SpanKind::Client,
                    (15, 18),
                ),
                span(
                    "0000000000000005",
                    Some("0000000000000004"),
                    "webhooks",
                    SpanKind::Server,
                    (16, 17),
                ),
            ],
        );
        let view = TraceView::of(&trace);
        let hops: Vec<(&str, bool)> = view
            .spans
            .iter()
            .map(|s| (s.service.as_str(), s.async_hop.is_some()))
            .collect();
        assert_eq!(
            hops,
            [
                ("payments", false),
                ("payments", false),
                ("ledger", false),
                ("payments", true),
                ("webhooks", false)
            ]
        );
        let hop = view.spans[3].async_hop.as_deref().unwrap();
        assert!(
            hop.contains("continues `payments: payments span` 5.0 ms after"),
            "{hop}"
        );
    }

    #[test]
    fn an_orphan_is_drawn_at_depth_zero_and_marked() {
        let trace = Trace::new(
            TraceId::parse("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            vec![
                span("0000000000000001", None, "edge", SpanKind::Server, (0, 10)),
                span(
                    "0000000000000002",
                    Some("00000000000000ff"),
                    "ledger",
                    SpanKind::Server,
                    (2, 3),
                ),
            ],
        );
        let view = TraceView::of(&trace);
        assert!(view.spans[1].orphan && view.spans[1].depth == 0);
        assert!(!view.spans[0].orphan);
    }
}
