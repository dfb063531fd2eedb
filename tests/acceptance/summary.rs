//! The readable end of a run: counts, every scenario run with its verdict and trace id (each
//! failed one with its failure message, its platform log lines as readable one-line records
//! and the link to its trace in the HTML report), what was not run and why, undefined steps
//! with the closest known sentences (filled in with the step's own values, `steps::suggest`),
//! why nothing ran when nothing did, seed, driver, boot time, report paths, and the closing
//! line `acceptance: N passed, N failed` that CI reads.
//!
//! The log lines are printed here rather than when the scenario ends: scenarios run
//! concurrently, so lines printed then land among other scenarios' output.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    capability_filter::NotRun,
    outcome::{Outcome, Verdict},
};

/// Everything the summary shows.
pub struct Summary<'a> {
    /// What the run produced.
    pub outcome: &'a Outcome,
    /// Scenarios left out for a missing capability.
    pub not_run: &'a [NotRun],
    /// Why the run selected no scenario, when it selected none (the run then fails).
    pub nothing_ran: Option<String>,
    /// Steps' own counters.
    pub stats: steps::Stats,
    /// The run's seed.
    pub seed: u64,
    /// Driver name.
    pub driver: &'a str,
    /// Driver boot time.
    pub boot_time: Duration,
    /// Whole run, boot included.
    pub wall_time: Duration,
    /// Report files written.
    pub reports: &'a [PathBuf],
    /// The trace ids each scenario sent, by scenario key.
    pub traces: &'a crate::report_annotations::TraceIds,
    /// What each scenario sent, and its log lines when it failed, by scenario key.
    pub evidence: &'a BTreeMap<String, steps::exchange_log::Evidence>,
    /// Each scenario's steps (for the failure message), by scenario key.
    pub failures: &'a BTreeMap<String, crate::scenario_record::ScenarioRecord>,
    /// The HTML report, when it was written.
    pub html_report: Option<&'a Path>,
    /// What writing it cost.
    pub html_report_cost: Option<crate::html_report::Cost>,
    /// The run's `--shard K/N` (and `--shard-durations FILE`) flags, for its replay command.
    pub shard: Option<String>,
}

/// At most this many lines of a failure message are repeated in the summary.
const MESSAGE_LINES: usize = 12;

/// How many suggestions an undefined step gets.
const SUGGESTIONS: usize = 3;

impl Summary<'_> {
    /// Whether the run counts as failed for CI.
    pub fn failed(&self) -> bool {
        self.outcome.failed() > 0
            || self.nothing_ran.is_some()
            || !self.outcome.parse_errors.is_empty()
            || !self.outcome.undefined.is_empty()
    }

    /// The summary text, closing line last.
    pub fn render(&self) -> String {
        let o = self.outcome;
        let mut s = String::new();
        let _ = writeln!(s, "\n── acceptance summary ──");
        let _ = writeln!(
            s,
            "scenarios: {} passed, {} failed, {} not run",
            o.passed(),
            o.failed(),
            self.not_run.len()
        );
        let _ = writeln!(
            s,
            "steps:     {} passed, {} failed",
            o.steps_passed, o.steps_failed
        );
        let _ = writeln!(
            s,
            "traces checked: {} ({} complete by their check's structure, no quiet period); HTTP calls: {}",
            self.stats.traces_checked,
            self.stats.traces_complete_by_structure,
            self.stats.http_calls
        );
        // The scenarios that ran, with the trace of their last request: every one for a
        // staging replay (the release engineer's report), the failed ones elsewhere, where a
        // list of 100+ passes would bury them (the JUnit and Cucumber JSON reports list all).
        let list_passes = self.driver == "staging";
        for (scenario, verdict) in &o.scenarios {
            let ids = self
                .traces
                .get(scenario)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let trace = match ids {
                [] => "no trace".to_owned(),
                [only] => format!("trace {only}"),
                [.., last] => format!("trace {last} (+{} earlier)", ids.len() - 1),
            };
            match verdict {
                Verdict::Passed if list_passes => {
                    let _ = writeln!(s, "  passed: {scenario}; {trace}");
                }
                Verdict::Passed => {}
                Verdict::Failed => {
                    let _ = writeln!(s, "  failed: {scenario}; {trace} (seed {})", self.seed);
                    self.render_failure(&mut s, scenario);
                }
            }
        }
        let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for nr in self.not_run {
            by_reason.entry(&nr.reason).or_default().push(&nr.scenario);
        }
        for (reason, scenarios) in by_reason {
            let _ = writeln!(s, "  not run on driver {}: {reason}:", self.driver);
            for scenario in scenarios {
                let _ = writeln!(s, "      {scenario}");
            }
        }
        for (sentence, at) in &o.undefined {
            let _ = writeln!(
                s,
                "  undefined step `{sentence}` at {at}; closest known sentences:"
            );
            for known in steps::suggest::suggest(sentence, SUGGESTIONS) {
                let _ = writeln!(s, "      {}    ({})", known.filled, known.sentence);
            }
        }
        for e in &o.parse_errors {
            let _ = writeln!(s, "  parse error: {e}");
        }
        if let Some(why) = &self.nothing_ran {
            let _ = writeln!(s, "  no scenario ran: {why}; the run fails");
        }
        let _ = writeln!(
            s,
            "seed: {}{}",
            self.seed,
            if self.failed() {
                format!(" (replay: {})", self.replay_command())
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "driver: {} (boot {:.1} ms); wall time {:.2} s",
            self.driver,
            ms(self.boot_time),
            self.wall_time.as_secs_f64()
        );
        for path in self.reports {
            let cost = match self.html_report_cost {
                Some(c) if Some(path.as_path()) == self.html_report => format!(
                    " ({:.2} MB; traces read in {:.1} ms, page written in {:.1} ms)",
                    c.bytes as f64 / 1_000_000.0,
                    ms(c.traces_read),
                    ms(c.written)
                ),
                _ => String::new(),
            };
            let _ = writeln!(s, "report: {}{cost}", path.display());
        }
        let _ = writeln!(
            s,
            "acceptance: {} passed, {} failed",
            o.passed(),
            o.failed()
        );
        s
    }
}

impl Summary<'_> {
    /// The command that replays this run's fake data on the same driver.
    pub fn replay_command(&self) -> String {
        let driver = match self.driver {
            "in-process" => String::new(),
            other => format!("--driver {other} "),
        };
        let shard = self
            .shard
            .as_deref()
            .map(|flags| format!(" {flags}"))
            .unwrap_or_default();
        format!(
            "cargo test --test acceptance -- {driver}--seed {}{shard}",
            self.seed
        )
    }

    /// Under a failed scenario: its failure message, its log lines (only its own), and where
    /// to see its trace.
    fn render_failure(&self, s: &mut String, scenario: &str) {
        let message = self.failures.get(scenario).and_then(|record| {
            record
                .steps
                .iter()
                .find_map(|st| st.error.as_ref().map(|e| (st, e)))
        });
        if let Some((step, error)) = message {
            let _ = writeln!(s, "      step: {} {}", step.keyword, step.text);
            let lines: Vec<&str> = error.lines().collect();
            for line in lines.iter().take(MESSAGE_LINES) {
                let _ = writeln!(s, "      | {line}");
            }
            if lines.len() > MESSAGE_LINES {
                let _ = writeln!(
                    s,
                    "      | … {} more line(s) in the HTML report",
                    lines.len() - MESSAGE_LINES
                );
            }
        }
        let evidence = self.evidence.get(scenario);
        if let Some(evidence) = evidence.filter(|e| !e.log_lines.is_empty()) {
            let _ = writeln!(
                s,
                "      log lines of trace {} ({}):",
                evidence.log_trace_id.as_deref().unwrap_or("?"),
                evidence.log_lines.len()
            );
            for line in &evidence.log_lines {
                let _ = writeln!(s, "        {line}");
            }
        }
        let trace = evidence.and_then(|e| {
            e.log_trace_id
                .clone()
                .or_else(|| e.requests.iter().rev().find_map(|r| r.trace_id.clone()))
        });
        if let (Some(report), Some(trace)) = (self.html_report, trace) {
            let _ = writeln!(
                s,
                "      waterfall: file://{}#trace={trace}",
                report.display()
            );
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
