//! Running selectors over a trace, checking assertions, and explaining what almost matched.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::{
    Assertion, Combinator, Key, Op, Position, Predicate, Selector, Step, Value, format_nanos,
};
use crate::model::{Span, Trace};
use crate::span_label::span_label;

/// A trace with spans ordered by start time and parents resolved, read once per check.
#[derive(Debug)]
pub struct Indexed<'a> {
    /// Spans by start time (ties keep arrival order).
    pub spans: Vec<&'a Span>,
    /// For each span, the index of its parent when the parent is in the trace.
    parent: Vec<Option<usize>>,
}

impl<'a> Indexed<'a> {
    /// Orders the spans and links each to its parent.
    pub fn new(trace: &'a Trace) -> Self {
        let mut spans: Vec<&Span> = trace.spans.iter().collect();
        spans.sort_by_key(|s| s.start_unix_nanos);
        let by_id: HashMap<&str, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id.as_str(), i))
            .collect();
        let parent = spans
            .iter()
            .map(|s| {
                s.parent_span_id
                    .as_ref()
                    .and_then(|p| by_id.get(p.as_str()).copied())
            })
            .collect();
        Self { spans, parent }
    }

    /// The parent's index.
    pub fn parent(&self, index: usize) -> Option<usize> {
        self.parent[index]
    }

    /// The children's indexes, by start time.
    pub fn children(&self, index: usize) -> Vec<usize> {
        (0..self.spans.len())
            .filter(|&i| self.parent[i] == Some(index))
            .collect()
    }

    /// True when some ancestor of `index` is in `set` (bounded, so a parent cycle ends).
    fn has_ancestor_in(&self, index: usize, set: &[bool]) -> bool {
        let mut at = self.parent[index];
        let mut hops = 0;
        while let Some(i) = at {
            if set[i] {
                return true;
            }
            hops += 1;
            if hops > self.spans.len() {
                return false;
            }
            at = self.parent[i];
        }
        false
    }
}

/// Whether `predicate` holds for `span`.
pub fn holds(predicate: &Predicate, span: &Span) -> bool {
    let op = predicate.op;
    match (&predicate.key, &predicate.value) {
        (Key::Service, Value::Text(t)) => op.holds(span.service().cmp(t.as_str())),
        (Key::Name, Value::Text(t)) => op.holds(span.name.as_str().cmp(t.as_str())),
        (Key::Kind, Value::Kind(kind)) => (span.kind == *kind) == (op == Op::Eq),
        (Key::Status, Value::Status(code)) => (span.status.code == *code) == (op == Op::Eq),
        (Key::Duration, Value::Duration(nanos)) => op.holds(span.duration_nanos().cmp(nanos)),
        (Key::Event, Value::Text(name)) => {
            span.events.iter().any(|e| &e.name == name) == (op == Op::Eq)
        }
        (Key::Attr(key), value) => match span.attr(key) {
            None => op == Op::Ne,
            Some(actual) => match value {
                Value::Number(digits) if !matches!(op, Op::Eq | Op::Ne) => {
                    let (Ok(actual), Ok(wanted)) =
                        (actual.to_string().parse::<f64>(), digits.parse::<f64>())
                    else {
                        return false;
                    };
                    actual.partial_cmp(&wanted).is_some_and(|o| op.holds(o))
                }
                Value::Number(text) | Value::Text(text) => {
                    actual.matches_text(text) == (op == Op::Eq)
                }
                _ => false,
            },
        },
        // The parser pairs keys with values; any other pair cannot come from text.
        _ => false,
    }
}

/// What the span has where `predicate` looked, for a failure message: `name is "POST /hold"`,
/// `took 72.3ms`, `has no attribute x`.
pub fn actual(predicate: &Predicate, span: &Span) -> String {
    match &predicate.key {
        Key::Service => format!("service is {:?}", span.service()),
        Key::Name => format!("name is {:?}", span.name),
        Key::Kind => format!("kind is {}", span.kind),
        Key::Status if span.status.message.is_empty() => format!("status is {}", span.status.code),
        Key::Status => format!("status is {} ({:?})", span.status.code, span.status.message),
        Key::Duration => format!("took {}", format_nanos(span.duration_nanos())),
        Key::Event if span.events.is_empty() => "recorded no event".to_owned(),
        Key::Event => format!(
            "recorded events [{}]",
            span.events
                .iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Key::Attr(key) => match span.attr(key) {
            Some(value) => format!("{key} is {value}"),
            None => format!("has no attribute {key}"),
        },
    }
}

/// Why `span` is not selected by `step`: each failing predicate, the span's value and what was
/// wanted (`took 72.3ms where duration<50.0ms was wanted`).
pub fn mismatches(step: &Step, span: &Span) -> Vec<String> {
    step.predicates
        .iter()
        .filter(|p| !holds(p, span))
        .map(|p| format!("{} where {p} was wanted", actual(p, span)))
        .collect()
}

/// A span that satisfied some, but not all, of a step's predicates, and why not the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct NearMiss<'a> {
    /// The span.
    pub span: &'a Span,
    /// The predicates that failed, each with the span's value.
    pub why: Vec<String>,
}

impl std::fmt::Display for NearMiss<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            span_label(self.span),
            format_nanos(self.span.duration_nanos()),
            self.why.join("; ")
        )
    }
}

/// The spans closest to matching `step` (fewest failing predicates; on a tie, the right service
/// first), at most `limit` of them; spans that fail every predicate are not near.
pub fn near_misses<'a>(step: &Step, spans: &[&'a Span], limit: usize) -> Vec<NearMiss<'a>> {
    let total = step.predicates.len();
    let mut misses: Vec<(usize, bool, NearMiss<'a>)> = spans
        .iter()
        .filter_map(|span| {
            let why = mismatches(step, span);
            let right_service = step
                .predicates
                .iter()
                .filter(|p| p.key == Key::Service)
                .all(|p| holds(p, span));
            (!why.is_empty() && why.len() < total)
                .then(|| (why.len(), !right_service, NearMiss { span, why }))
        })
        .collect();
    misses.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    misses.into_iter().take(limit).map(|(_, _, m)| m).collect()
}

/// What a selector selected, step by step, from one trace.
#[derive(Debug)]
pub struct Selection<'a> {
    /// The trace, indexed.
    pub index: Indexed<'a>,
    /// How many spans each step kept.
    pub kept_per_step: Vec<usize>,
    /// The spans the last step kept, by start time.
    pub spans: Vec<&'a Span>,
}

impl Selector {
    /// Parses selector text (see the module's grammar).
    pub fn parse(text: &str) -> Result<Self, super::SelectorError> {
        super::parse_selector(text)
    }

    /// The spans of `trace` this selector selects, by start time.
    pub fn select<'a>(&self, trace: &'a Trace) -> Vec<&'a Span> {
        self.run(trace).spans
    }

    /// Selects, keeping how many spans each step kept for explanations.
    pub fn run<'a>(&self, trace: &'a Trace) -> Selection<'a> {
        let index = Indexed::new(trace);
        let n = index.spans.len();
        let mut kept: Option<Vec<bool>> = None;
        let mut kept_per_step = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let mut here: Vec<usize> = (0..n)
                .filter(|&i| {
                    step.predicates.iter().all(|p| holds(p, index.spans[i]))
                        && match (&kept, step.combinator) {
                            (None, _) => true,
                            (Some(set), Combinator::Child) => {
                                index.parent(i).is_some_and(|p| set[p])
                            }
                            (Some(set), Combinator::Descendant) => index.has_ancestor_in(i, set),
                        }
                })
                .collect();
            here = match step.position {
                None => here,
                Some(Position::First) => here.first().copied().into_iter().collect(),
                Some(Position::Last) => here.last().copied().into_iter().collect(),
                Some(Position::Nth(k)) => here.get(k - 1).copied().into_iter().collect(),
            };
            kept_per_step.push(here.len());
            let mut set = vec![false; n];
            here.iter().for_each(|&i| set[i] = true);
            kept = Some(set);
        }
        let spans = kept
            .map(|set| (0..n).filter(|&i| set[i]).map(|i| index.spans[i]).collect())
            .unwrap_or_default();
        Selection {
            index,
            kept_per_step,
            spans,
        }
    }

    /// Says, when the selector selected nothing, which step emptied the selection and which
    /// spans almost matched that step.
    pub fn explain_empty(&self, selection: &Selection<'_>) -> String {
        let Some(step_at) = selection.kept_per_step.iter().position(|&k| k == 0) else {
            return String::new();
        };
        let step = &self.steps[step_at];
        let mut text = if step_at == 0 {
            format!("no span matches `{step}`")
        } else {
            format!(
                "no span matches `{step}` below the {} span(s) `{}` kept",
                selection.kept_per_step[step_at - 1],
                self.steps[step_at - 1]
            )
        };
        let misses = near_misses(step, &selection.index.spans, 3);
        if misses.is_empty() && step_at > 0 {
            let elsewhere = selection
                .index
                .spans
                .iter()
                .filter(|s| mismatches(step, s).is_empty())
                .count();
            if elsewhere > 0 {
                text.push_str(&format!(
                    "; {elsewhere} span(s) match it elsewhere in the trace"
                ));
            }
        }
        for miss in misses {
            text.push_str(&format!("\n  closest: {miss}"));
        }
        text
    }
}

impl Assertion {
    /// Checks the assertion on what `selector` selected; the error says what was found.
    pub fn check(&self, selector: &Selector, selection: &Selection<'_>) -> Result<(), String> {
        let spans = &selection.spans;
        match self {
            Self::Count(op, wanted) => {
                let count = spans.len() as u64;
                if op.holds(count.cmp(wanted)) {
                    return Ok(());
                }
                let mut text = format!(
                    "`{selector}` selected {count} span(s), where count {op} {wanted} was wanted"
                );
                if count == 0 {
                    text.push_str(&format!("\n{}", selector.explain_empty(selection)));
                }
                for span in spans.iter().take(10) {
                    text.push_str(&format!(
                        "\n  selected: {} ({})",
                        span_label(span),
                        format_nanos(span.duration_nanos())
                    ));
                }
                Err(text)
            }
            Self::Each(predicate) => {
                if spans.is_empty() {
                    return Err(format!(
                        "`{selector}` selected no span, so `{self}` cannot hold\n{}",
                        selector.explain_empty(selection)
                    ));
                }
                let failing: Vec<String> = spans
                    .iter()
                    .filter(|s| !holds(predicate, s))
                    .map(|s| format!("  {}: {}", span_label(s), actual(predicate, s)))
                    .collect();
                if failing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} of {} span(s) selected by `{selector}` fail `{self}`:\n{}",
                        failing.len(),
                        spans.len(),
                        failing.join("\n")
                    ))
                }
            }
        }
    }
}

/// Compares two spans by start time (for callers sorting their own lists).
pub fn by_start(a: &&Span, b: &&Span) -> Ordering {
    a.start_unix_nanos.cmp(&b.start_unix_nanos)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{
        AttrValue, Resource, SpanEvent, SpanId, SpanKind, SpanStatus, StatusCode, TraceId,
    };
    use crate::selector::parse_assertions;

    pub(crate) const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

    /// A span of the test trace: id `n`, parent `p`, from `start` to `end` milliseconds.
    pub(crate) fn span(
        n: u8,
        parent: Option<u8>,
        service: &str,
        kind: SpanKind,
        name: &str,
        (start, end): (u64, u64),
    ) -> Span {
        let id = |n: u8| SpanId::parse(&format!("{n:016x}")).unwrap();
        Span {
            trace_id: TraceId::parse(TRACE).unwrap(),
            span_id: id(n),
            parent_span_id: parent.map(id),
            resource: Arc::new(Resource::service(service)),
            scope: None,
            name: name.into(),
            kind,
            start_unix_nanos: 1_000_000_000 + start * 1_000_000,
            end_unix_nanos: 1_000_000_000 + end * 1_000_000,
            attributes: Default::default(),
            status: SpanStatus {
                code: StatusCode::Unset,
                message: String::new(),
            },
            events: Vec::new(),
            links: Vec::new(),
        }
    }

    /// harness → edge → payments → {ledger POST /holds (72 ms, 201), provider call (retried),
    /// ledger POST /holds/capture}.
    pub(crate) fn payment_trace() -> Trace {
        use SpanKind::*;
        let mut spans = vec![
            span(1, None, "harness", Client, "POST /v1/payments", (0, 200)),
            span(2, Some(1), "edge", Server, "POST /v1/payments", (1, 199)),
            span(
                3,
                Some(2),
                "payments",
                Server,
                "POST /v1/payments",
                (5, 190),
            ),
            span(4, Some(3), "payments", Client, "POST /holds", (10, 85)),
            span(5, Some(4), "ledger", Server, "POST /holds", (11, 83)),
            span(6, Some(3), "payments", Client, "POST /transfers", (90, 150)),
            span(
                7,
                Some(3),
                "payments",
                Client,
                "POST /holds/capture",
                (155, 170),
            ),
            span(
                8,
                Some(7),
                "ledger",
                Server,
                "POST /holds/capture",
                (156, 169),
            ),
        ];
        spans[4]
            .attributes
            .insert("http.response.status_code".into(), AttrValue::Int(201));
        let retried_at = spans[5].start_unix_nanos + 20_000_000;
        spans[5].events.push(SpanEvent {
            name: "retry".into(),
            time_unix_nanos: retried_at,
            attributes: Default::default(),
        });
        spans[5].status.code = StatusCode::Error;
        // Arrival order is not start order: parents end, and are exported, after children.
        spans.reverse();
        Trace::new(TraceId::parse(TRACE).unwrap(), spans)
    }

    fn names(selector: &str) -> Vec<String> {
        Selector::parse(selector)
            .unwrap()
            .select(&payment_trace())
            .iter()
            .map(|s| format!("{} {}", s.service(), s.name))
            .collect()
    }

    #[test]
    fn predicates_select_by_service_name_kind_status_duration_event_and_attribute() {
        assert_eq!(
            names(r#"span[service="ledger"]"#),
            ["ledger POST /holds", "ledger POST /holds/capture"]
        );
        assert_eq!(
            names(r#"span[service="ledger" name="POST /holds" http.response.status_code=201]"#),
            ["ledger POST /holds"]
        );
        assert_eq!(
            names("span[http.response.status_code>=200 http.response.status_code<300]").len(),
            1
        );
        assert_eq!(
            names("span[kind=server duration>100ms]"),
            ["edge POST /v1/payments", "payments POST /v1/payments"]
        );
        assert_eq!(names("span[status=error]"), ["payments POST /transfers"]);
        assert_eq!(
            names(r#"span[event="retry"]"#),
            ["payments POST /transfers"]
        );
        assert_eq!(
            names(r#"span[event!="retry" service="payments" kind=client]"#).len(),
            2
        );
        assert!(names(r#"span[service="auth"]"#).is_empty());
    }

    #[test]
    fn descendants_children_and_positions() {
        assert_eq!(
            names(r#"span[service="edge"] span[service="ledger"]"#).len(),
            2
        );
        assert!(names(r#"span[service="edge"] > span[service="ledger"]"#).is_empty());
        assert_eq!(
            names(r#"span[name="POST /holds" kind=client] > span"#),
            ["ledger POST /holds"]
        );
        assert!(names(r#"span[service="ledger"] span[service="edge"]"#).is_empty());
        assert_eq!(
            names(r#"span[service="ledger"]:first"#),
            ["ledger POST /holds"]
        );
        assert_eq!(
            names(r#"span[service="ledger"]:last"#),
            ["ledger POST /holds/capture"]
        );
        assert_eq!(
            names(r#"span[service="payments"]:nth(2)"#),
            ["payments POST /holds"]
        );
        assert!(names(r#"span[service="payments"]:nth(9)"#).is_empty());
        assert_eq!(
            names("span:first span:last"),
            ["ledger POST /holds/capture"]
        );
    }

    fn check(selector: &str, assertion: &str) -> Result<(), String> {
        let trace = payment_trace();
        let selector = Selector::parse(selector).unwrap();
        let selection = selector.run(&trace);
        parse_assertions(assertion)
            .unwrap()
            .iter()
            .try_for_each(|a| a.check(&selector, &selection))
    }

    #[test]
    fn assertions_pass_and_fail_with_what_was_found() {
        assert_eq!(
            check(r#"span[name="POST /transfers"]"#, "count = 1"),
            Ok(())
        );
        assert_eq!(
            check(
                r#"span[service="ledger"]"#,
                "count <= 2 and duration < 100ms"
            ),
            Ok(())
        );
        let e = check(
            r#"span[service="ledger" name="POST /holds"]"#,
            "duration < 50ms",
        )
        .unwrap_err();
        assert!(e.contains("took 72.0ms"), "{e}");
        let e = check(r#"span[service="payments"]"#, "status != error").unwrap_err();
        assert!(
            e.contains("1 of 4 span(s)") && e.contains("POST /transfers"),
            "{e}"
        );
        let e = check(r#"span[service="ledger"]"#, "count = 1").unwrap_err();
        assert!(e.contains("selected 2 span(s)"), "{e}");
        let e = check(
            r#"span[service="ledger"]"#,
            "attr http.response.status_code = 201",
        )
        .unwrap_err();
        assert!(
            e.contains("has no attribute http.response.status_code"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_selection_names_the_step_and_the_closest_spans() {
        let e = check(r#"span[service="ledger" name="POST /hold"]"#, "count = 1").unwrap_err();
        assert!(
            e.contains(r#"no span matches `span[service="ledger" name="POST /hold"]`"#),
            "{e}"
        );
        assert!(
            e.contains(r#"closest: ledger: POST /holds (72.0ms): name is "POST /holds" where name="POST /hold" was wanted"#),
            "{e}"
        );
        let e = check(
            r#"span[service="edge"] > span[service="ledger"]"#,
            "duration < 1s",
        )
        .unwrap_err();
        assert!(e.contains("2 span(s) match it elsewhere"), "{e}");
    }
}
