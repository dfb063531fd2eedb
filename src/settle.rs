//! Waiting until a trace is complete ("settled") before checking it.
//!
//! A trace is settled when every expected service has reported at least one span, every
//! selector the check needs selects at least one span (the webhook's delivery, for the
//! webhook's timing), and no new span arrived for a quiet period. A deadline bounds the wait; when it passes,
//! the error names the deadline, which services were expected and which reported, which
//! needed selectors still selected nothing, and how many spans arrived. Late spans after a first fetch are handled by fetching again after every
//! wake-up: in-process the wake-up is the store's notification, over HTTP it is one
//! poll interval (see [`TraceFetcher::wait_for_more`]).

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::time::Instant;

use crate::fetch::TraceFetcher;
use crate::model::{Trace, TraceId};
use crate::render::render_tree;
use crate::selector::Selector;

/// Quiet period for in-process runs: exporters there flush every few milliseconds.
pub const DEFAULT_QUIET_PERIOD: Duration = Duration::from_millis(20);
/// Default bound on the whole wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What "settled" means for one trace.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Waits until `trace_id` meets `expectation` and has been quiet, and returns it.
pub async fn settle(
    fetcher: &dyn TraceFetcher,
    trace_id: &TraceId,
    expectation: &Expectation,
) -> Result<Trace, SettleError> {
    let started = Instant::now();
    let deadline = started + expectation.timeout;
    let mut latest: Option<Trace> = None;
    let mut last_error: Option<String>;
    let mut count = 0usize;
    let mut last_change = started;
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
        if complete && now >= quiet_until {
            if let Some(trace) = latest {
                return Ok(trace);
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
