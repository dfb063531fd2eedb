//! Waiting until a trace is complete ("settled") before checking it.
//!
//! A trace is settled when every expected service has reported at least one span, every
//! selector the check needs selects at least one span (the webhook's delivery, for the
//! webhook's timing), and then either
//! - the expectation's own [`Completeness`] rule holds on a connected trace (a root present
//!   and every span's parent present): a structural expectation that says what the whole
//!   trace holds (a closed tree, exact counts) or whose verdict more spans cannot change (a
//!   table of spans that must be there) ends the wait at once, with no quiet period; or
//! - no new span arrived for a quiet period: for expectations that cannot say when the trace
//!   is complete (an absence, "at most N", "no span has an error"), only silence can.
//!
//! [`settle_outcome`] says which of the two ended the wait ([`SettledBy`]). A deadline bounds
//! the wait; when it passes, the error names the deadline, which services were expected and
//! which reported, which needed selectors still selected nothing, and how many spans arrived.
//! Late spans after a first fetch are handled by fetching again after every wake-up:
//! in-process the wake-up is the store's notification, over HTTP it is one poll interval (see
//! [`TraceFetcher::wait_for_more`]).

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::fetch::TraceFetcher;
use crate::model::{Trace, TraceId};
use crate::render::render_tree;
use crate::selector::Selector;
use crate::selector::shape::TreePattern;

/// Quiet period for in-process runs: exporters there flush every few milliseconds.
pub const DEFAULT_QUIET_PERIOD: Duration = Duration::from_millis(20);
/// Default bound on the whole wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A rule saying a trace is complete, given by a structural expectation: when it holds on a
/// connected trace, settling ends without a quiet period.
///
/// Only two kinds of rule are sound, and the constructors are named for them:
/// - the expectation states the whole of something ([`Completeness::tree`] for a closed tree,
///   [`Completeness::exactly`] for an exact count): once it holds, a further span would
///   contradict the expectation itself, so there is nothing left to wait for;
/// - the expectation only asks for spans to be there (a table of spans, "passes through", "a
///   span has this attribute"): its verdict more spans cannot change, so once it passes,
///   waiting cannot turn it into a failure ([`Completeness::when`] with the check itself).
///
/// Why connected matters: a service exports a span when it ends, after the spans it parented
/// (its own calls end first, and its exporter sends in order), so a span whose parent is not
/// in yet says more of that subtree is on its way. A connected trace can still grow where work
/// continues after its parent ended (the outbox's webhook delivery): an expectation that
/// states the whole trace must name that work too, or it is not the whole trace.
#[derive(Clone)]
pub struct Completeness {
    what: String,
    holds: Arc<dyn Fn(&Trace) -> bool + Send + Sync>,
}

impl Completeness {
    /// Complete once `selector` selects exactly `count` spans (`count` at least 1: a count
    /// of 0 is an absence, which only a quiet period can show).
    pub fn exactly(selector: Selector, count: usize) -> Option<Self> {
        (count > 0).then(|| Self {
            what: format!("`{selector}` selects exactly {count} span(s)"),
            holds: Arc::new(move |trace: &Trace| selector.select(trace).len() == count),
        })
    }

    /// Complete once the closed `tree` (no `...` line: it lists every span) matches the trace
    /// from its root. `None` for a tree with `...`, which says only part of the trace.
    pub fn tree(tree: &TreePattern) -> Option<Self> {
        if !tree.is_closed() || tree.roots.len() != 1 {
            return None;
        }
        let tree = tree.clone();
        Some(Self {
            what: format!(
                "the closed tree of {} span(s) matches the whole trace",
                tree.span_count()
            ),
            holds: Arc::new(move |trace: &Trace| {
                trace.roots().len() == 1
                    && tree.span_count() == trace.len()
                    && tree.check(trace).is_ok()
            }),
        })
    }

    /// Complete once `holds` does; `what` says what it is. Only for the two sound kinds above:
    /// the caller says in a comment which one its rule is.
    pub fn when(
        what: impl Into<String>,
        holds: impl Fn(&Trace) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            what: what.into(),
            holds: Arc::new(holds),
        }
    }

    /// True when `trace` is connected (a root, no span whose parent is missing) and the rule
    /// holds on it.
    pub fn holds_for(&self, trace: &Trace) -> bool {
        is_connected(trace) && (self.holds)(trace)
    }
}

impl fmt::Display for Completeness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl fmt::Debug for Completeness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Completeness({})", self.what)
    }
}

/// A root present and every span's parent present: no span is still waiting for its parent.
pub fn is_connected(trace: &Trace) -> bool {
    !trace.roots().is_empty() && trace.orphans().is_empty()
}

/// What "settled" means for one trace.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// `service.name`s that must each report at least one span.
    pub services: BTreeSet<String>,
    /// How long no new span may arrive before the trace counts as complete.
    pub quiet_period: Duration,
    /// The longest the whole wait may take.
    pub timeout: Duration,
    /// The fewest spans the trace must hold (at least 1).
    pub min_spans: usize,
    /// Selectors that must each select at least one span: what the check needs present.
    pub needs: Vec<Selector>,
    /// The structural rule that ends the wait without a quiet period, when the check has one.
    pub complete: Option<Completeness>,
    /// What an earlier settle of this trace saw: it held this many spans, unchanged since
    /// that instant, so the quiet period may count from there.
    pub unchanged_since: Option<(usize, Instant)>,
}

impl Expectation {
    /// Expect these services, with the default quiet period and timeout.
    pub fn services<I, S>(services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            services: services.into_iter().map(Into::into).collect(),
            quiet_period: DEFAULT_QUIET_PERIOD,
            timeout: DEFAULT_TIMEOUT,
            min_spans: 1,
            needs: Vec::new(),
            complete: None,
            unchanged_since: None,
        }
    }

    /// The same expectation with another quiet period (remote backends need seconds).
    pub fn quiet_for(mut self, quiet_period: Duration) -> Self {
        self.quiet_period = quiet_period;
        self
    }

    /// The same expectation with another deadline.
    pub fn within(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same expectation requiring at least `min_spans` spans.
    pub fn at_least_spans(mut self, min_spans: usize) -> Self {
        self.min_spans = min_spans.max(1);
        self
    }

    /// The same expectation also waiting until `selector` selects at least one span.
    pub fn needing(mut self, selector: Selector) -> Self {
        self.needs.push(selector);
        self
    }

    /// The same expectation, complete (no quiet period) once `rule` holds on a connected trace.
    pub fn complete_when(mut self, rule: Option<Completeness>) -> Self {
        self.complete = rule;
        self
    }

    /// The same expectation, knowing an earlier settle saw `span_count` spans unchanged since
    /// `since` (see [`Settled::unchanged_since`]): a second check of a trace that stayed
    /// quiet does not wait another quiet period.
    pub fn seen(mut self, span_count: usize, since: Instant) -> Self {
        self.unchanged_since = Some((span_count, since));
        self
    }

    /// The needed selectors that select nothing in `trace`, as text.
    pub fn missing_needs(&self, trace: &Trace) -> Vec<String> {
        self.needs
            .iter()
            .filter(|s| s.select(trace).is_empty())
            .map(ToString::to_string)
            .collect()
    }

    fn is_met_by(&self, trace: &Trace) -> bool {
        trace.len() >= self.min_spans.max(1)
            && self.services.is_subset(&trace.services())
            && self.missing_needs(trace).is_empty()
    }
}

/// Why a trace did not settle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct SettleError {
    /// The trace waited for.
    pub trace_id: TraceId,
    /// Where it was read from.
    pub source_description: String,
    /// The deadline the wait had.
    pub deadline: Duration,
    /// How long the wait lasted.
    pub waited: Duration,
    /// Services that had to report.
    pub expected: BTreeSet<String>,
    /// Services that did report.
    pub reported: BTreeSet<String>,
    /// Needed selectors that still selected no span.
    pub missing_needs: Vec<String>,
    /// Spans that arrived.
    pub span_count: usize,
    /// Spans required.
    pub min_spans: usize,
    /// The last fetch error, if the last fetch failed.
    pub last_fetch_error: Option<String>,
    /// The trace as last seen, rendered as a tree (empty when nothing arrived).
    pub tree: String,
}

impl SettleError {
    /// Services expected but not reported.
    pub fn missing(&self) -> BTreeSet<String> {
        self.expected.difference(&self.reported).cloned().collect()
    }

    fn describe(&self) -> String {
        let list = |set: &BTreeSet<String>| {
            if set.is_empty() {
                "none".to_owned()
            } else {
                set.iter().cloned().collect::<Vec<_>>().join(", ")
            }
        };
        let mut text = format!(
            "trace {} did not settle by its deadline of {:?} (waited {:?}, read from {}): \
             expected services [{}], reported [{}], missing [{}]; {} span(s) arrived (at least \
             {} required)",
            self.trace_id,
            self.deadline,
            self.waited,
            self.source_description,
            list(&self.expected),
            list(&self.reported),
            list(&self.missing()),
            self.span_count,
            self.min_spans,
        );
        if !self.missing_needs.is_empty() {
            text.push_str(&format!(
                "; still selecting nothing: {}",
                self.missing_needs
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(error) = &self.last_fetch_error {
            text.push_str(&format!("; last fetch failed: {error}"));
        }
        if !self.tree.is_empty() {
            text.push('\n');
            text.push_str(&self.tree);
        }
        text
    }
}

/// What ended the wait for a settled trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettledBy {
    /// The expectation's [`Completeness`] rule held on a connected trace (its text): no quiet
    /// period was waited.
    Structure(String),
    /// No new span arrived for this quiet period.
    Quiet(Duration),
}

/// A settled trace, what ended the wait, and what a later settle of it may reuse.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The trace.
    pub trace: Trace,
    /// Why it counts as complete.
    pub by: SettledBy,
    /// The span count and the instant since which it had not changed, when the wait ended
    /// (for [`Expectation::seen`]).
    pub unchanged_since: (usize, Instant),
}

/// Waits until `trace_id` meets `expectation` and is complete (by its structure, or quiet),
/// and returns it.
pub async fn settle(
    fetcher: &dyn TraceFetcher,
    trace_id: &TraceId,
    expectation: &Expectation,
) -> Result<Trace, SettleError> {
    settle_outcome(fetcher, trace_id, expectation)
        .await
        .map(|settled| settled.trace)
}

/// Like [`settle`], also saying what ended the wait.
pub async fn settle_outcome(
    fetcher: &dyn TraceFetcher,
    trace_id: &TraceId,
    expectation: &Expectation,
) -> Result<Settled, SettleError> {
    let started = Instant::now();
    let deadline = started + expectation.timeout;
    let mut latest: Option<Trace> = None;
    let mut last_error: Option<String>;
    let (mut count, mut last_change) = expectation.unchanged_since.unwrap_or((0, started));
    loop {
        match fetcher.fetch(trace_id).await {
            Ok(found) => {
                last_error = None;
                let new_count = found.as_ref().map_or(0, Trace::len);
                if new_count != count {
                    count = new_count;
                    last_change = Instant::now();
                }
                if found.is_some() {
                    latest = found;
                }
            }
            Err(error) => last_error = Some(error.to_string()),
        }
        let now = Instant::now();
        let complete = latest.as_ref().is_some_and(|t| expectation.is_met_by(t));
        let quiet_until = last_change + expectation.quiet_period;
        let by = match (&expectation.complete, &latest) {
            (Some(rule), Some(trace)) if complete && rule.holds_for(trace) => {
                Some(SettledBy::Structure(rule.to_string()))
            }
            _ if complete && now >= quiet_until => Some(SettledBy::Quiet(expectation.quiet_period)),
            _ => None,
        };
        if let Some(by) = by {
            if let Some(trace) = latest {
                return Ok(Settled {
                    trace,
                    by,
                    unchanged_since: (count, last_change),
                });
            }
        }
        if now >= deadline {
            return Err(SettleError {
                trace_id: trace_id.clone(),
                source_description: fetcher.describe(),
                deadline: expectation.timeout,
                waited: now - started,
                expected: expectation.services.clone(),
                reported: latest.as_ref().map(Trace::services).unwrap_or_default(),
                missing_needs: latest
                    .as_ref()
                    .map(|t| expectation.missing_needs(t))
                    .unwrap_or_else(|| expectation.needs.iter().map(ToString::to_string).collect()),
                span_count: latest.as_ref().map_or(0, Trace::len),
                min_spans: expectation.min_spans.max(1),
                last_fetch_error: last_error,
                tree: latest.as_ref().map(render_tree).unwrap_or_default(),
            });
        }
        let until = if complete {
            quiet_until.min(deadline)
        } else {
            deadline
        };
        fetcher.wait_for_more(trace_id, count, until).await;
    }
}
