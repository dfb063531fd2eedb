//! A cucumber writer that only watches, for the HTML report: every feature (name, file, tags)
//! and every scenario's last attempt (tags, when it started and finished, each step with its
//! status, duration, failure message, doc string and table). Times are the events' own
//! timestamps, so they are true even though the writers see events normalized (one scenario
//! after the other) while scenarios really ran concurrently.

use std::{collections::BTreeMap, sync::Arc, time::SystemTime};

use cucumber::{
    Event, World, Writer, cli,
    event::{self, Hook, RetryableScenario, Scenario, Step, StepError},
    gherkin, parser,
};
use parking_lot::Mutex;

/// One step as it ran.
#[derive(Debug, Clone)]
pub struct StepRecord {
    /// `Given`, `When`, ...
    pub keyword: String,
    /// The sentence.
    pub text: String,
    /// `passed`, `failed` or `skipped`; `running` if it never finished.
    pub status: &'static str,
    /// When it started.
    pub started: SystemTime,
    /// When it finished.
    pub finished: SystemTime,
    /// Its failure message.
    pub error: Option<String>,
    /// Its doc string.
    pub docstring: Option<String>,
    /// Its data table.
    pub table: Option<Vec<Vec<String>>>,
    /// From the Background.
    pub background: bool,
}

/// One scenario's last attempt.
#[derive(Debug, Clone)]
pub struct ScenarioRecord {
    /// The feature file name.
    pub file: String,
    /// Scenario name.
    pub name: String,
    /// Its line.
    pub line: usize,
    /// Its tags and its feature's (and its rule's), without `@`.
    pub tags: Vec<String>,
    /// When it started.
    pub started: SystemTime,
    /// When it finished.
    pub finished: SystemTime,
    /// Its steps, background first.
    pub steps: Vec<StepRecord>,
    /// A hook's failure, if a hook failed.
    pub hook_error: Option<String>,
}

/// A feature, as the report lists it.
#[derive(Debug, Clone)]
pub struct FeatureRecord {
    /// Its name.
    pub name: String,
    /// Its file name.
    pub file: String,
    /// Its tags, without `@`.
    pub tags: Vec<String>,
}

/// What the recorder saw.
#[derive(Debug, Default)]
pub struct Record {
    /// Features in the order they started.
    pub features: Vec<FeatureRecord>,
    /// Scenarios by `<file>:<line>: <name>` (the same key as the outcome and the steps' logs).
    pub scenarios: BTreeMap<String, ScenarioRecord>,
}

/// The watching writer; clones share one [`Record`].
#[derive(Debug, Clone, Default)]
pub struct ScenarioRecorder(pub Arc<Mutex<Record>>);

fn file_of(feature: &gherkin::Feature) -> String {
    feature
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| feature.name.clone())
}

/// The message of a step failure, without cucumber's `Step panicked. Captured output:` lead.
pub fn failure_message(error: &StepError) -> String {
    let text = error.to_string();
    text.strip_prefix("Step panicked. Captured output: ")
        .map(str::to_owned)
        .unwrap_or(text)
}

impl<W: World> Writer<W> for ScenarioRecorder {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<W>>>,
        _: &cli::Empty,
    ) {
        let Ok(Event { value, at, .. }) = event else {
            return;
        };
        let event::Cucumber::Feature(feature, feature_event) = value else {
            return;
        };
        let mut record = self.0.lock();
        let (rule, scenario, RetryableScenario { event, .. }) = match feature_event {
            event::Feature::Started => {
                record.features.push(FeatureRecord {
                    name: feature.name.clone(),
                    file: file_of(&feature),
                    tags: feature.tags.clone(),
                });
                return;
            }
            event::Feature::Scenario(sc, ev) => (None, sc, ev),
            event::Feature::Rule(rule, event::Rule::Scenario(sc, ev)) => (Some(rule), sc, ev),
            _ => return,
        };
        let key = steps::trace_log::scenario_key(&feature, &scenario);
        if matches!(event, Scenario::Started) {
            let mut tags = feature.tags.clone();
            if let Some(rule) = &rule {
                tags.extend(rule.tags.iter().cloned());
            }
            tags.extend(scenario.tags.iter().cloned());
            tags.dedup();
            // A retry starts afresh: the report shows the last attempt.
            record.scenarios.insert(
                key,
                ScenarioRecord {
                    file: file_of(&feature),
                    name: scenario.name.clone(),
                    line: scenario.position.line,
                    tags,
                    started: at,
                    finished: at,
                    steps: Vec::new(),
                    hook_error: None,
                },
            );
            return;
        }
        let Some(sc) = record.scenarios.get_mut(&key) else {
            return;
        };
        sc.finished = sc.finished.max(at);
        let (step, result, background) = match event {
            Scenario::Step(step, result) => (step, result, false),
            Scenario::Background(step, result) => (step, result, true),
            Scenario::Hook(_, Hook::Failed(_, info)) => {
                sc.hook_error = Some(
                    info.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| info.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                        .unwrap_or_else(|| "a hook failed".to_owned()),
                );
                return;
            }
            _ => return,
        };
        if matches!(result, Step::Started) {
            sc.steps.push(StepRecord {
                keyword: step.keyword.trim().to_owned(),
                text: step.value.clone(),
                status: "running",
                started: at,
                finished: at,
                error: None,
                docstring: step.docstring.clone(),
                table: step.table.as_ref().map(|t| t.rows.clone()),
                background,
            });
            return;
        }
        let Some(last) = sc.steps.last_mut() else {
            return;
        };
        last.finished = at;
        match result {
            Step::Passed(..) => last.status = "passed",
            Step::Skipped => {
                last.status = "skipped";
                last.error = Some("no step definition matches this sentence".to_owned());
            }
            Step::Failed(_, _, _, error) => {
                last.status = "failed";
                last.error = Some(failure_message(&error));
            }
            Step::Started => {}
        }
    }
}
