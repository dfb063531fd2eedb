//! What runs after every scenario (`.after(steps::aftermath::after_scenario)`):
//! - faults the scenario left in force (it failed before undoing them) are undone, so the
//!   scenarios after it meet a whole platform;
//! - the trace ids it sent are recorded for the reports (`trace_log`), and so is its evidence
//!   (`exchange_log`): its requests, its merchants' webhooks and, when it failed, the
//!   platform's log lines of its last trace as readable one-line records, found by trace id
//!   (every line about a request carries it) when the driver reads logs. They are not printed
//!   here: scenarios finish concurrently, so the run summary prints them, each under its own
//!   failed scenario.

use cucumber::{event::ScenarioFinished, gherkin};
use futures::future::LocalBoxFuture;

use crate::{MinibankWorld, hooks::scenario_identity};

/// At most this many log lines are kept for one failure (the last ones).
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
        if let Ok(driver) = world.driver()
            && let Some(process_faults) = driver.process_faults()
        {
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
        }
        let failed = matches!(finished, ScenarioFinished::StepFailed(..));
        let evidence = crate::exchange_log::gather(world, failed, MAX_LINES).await;
        crate::exchange_log::file(crate::trace_log::scenario_key(feature, scenario), evidence);
    })
}
