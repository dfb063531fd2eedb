//! The living-documentation report: one self-contained HTML page per run
//! (`target/acceptance/report.html`) with every feature, scenario, step and request, and each
//! request's trace drawn as a waterfall; and the trace sink's own pages (`/trace/{id}`,
//! `/traces`), drawn by the same renderer.
//!
//! - [`run`]: what a run produced, as the page reads it (features, scenarios, steps,
//!   requests, log lines, the scenarios not run).
//! - [`trace_view`]: a trace made ready to draw: spans in tree order with depth, offsets,
//!   people's labels ([`crate::span_label`]), error marks and async hops.
//! - [`pack`]: traces written compactly, with one page-wide table of repeated strings.
//! - [`mask`]: tokens and secrets taken out of bodies and headers before they are kept.
//! - [`html`]: the page itself: inline CSS and JS from `assets/`, the data as JSON; traces
//!   in their own script blocks, parsed only when opened, so 1,000 scenarios stay quick.
//! - [`log_line`]: a structured platform log line as one readable line (the console's too).
//! - [`merge`]: the reports of a run split into shards (`--shard K/N`) joined into one set.

pub mod html;
pub mod log_line;
pub mod mask;
pub mod merge;
pub mod pack;
pub mod run;
pub mod trace_view;

pub use html::{TraceSummary, render_report, render_trace_list_page, render_trace_page};
pub use run::{
    Counts, FeatureReport, NotRunReport, RequestReport, RunReport, ScenarioReport, StepReport,
    WebhookReport,
};
pub use trace_view::TraceView;
