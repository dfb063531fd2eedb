//! What runs after every scenario (`.after(steps::aftermath::after_scenario)`):
//! - faults the scenario left in force (it failed before undoing them) are undone, so the
//!   scenarios after it meet a whole platform;
//! - the trace ids it sent are recorded for the reports (`trace_log`);
//! - when it failed, the platform's log lines of its last trace are printed under the failure,
//!   found by trace id (every line about a request carries it), when the driver reads logs.

use cucumber::{event::ScenarioFinished, gherkin};
use futures::future::LocalBoxFuture;

use crate::{MinibankWorld, hooks::scenario_identity};

/// At most this many log lines are printed for one failure.
const MAX_LINES: usize = 60;

/// The after-scenario hook.
pub fn after_scenario<'a>(
    feature: &'a gherkin::Feature,
    _rule: Option<&'a gherkin::Rule>,
    scenario: &'a gherkin::Scenario,
    finished: &'a ScenarioFinished,
    world: Option<&'a mut MinibankWorld>,
) -> LocalBoxFuture<'a, ()> {
    Box::pin(async move {
        let Some(world) = world else { return };
        let trace_ids = world
            .trace_ids
            .lock()
            .map(|ids| ids.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        crate::trace_log::record(crate::trace_log::scenario_key(feature, scenario), trace_ids);
        let Ok(driver) = world.driver() else { return };
        let Some(process_faults) = driver.process_faults() else {
            return finish(world, feature, scenario, finished).await;
        };
        match process_faults.heal().await {
            Ok(undone) if !undone.is_empty() => {
                let undone: Vec<String> = undone.iter().map(|f| f.to_string()).collect();
                println!(
                    "      after {}: undid {}",
                    scenario_identity(feature, scenario),
                    undone.join(", ")
                );
            }
            Ok(_) => {}
            Err(e) => println!("      could not undo the scenario's faults: {e:#}"),
        }
        finish(world, feature, scenario, finished).await;
    })
}

/// After the faults are undone: a failed scenario's log lines.
async fn finish(
    world: &MinibankWorld,
    feature: &gherkin::Feature,
    scenario: &gherkin::Scenario,
    finished: &ScenarioFinished,
) {
    if matches!(finished, ScenarioFinished::StepFailed(..)) {
        print_log_lines(world, feature, scenario).await;
    }
}

async fn print_log_lines(
    world: &MinibankWorld,
    feature: &gherkin::Feature,
    scenario: &gherkin::Scenario,
) {
    let Ok(driver) = world.driver() else { return };
    let (Some(logs), Ok(last)) = (driver.logs(), world.last()) else {
        return;
    };
    let Some(trace_id) = last.trace_id() else {
        return;
    };
    let lines = logs.lines_mentioning(&trace_id).await;
    let mut report = format!(
        "      log lines of trace {trace_id} ({}; {} line(s){}):\n",
        scenario_identity(feature, scenario),
        lines.len(),
        if lines.len() > MAX_LINES {
            format!(", the last {MAX_LINES}")
        } else {
            String::new()
        }
    );
    for line in &lines[lines.len().saturating_sub(MAX_LINES)..] {
        report.push_str("        ");
        report.push_str(&line.to_string());
        report.push('\n');
    }
    print!("{report}");
}
