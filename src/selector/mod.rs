//! Span selectors and assertions: the trace-assertion language engineers write in features.
//!
//! ```text
//! span[service="payments" name="POST /v1/payments"] > span[service="ledger"]:first
//! ```
//! selects spans the way CSS selects elements: each `span[...]` step keeps the spans whose
//! predicates all hold; a step after whitespace keeps descendants of the spans the step
//! before kept, after `>` only their children; `:first`, `:last` and `:nth(n)` keep one span
//! of a step's spans (by start time, 1-based). An assertion (`count = 1`, `duration < 50ms`,
//! `status != error`, `attr http.response.status_code = 201`) is then made about the spans
//! selected. The grammar, as documented in `features/README.md`:
//!
//! ```text
//! selector   = step { [ ">" ] step }
//! step       = "span" [ "[" { predicate } "]" ] [ position ]
//! position   = ":first" | ":last" | ":nth(" integer ")"
//! predicate  = key op value
//! key        = "service" | "name" | "kind" | "status" | "duration" | "event" | attribute-key
//! op         = "=" | "!=" | "<" | "<=" | ">" | ">="
//! value      = string | number | duration | word
//! assertions = assertion { "and" assertion }
//! assertion  = "count" op integer | [ "attr" ] predicate
//! ```
//!
//! The text is read by a hand-written lexer ([`lexer`]) and recursive-descent parser
//! ([`parser`]); every error names the column and what was expected there. [`matcher`]
//! runs selectors over a [`crate::model::Trace`] and explains near misses; [`shape`] holds
//! the structural checks built on the same predicates (a table of expected spans, an
//! indented tree).

pub mod lexer;
pub mod matcher;
pub mod parser;
pub mod shape;

use std::fmt;

use crate::model::{SpanKind, StatusCode};

pub use matcher::{NearMiss, Selection};
pub use parser::{parse_assertions, parse_duration, parse_selector};

/// Why a selector or an assertion could not be read: where, what was expected, what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: expected {expected}, found {found}")]
pub struct SelectorError {
    /// 1-based column in the selector text, in characters.
    pub column: usize,
    /// What the parser could have accepted there.
    pub expected: String,
    /// What it found instead.
    pub found: String,
}

impl SelectorError {
    pub(crate) fn new(
        column: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            column,
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// A parsed selector: one or more steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// The steps, left to right; the first one's combinator is ignored.
    pub steps: Vec<Step>,
}

/// How a step relates to the spans the step before it kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combinator {
    /// Whitespace: any depth below.
    Descendant,
    /// `>`: directly below.
    Child,
}

/// One `span[...]:position` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How it relates to the step before.
    pub combinator: Combinator,
    /// Predicates that must all hold.
    pub predicates: Vec<Predicate>,
    /// Keep only one of the matching spans.
    pub position: Option<Position>,
}

impl Step {
    /// A step with these predicates, no position (for sentences that build selectors).
    pub fn with(predicates: Vec<Predicate>) -> Self {
        Self {
            combinator: Combinator::Descendant,
            predicates,
            position: None,
        }
    }
}

/// `:first`, `:last`, `:nth(n)` (1-based), by start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The earliest.
    First,
    /// The latest.
    Last,
    /// The n-th, 1-based.
    Nth(usize),
}

/// What a predicate looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The reporting service (`service.name`).
    Service,
    /// The span name.
    Name,
    /// The span kind (`server`, `client`, ...).
    Kind,
    /// The status code (`ok`, `error`, `unset`).
    Status,
    /// End minus start.
    Duration,
    /// The name of an event recorded on the span (`=`: has one; `!=`: has none).
    Event,
    /// A span attribute.
    Attr(String),
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// True when `ordering` (left compared with right) satisfies the operator.
    pub fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Self::Eq => ordering == Equal,
            Self::Ne => ordering != Equal,
            Self::Lt => ordering == Less,
            Self::Le => ordering != Greater,
            Self::Gt => ordering == Greater,
            Self::Ge => ordering != Less,
        }
    }
}

/// A value on the right of a comparison, already checked against its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text (a string, a bare word or a number written for an attribute).
    Text(String),
    /// A number, as written (compared numerically with `<`, `>`...).
    Number(String),
    /// A duration, nanoseconds.
    Duration(u64),
    /// A status code.
    Status(StatusCode),
    /// A span kind.
    Kind(SpanKind),
}

/// One `key op value` test on a span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate {
    /// What is tested.
    pub key: Key,
    /// How.
    pub op: Op,
    /// Against what.
    pub value: Value,
}

impl Predicate {
    /// `key = value`.
    pub fn eq(key: Key, value: Value) -> Self {
        Self {
            key,
            op: Op::Eq,
            value,
        }
    }
}

/// Something said about the spans a selector selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assertion {
    /// How many spans were selected.
    Count(Op, u64),
    /// Every selected span satisfies this (and at least one was selected).
    Each(Predicate),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service => f.write_str("service"),
            Self::Name => f.write_str("name"),
            Self::Kind => f.write_str("kind"),
            Self::Status => f.write_str("status"),
            Self::Duration => f.write_str("duration"),
            Self::Event => f.write_str("event"),
            Self::Attr(key) => f.write_str(key),
        }
    }
}

/// `72.3ms`, `1.2s`, `850us`: durations as people read them.
pub fn format_nanos(nanos: u64) -> String {
    if nanos >= 1_000_000_000 {
        format!("{:.2}s", nanos as f64 / 1e9)
    } else if nanos >= 1_000_000 {
        format!("{:.1}ms", nanos as f64 / 1e6)
    } else if nanos >= 1_000 {
        format!("{:.1}us", nanos as f64 / 1e3)
    } else {
        format!("{nanos}ns")
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => write!(f, "{text:?}"),
            Self::Number(digits) => f.write_str(digits),
            Self::Duration(nanos) => f.write_str(&format_nanos(*nanos)),
            Self::Status(code) => write!(f, "{code}"),
            Self::Kind(kind) => write!(f, "{kind}"),
        }
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.key, self.op, self.value)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("span")?;
        if !self.predicates.is_empty() {
            f.write_str("[")?;
            for (i, predicate) in self.predicates.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{predicate}")?;
            }
            f.write_str("]")?;
        }
        match self.position {
            Some(Position::First) => f.write_str(":first"),
            Some(Position::Last) => f.write_str(":last"),
            Some(Position::Nth(n)) => write!(f, ":nth({n})"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(match step.combinator {
                    Combinator::Descendant => " ",
                    Combinator::Child => " > ",
                })?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(op, n) => write!(f, "count {op} {n}"),
            Self::Each(predicate) => {
                write!(f, "{} {} {}", predicate.key, predicate.op, predicate.value)
            }
        }
    }
}
