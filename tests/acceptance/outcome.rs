//! A cucumber writer that only watches: which scenarios passed or failed (their last attempt,
//! so retries count once), step counts, undefined steps and parse errors. The entry point
//! tees it next to the console, JUnit and JSON writers and reads it for the summary.

use std::{collections::BTreeMap, sync::Arc};

use cucumber::{
    Event, World, Writer, cli,
    event::{self, Hook, RetryableScenario, Scenario, Step, StepError},
    parser,
};
use parking_lot::Mutex;

/// Final state of one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every step passed.
    Passed,
    /// A step or hook failed, or a step was undefined.
    Failed,
}

/// What the run produced, as far as the summary cares.
#[derive(Debug, Default)]
pub struct Outcome {
    /// `feature path:line: scenario name` -> verdict of the last attempt.
    pub scenarios: BTreeMap<String, Verdict>,
    /// Steps that passed (every attempt).
    pub steps_passed: usize,
    /// Steps that failed (every attempt), undefined ones included.
    pub steps_failed: usize,
    /// Sentences of undefined steps, with where they are.
    pub undefined: Vec<(String, String)>,
    /// Feature files that could not be parsed.
    pub parse_errors: Vec<String>,
}

impl Outcome {
    /// Scenarios whose last attempt passed.
    pub fn passed(&self) -> usize {
        self.count(Verdict::Passed)
    }
    /// Scenarios whose last attempt failed.
    pub fn failed(&self) -> usize {
        self.count(Verdict::Failed)
    }
    fn count(&self, verdict: Verdict) -> usize {
        self.scenarios.values().filter(|v| **v == verdict).count()
    }
}

/// The watching writer; clones share one [`Outcome`].
#[derive(Debug, Clone, Default)]
pub struct OutcomeWriter(pub Arc<Mutex<Outcome>>);

impl<W: World> Writer<W> for OutcomeWriter {
    type Cli = cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<W>>>,
        _: &cli::Empty,
    ) {
        let mut outcome = self.0.lock();
        let event = match event {
            Ok(event) => event.value,
            Err(e) => {
                outcome.parse_errors.push(e.to_string());
                return;
            }
        };
        let event::Cucumber::Feature(feature, feature_event) = event else {
            return;
        };
        let (scenario, RetryableScenario { event, .. }) = match feature_event {
            event::Feature::Scenario(sc, ev) => (sc, ev),
            event::Feature::Rule(_, event::Rule::Scenario(sc, ev)) => (sc, ev),
            _ => return,
        };
        let key = scenario_key(&feature, &scenario);
        match event {
            Scenario::Started => {
                outcome.scenarios.insert(key, Verdict::Passed);
            }
            Scenario::Hook(_, Hook::Failed(..)) => {
                outcome.scenarios.insert(key, Verdict::Failed);
            }
            Scenario::Step(step, result) | Scenario::Background(step, result) => match result {
                Step::Passed(..) => outcome.steps_passed += 1,
                Step::Skipped | Step::Failed(_, _, _, StepError::NotFound) => {
                    outcome.steps_failed += 1;
                    let at = format!("{key} (line {})", step.position.line);
                    outcome
                        .undefined
                        .push((format!("{} {}", step.keyword.trim(), step.value), at));
                    outcome.scenarios.insert(key, Verdict::Failed);
                }
                Step::Failed(..) => {
                    outcome.steps_failed += 1;
                    outcome.scenarios.insert(key, Verdict::Failed);
                }
                Step::Started => {}
            },
            Scenario::Log(_) | Scenario::Finished | Scenario::Hook(..) => {}
        }
    }
}

/// A stable name for a scenario: `<feature file>:<line>: <scenario name>` (shared with the
/// steps' trace log, so both name a scenario alike).
pub use steps::trace_log::scenario_key;
