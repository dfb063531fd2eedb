//! The run's HTML report (`report.html` beside the JUnit and JSON reports): put together from
//! what the watching writers saw (verdicts, steps and their times), what the steps filed
//! (requests, webhooks, log lines) and the traces, read from the driver's trace backend before
//! the platform stops; drawn by `harness::report`.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use futures::StreamExt as _;
use harness::{
    fetch::TraceFetcher,
    model::TraceId,
    report::{
        Counts, FeatureReport, NotRunReport, RequestReport, RunReport, ScenarioReport, StepReport,
        TraceView, WebhookReport,
    },
};
use steps::exchange_log::Evidence;

use crate::{
    capability_filter::NotRun,
    outcome::{Outcome, Verdict},
    scenario_record::Record,
};

/// How many traces are read from a remote backend at once.
const FETCHES_AT_ONCE: usize = 16;

/// The page anchor of a scenario, from its key `<file>:<line>: <name>`: `s-<file>-<line>`.
pub fn scenario_anchor(key: &str) -> String {
    let place = key.split(": ").next().unwrap_or(key);
    let slug: String = place
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("s-{slug}")
}

/// Every trace the run's requests and webhooks belong to, laid out for drawing. Read before
/// the driver stops (the in-process sink goes with it); a trace that cannot be read is left
/// out and its request says so in the page.
pub async fn collect_traces(
    fetcher: Arc<dyn TraceFetcher>,
    evidence: &BTreeMap<String, Evidence>,
) -> BTreeMap<String, TraceView> {
    let ids: BTreeSet<String> = evidence
        .values()
        .flat_map(|e| {
            e.requests
                .iter()
                .filter_map(|r| r.trace_id.clone())
                .chain(e.webhooks.iter().filter_map(|w| w.trace_id.clone()))
        })
        .collect();
    futures::stream::iter(ids)
        .map(|id| {
            let fetcher = fetcher.clone();
            async move {
                let trace = fetcher.fetch(&TraceId::parse(&id).ok()?).await.ok()??;
                Some((id, TraceView::of(&trace)))
            }
        })
        .buffer_unordered(FETCHES_AT_ONCE)
        .filter_map(|found| async move { found })
        .collect()
        .await
}

/// Everything the report is made of.
pub struct RunFacts<'a> {
    /// Verdicts and counts.
    pub outcome: &'a Outcome,
    /// Features, scenarios and steps with their times.
    pub record: &'a Record,
    /// What each scenario sent and received.
    pub evidence: &'a BTreeMap<String, Evidence>,
    /// The traces, by id.
    pub traces: BTreeMap<String, TraceView>,
    /// Scenarios left out.
    pub not_run: &'a [NotRun],
    /// Driver name.
    pub driver: &'a str,
    /// The run's seed.
    pub seed: u64,
    /// The replay command.
    pub replay: String,
    /// When the run started.
    pub started: SystemTime,
    /// The whole run.
    pub wall_time: Duration,
}

/// The report's data.
pub fn run_report(facts: RunFacts<'_>) -> RunReport {
    let since = |t: SystemTime| ms(t.duration_since(facts.started).unwrap_or_default());
    let mut features: Vec<FeatureReport> = facts
        .record
        .features
        .iter()
        .map(|f| FeatureReport {
            name: f.name.clone(),
            file: f.file.clone(),
            tags: f.tags.clone(),
            scenarios: Vec::new(),
        })
        .collect();
    let mut requests = 0;
    for (key, sc) in &facts.record.scenarios {
        let verdict = facts.outcome.scenarios.get(key).copied();
        let evidence = facts.evidence.get(key).cloned().unwrap_or_default();
        requests += evidence.requests.len();
        let steps: Vec<StepReport> = sc
            .steps
            .iter()
            .map(|st| StepReport {
                keyword: st.keyword.clone(),
                text: st.text.clone(),
                status: st.status.to_owned(),
                duration_ms: ms(st.finished.duration_since(st.started).unwrap_or_default()),
                error: st.error.clone(),
                docstring: st.docstring.clone(),
                table: st.table.clone(),
                background: st.background,
                trace_id: evidence
                    .requests
                    .iter()
                    .filter(|r| r.sent_at >= st.started && r.sent_at <= st.finished)
                    .filter_map(|r| r.trace_id.clone())
                    .next_back(),
            })
            .collect();
        let failed = verdict == Some(Verdict::Failed);
        let failure = failed.then(|| {
            steps
                .iter()
                .find_map(|s| s.error.clone())
                .or_else(|| sc.hook_error.clone())
                .unwrap_or_else(|| "failed".to_owned())
        });
        let failure_trace = failed
            .then(|| {
                evidence.log_trace_id.clone().or_else(|| {
                    evidence
                        .requests
                        .iter()
                        .rev()
                        .find_map(|r| r.trace_id.clone())
                })
            })
            .flatten();
        let report = ScenarioReport {
            id: scenario_anchor(key),
            key: key.clone(),
            name: sc.name.clone(),
            line: sc.line,
            tags: sc.tags.clone(),
            status: if failed { "failed" } else { "passed" }.to_owned(),
            start_ms: since(sc.started),
            end_ms: since(sc.finished),
            steps,
            failure,
            failure_trace,
            requests: evidence
                .requests
                .iter()
                .map(|r| RequestReport {
                    method: r.method.clone(),
                    path: r.path.clone(),
                    status: r.status,
                    error: r.error.clone(),
                    request_headers: r.request_headers.clone(),
                    request_body: r.request_body.clone(),
                    response_body: r.response_body.clone(),
                    start_ms: since(r.sent_at),
                    duration_ms: ms(r.duration),
                    trace_id: r.trace_id.clone(),
                })
                .collect(),
            webhooks: evidence
                .webhooks
                .iter()
                .map(|w| WebhookReport {
                    trace_id: w.trace_id.clone(),
                    headers: w.headers.clone(),
                    body: w.body.clone(),
                    answered: w.answered,
                })
                .collect(),
            log_lines: evidence.log_lines.clone(),
        };
        match features.iter_mut().find(|f| f.file == sc.file) {
            Some(feature) => feature.scenarios.push(report),
            None => features.push(FeatureReport {
                name: sc.file.clone(),
                file: sc.file.clone(),
                tags: Vec::new(),
                scenarios: vec![report],
            }),
        }
    }
    features.retain(|f| !f.scenarios.is_empty());
    for feature in &mut features {
        feature.scenarios.sort_by_key(|s| s.line);
    }
    let mut problems: Vec<String> = facts
        .outcome
        .undefined
        .iter()
        .map(|(sentence, at)| format!("undefined step `{sentence}` at {at}"))
        .collect();
    problems.extend(
        facts
            .outcome
            .parse_errors
            .iter()
            .map(|e| format!("parse error: {e}")),
    );
    RunReport {
        driver: facts.driver.to_owned(),
        seed: facts.seed.to_string(),
        replay: facts.replay,
        started_at: rfc3339(facts.started),
        wall_ms: ms(facts.wall_time),
        counts: Counts {
            passed: facts.outcome.passed(),
            failed: facts.outcome.failed(),
            not_run: facts.not_run.len(),
            steps_passed: facts.outcome.steps_passed,
            steps_failed: facts.outcome.steps_failed,
            requests,
        },
        features,
        not_run: facts
            .not_run
            .iter()
            .map(|nr| NotRunReport {
                scenario: nr.scenario.clone(),
                reason: nr.reason.clone(),
            })
            .collect(),
        problems,
        traces: facts.traces,
    }
}

/// What the report cost the run (the summary shows it; BENCHMARKS.md records it).
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    /// Reading every trace from the driver's backend.
    pub traces_read: Duration,
    /// Laying out, rendering and writing the page.
    pub written: Duration,
    /// The page's size.
    pub bytes: usize,
}

/// Writes the page to `path` (whole, or not at all: a temporary file is renamed into place);
/// returns its size.
pub fn write(run: &RunReport, path: &Path) -> anyhow::Result<usize> {
    let page = harness::report::render_report(run);
    let partial = path.with_extension("html.partial");
    std::fs::write(&partial, &page).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(page.len())
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// `2026-11-29T16:25:13Z` (UTC, seconds), without a date crate.
fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}
