//! Structural expectations built on selector predicates: a table of spans that must each be
//! found, and an indented tree the trace must have.
//!
//! A tree is written one span per line, `service span name`, indented under its parent
//! (spaces only). Children are matched order-insensitively to distinct child spans, and a
//! span's children must all be listed unless a `...` line stands among them: `...` alone
//! allows any other children; lines indented under `...` may match at any depth below.

use std::fmt;

use super::matcher::{Indexed, holds, near_misses};
use super::{Key, Predicate, Step, Value};
use crate::model::{Span, Trace};
use crate::span_label::span_label;

/// One row of an expected-spans table: a step whose predicates must all hold for some span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSpan {
    /// How the row is named in a failure (`row 2`, ...).
    pub label: String,
    /// The predicates (service, name, duration, status).
    pub step: Step,
}

/// Checks that every row matches at least one span; the error names each row that matched
/// nothing and the spans that came closest to it.
pub fn expect_spans(trace: &Trace, rows: &[ExpectedSpan]) -> Result<(), String> {
    let index = Indexed::new(trace);
    let mut failures = Vec::new();
    for row in rows {
        let found = index
            .spans
            .iter()
            .any(|s| row.step.predicates.iter().all(|p| holds(p, s)));
        if found {
            continue;
        }
        let mut text = format!("{} `{}` matched no span", row.label, row.step);
        for miss in near_misses(&row.step, &index.spans, 3) {
            text.push_str(&format!("\n  closest: {miss}"));
        }
        failures.push(text);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} expected span(s) not found:\n{}",
            failures.len(),
            rows.len(),
            failures.join("\n")
        ))
    }
}

/// A line of a tree pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `service span name`: one span.
    Span {
        /// The service that reported it.
        service: String,
        /// Its name.
        name: String,
        /// The lines indented under it.
        children: Vec<Node>,
        /// Line number in the doc string (1-based).
        line: usize,
    },
    /// `...`: any other subtree; its own children may match at any depth.
    Any {
        /// The lines indented under it.
        children: Vec<Node>,
        /// Line number in the doc string (1-based).
        line: usize,
    },
}

/// Why a tree pattern could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the tree: {message}")]
pub struct TreeError {
    /// 1-based line in the doc string.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// An indented tree of spans the trace must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreePattern {
    /// The top lines (each must match some span of the trace, with its subtree).
    pub roots: Vec<Node>,
}

impl TreePattern {
    /// Reads an indented tree; `...` lines stand for any subtree.
    pub fn parse(text: &str) -> Result<Self, TreeError> {
        // (indent, node) for the lines still open, innermost last.
        let mut open: Vec<(usize, Node)> = Vec::new();
        let mut roots = Vec::new();
        fn close(open: &mut Vec<(usize, Node)>, roots: &mut Vec<Node>) {
            if let Some((_, node)) = open.pop() {
                match open.last_mut() {
                    Some((_, Node::Span { children, .. } | Node::Any { children, .. })) => {
                        children.push(node)
                    }
                    None => roots.push(node),
                }
            }
        }
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            if raw.starts_with('\t') || raw.trim_start_matches(' ').starts_with('\t') {
                return Err(TreeError {
                    line,
                    message: "indent with spaces, not tabs".into(),
                });
            }
            let indent = raw.len() - raw.trim_start().len();
            let content = raw.trim();
            let node = if content == "..." {
                Node::Any {
                    children: Vec::new(),
                    line,
                }
            } else {
                let Some((service, name)) = content.split_once(char::is_whitespace) else {
                    return Err(TreeError {
                        line,
                        message: format!(
                            "expected `service span name` or `...`, found only `{content}`"
                        ),
                    });
                };
                Node::Span {
                    service: service.to_owned(),
                    name: name.trim().to_owned(),
                    children: Vec::new(),
                    line,
                }
            };
            while open.last().is_some_and(|(at, _)| *at >= indent) {
                close(&mut open, &mut roots);
            }
            open.push((indent, node));
        }
        while !open.is_empty() {
            close(&mut open, &mut roots);
        }
        if roots.is_empty() {
            return Err(TreeError {
                line: 1,
                message: "the tree is empty".into(),
            });
        }
        Ok(Self { roots })
    }

    /// True when no `...` line stands anywhere in the tree: below its top lines it lists every
    /// span, so a trace it matches holds nothing else.
    pub fn is_closed(&self) -> bool {
        fn closed(node: &Node) -> bool {
            match node {
                Node::Span { children, .. } => children.iter().all(closed),
                Node::Any { .. } => false,
            }
        }
        self.roots.iter().all(closed)
    }

    /// How many `service span name` lines the tree has.
    pub fn span_count(&self) -> usize {
        fn count(node: &Node) -> usize {
            match node {
                Node::Span { children, .. } => 1 + children.iter().map(count).sum::<usize>(),
                Node::Any { children, .. } => children.iter().map(count).sum(),
            }
        }
        self.roots.iter().map(count).sum()
    }

    /// Checks the trace has this shape; the error says which line found nothing, what came
    /// closest, and shows the trace as a tree.
    pub fn check(&self, trace: &Trace) -> Result<(), String> {
        let index = Indexed::new(trace);
        let matcher = TreeMatcher { index: &index };
        for root in &self.roots {
            let all: Vec<usize> = (0..index.spans.len()).collect();
            if !all.iter().any(|&s| matcher.matches(root, s)) {
                return Err(matcher.explain_top(root));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Span { service, name, .. } => write!(f, "{service} {name}"),
            Self::Any { .. } => f.write_str("..."),
        }
    }
}

struct TreeMatcher<'i, 'a> {
    index: &'i Indexed<'a>,
}

impl TreeMatcher<'_, '_> {
    fn span(&self, i: usize) -> &Span {
        self.index.spans[i]
    }

    fn is(&self, node: &Node, s: usize) -> bool {
        match node {
            Node::Span { service, name, .. } => {
                let span = self.span(s);
                span.service() == service && &span.name == name
            }
            Node::Any { .. } => true,
        }
    }

    fn matches(&self, node: &Node, s: usize) -> bool {
        match node {
            Node::Span { children, .. } => self.is(node, s) && self.children_match(children, s),
            Node::Any { .. } => true,
        }
    }

    fn descendants(&self, s: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = self.index.children(s);
        while let Some(c) = stack.pop() {
            if out.len() > self.index.spans.len() {
                break;
            }
            out.push(c);
            stack.extend(self.index.children(c));
        }
        out
    }

    fn children_match(&self, patterns: &[Node], s: usize) -> bool {
        let children = self.index.children(s);
        let direct: Vec<&Node> = patterns
            .iter()
            .filter(|p| matches!(p, Node::Span { .. }))
            .collect();
        let open = patterns.iter().any(|p| matches!(p, Node::Any { .. }));
        if !open && direct.len() != children.len() {
            return false;
        }
        let deep_ok = patterns.iter().all(|p| match p {
            Node::Any { children: deep, .. } => {
                let below = self.descendants(s);
                deep.iter()
                    .all(|d| below.iter().any(|&b| self.matches(d, b)))
            }
            Node::Span { .. } => true,
        });
        deep_ok && self.assign(&direct, &children, &mut vec![false; children.len()])
    }

    /// Backtracking: each pattern to a distinct child it matches.
    fn assign(&self, patterns: &[&Node], children: &[usize], used: &mut Vec<bool>) -> bool {
        let Some((first, rest)) = patterns.split_first() else {
            return true;
        };
        for (k, &c) in children.iter().enumerate() {
            if !used[k] && self.matches(first, c) {
                used[k] = true;
                if self.assign(rest, children, used) {
                    return true;
                }
                used[k] = false;
            }
        }
        false
    }

    fn line(node: &Node) -> usize {
        match node {
            Node::Span { line, .. } | Node::Any { line, .. } => *line,
        }
    }

    fn closest(&self, node: &Node, among: &[usize]) -> String {
        let Node::Span { service, name, .. } = node else {
            return String::new();
        };
        let step = Step::with(vec![
            Predicate::eq(Key::Service, Value::Text(service.clone())),
            Predicate::eq(Key::Name, Value::Text(name.clone())),
        ]);
        let spans: Vec<&Span> = among.iter().map(|&i| self.span(i)).collect();
        near_misses(&step, &spans, 3)
            .iter()
            .map(|m| format!("\n  closest: {m}"))
            .collect()
    }

    fn explain_top(&self, root: &Node) -> String {
        let all: Vec<usize> = (0..self.index.spans.len()).collect();
        match all.iter().find(|&&s| self.is(root, s)) {
            Some(&s) => self.explain(root, s),
            None => format!(
                "line {}: no span is `{root}`{}",
                Self::line(root),
                self.closest(root, &all)
            ),
        }
    }

    /// Why `node` (whose own service and name match span `s`) does not match there.
    fn explain(&self, node: &Node, s: usize) -> String {
        let Node::Span {
            children: patterns, ..
        } = node
        else {
            return String::new();
        };
        let children = self.index.children(s);
        let label = span_label(self.span(s));
        let listed = |ids: &[usize]| {
            ids.iter()
                .map(|&c| format!("`{} {}`", self.span(c).service(), self.span(c).name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for pattern in patterns {
            match pattern {
                Node::Span { .. } => {
                    if children.iter().any(|&c| self.matches(pattern, c)) {
                        continue;
                    }
                    if let Some(&c) = children.iter().find(|&&c| self.is(pattern, c)) {
                        return self.explain(pattern, c);
                    }
                    return format!(
                        "line {}: `{label}` has no child `{pattern}`; its children are [{}]{}",
                        Self::line(pattern),
                        listed(&children),
                        self.closest(pattern, &children)
                    );
                }
                Node::Any { children: deep, .. } => {
                    let below = self.descendants(s);
                    if let Some(d) = deep
                        .iter()
                        .find(|d| !below.iter().any(|&b| self.matches(d, b)))
                    {
                        return match below.iter().find(|&&b| self.is(d, b)) {
                            Some(&b) => self.explain(d, b),
                            None => format!(
                                "line {}: nothing below `{label}` is `{d}`{}",
                                Self::line(d),
                                self.closest(d, &below)
                            ),
                        };
                    }
                }
            }
        }
        let direct = patterns
            .iter()
            .filter(|p| matches!(p, Node::Span { .. }))
            .count();
        if !patterns.iter().any(|p| matches!(p, Node::Any { .. })) && direct != children.len() {
            return format!(
                "line {}: `{label}` has {} child span(s) [{}] where the tree lists {direct}; add a `...` line to allow others",
                Self::line(node),
                children.len(),
                listed(&children)
            );
        }
        format!(
            "line {}: the lines under `{node}` need distinct child spans of `{label}`; its children are [{}]",
            Self::line(node),
            listed(&children)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StatusCode;
    use crate::selector::Op;
    use crate::selector::matcher::tests::payment_trace;

    fn row(label: &str, predicates: Vec<Predicate>) -> ExpectedSpan {
        ExpectedSpan {
            label: label.into(),
            step: Step::with(predicates),
        }
    }

    fn text(key: Key, value: &str) -> Predicate {
        Predicate::eq(key, Value::Text(value.into()))
    }

    #[test]
    fn a_table_passes_when_each_row_finds_a_span_in_any_order() {
        let trace = payment_trace();
        let rows = vec![
            row(
                "row 1",
                vec![
                    text(Key::Service, "ledger"),
                    text(Key::Name, "POST /holds/capture"),
                ],
            ),
            row(
                "row 2",
                vec![
                    text(Key::Service, "edge"),
                    text(Key::Name, "POST /v1/payments"),
                ],
            ),
        ];
        assert_eq!(expect_spans(&trace, &rows), Ok(()));
    }

    #[test]
    fn a_row_that_matched_nothing_shows_its_near_misses() {
        let trace = payment_trace();
        let slow = Predicate {
            key: Key::Duration,
            op: Op::Le,
            value: Value::Duration(50_000_000),
        };
        let rows = vec![
            row(
                "row 1",
                vec![
                    text(Key::Service, "ledger"),
                    text(Key::Name, "POST /holds"),
                    slow,
                ],
            ),
            row(
                "row 2",
                vec![
                    text(Key::Service, "payments"),
                    text(Key::Name, "POST /transfers"),
                    Predicate::eq(Key::Status, Value::Status(StatusCode::Ok)),
                ],
            ),
            row(
                "row 3",
                vec![
                    text(Key::Service, "edge"),
                    text(Key::Name, "POST /v1/payments"),
                ],
            ),
        ];
        let error = expect_spans(&trace, &rows).unwrap_err();
        assert!(
            error.starts_with("2 of 3 expected span(s) not found"),
            "{error}"
        );
        assert!(
            error.contains("took 72.0ms where duration<=50.0ms was wanted"),
            "{error}"
        );
        assert!(
            error.contains("status is error where status=ok was wanted"),
            "{error}"
        );
    }

    const TREE: &str = "
harness POST /v1/payments
  edge POST /v1/payments
    payments POST /v1/payments
      payments POST /holds
        ledger POST /holds
      ...
";

    #[test]
    fn a_tree_matches_structurally_with_dots_for_any_subtree() {
        let trace = payment_trace();
        TreePattern::parse(TREE).unwrap().check(&trace).unwrap();
        let deep = "edge POST /v1/payments\n  ...\n    ledger POST /holds/capture\n";
        TreePattern::parse(deep).unwrap().check(&trace).unwrap();
    }

    #[test]
    fn a_tree_fails_on_unlisted_children_a_wrong_name_or_a_wrong_parent() {
        let trace = payment_trace();
        let strict = TREE.replace("      ...\n", "");
        let error = TreePattern::parse(&strict)
            .unwrap()
            .check(&trace)
            .unwrap_err();
        assert!(
            error.contains("line 4") && error.contains("add a `...` line"),
            "{error}"
        );

        let wrong = TREE.replace("ledger POST /holds", "ledger POST /hold");
        let error = TreePattern::parse(&wrong)
            .unwrap()
            .check(&trace)
            .unwrap_err();
        assert!(
            error.contains("line 6") && error.contains("has no child `ledger POST /hold`"),
            "{error}"
        );
        assert!(error.contains("closest"), "{error}");

        let misplaced = "edge POST /v1/payments\n  ledger POST /holds\n  ...\n";
        let error = TreePattern::parse(misplaced)
            .unwrap()
            .check(&trace)
            .unwrap_err();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn a_tree_line_needs_a_service_and_a_name() {
        let error = TreePattern::parse("edge POST /x\n  ledger\n").unwrap_err();
        assert_eq!(error.line, 2);
        assert!(TreePattern::parse("\n\n").is_err());
        assert!(TreePattern::parse("edge X\n\tledger Y").is_err());
    }

    #[test]
    fn a_tree_without_dots_is_closed_and_counts_its_span_lines() {
        let closed =
            TreePattern::parse("edge A\n  payments B\n    ledger C\n    ledger D\n").unwrap();
        assert!(closed.is_closed());
        assert_eq!(closed.span_count(), 4);
        let open = TreePattern::parse("edge A\n  ...\n    ledger C\n").unwrap();
        assert!(!open.is_closed());
        assert_eq!(open.span_count(), 2, "`...` is not a span");
    }
}
