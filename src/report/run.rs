//! What one run produced, in the shape the report page reads (serialised to JSON as is; read
//! back by `merge-reports`, which joins the shards of a split run into one page).
//!
//! Times are milliseconds from the run's start, so the page can lay every scenario on one
//! timeline without knowing clocks. Bodies and headers are already masked ([`super::mask`])
//! when they get here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::trace_view::TraceView;

/// The whole run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunReport {
    /// `in-process`, `containers` or `staging`.
    pub driver: String,
    /// The seed of every scenario's fake data, as text (a u64 does not fit a JS number).
    pub seed: String,
    /// The command that replays this run.
    pub replay: String,
    /// When the run started, as an RFC 3339 UTC time (for people).
    pub started_at: String,
    /// The whole run, driver boot included.
    pub wall_ms: f64,
    /// Scenario and step counts.
    pub counts: Counts,
    /// Every feature that had a scenario run, in file order.
    pub features: Vec<FeatureReport>,
    /// The scenarios left out, with the reason.
    pub not_run: Vec<NotRunReport>,
    /// Undefined steps and parse errors: what made the run fail outside any scenario.
    pub problems: Vec<String>,
    /// Every trace a request of the run belongs to, by trace id. Written into the page
    /// apart from the rest (one block per trace, parsed when opened).
    #[serde(skip)]
    pub traces: BTreeMap<String, TraceView>,
}

/// The counts at the top of the page.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Scenarios whose last attempt passed.
    pub passed: usize,
    /// Scenarios whose last attempt failed.
    pub failed: usize,
    /// Scenarios not run (missing capability, staging safety).
    pub not_run: usize,
    /// Steps that passed.
    pub steps_passed: usize,
    /// Steps that failed.
    pub steps_failed: usize,
    /// Requests the scenarios sent.
    pub requests: usize,
}

/// One feature file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeatureReport {
    /// The feature's name.
    pub name: String,
    /// The file name, e.g. `payments.feature`.
    pub file: String,
    /// The feature's own tags, without `@`.
    pub tags: Vec<String>,
    /// Its scenarios that ran, in file order.
    pub scenarios: Vec<ScenarioReport>,
}

/// One scenario run (its last attempt).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// An anchor id, unique in the page (`s-<file>-<line>`).
    pub id: String,
    /// `<file>:<line>: <name>`, as the console and the other reports name it.
    pub key: String,
    /// The scenario's name.
    pub name: String,
    /// Its line in the feature file.
    pub line: usize,
    /// Its tags and its feature's, without `@`.
    pub tags: Vec<String>,
    /// `passed` or `failed`.
    pub status: String,
    /// When it started, from the run's start.
    pub start_ms: f64,
    /// When it finished, from the run's start.
    pub end_ms: f64,
    /// Background steps first, then its own.
    pub steps: Vec<StepReport>,
    /// The first failure message, if it failed.
    pub failure: Option<String>,
    /// The trace of the failing step's last request, else of the scenario's last answer.
    pub failure_trace: Option<String>,
    /// Every request it sent, in order.
    pub requests: Vec<RequestReport>,
    /// Webhooks its merchants received, each attached to the trace it continued.
    pub webhooks: Vec<WebhookReport>,
    /// Readable platform log lines of its failing request (only when it failed).
    pub log_lines: Vec<String>,
}

/// One step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepReport {
    /// `Given`, `When`, ...
    pub keyword: String,
    /// The sentence.
    pub text: String,
    /// `passed`, `failed` or `skipped`.
    pub status: String,
    /// How long it took.
    pub duration_ms: f64,
    /// Its failure message.
    pub error: Option<String>,
    /// Its doc string.
    pub docstring: Option<String>,
    /// Its data table, rows of cells.
    pub table: Option<Vec<Vec<String>>>,
    /// Whether it comes from the feature's Background.
    pub background: bool,
    /// The trace of the last request sent while the step ran, if it sent any.
    pub trace_id: Option<String>,
}

/// One request a scenario sent and the answer it got.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RequestReport {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path on edge.
    pub path: String,
    /// The answer's status; `None` when no answer came.
    pub status: Option<u16>,
    /// Why no answer came.
    pub error: Option<String>,
    /// Headers sent (masked).
    pub request_headers: Vec<(String, String)>,
    /// Body sent (masked).
    pub request_body: String,
    /// Body received (masked).
    pub response_body: String,
    /// When it was sent, from the run's start.
    pub start_ms: f64,
    /// How long the answer took.
    pub duration_ms: f64,
    /// The trace it belongs to.
    pub trace_id: Option<String>,
}

/// A webhook a merchant endpoint received.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookReport {
    /// The trace it continued (from its `traceparent`).
    pub trace_id: Option<String>,
    /// Headers received (masked).
    pub headers: Vec<(String, String)>,
    /// The body (masked).
    pub body: String,
    /// What the endpoint answered.
    pub answered: u16,
}

/// A scenario left out.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NotRunReport {
    /// `<file>:<line>: <name>`.
    pub scenario: String,
    /// Why.
    pub reason: String,
}
