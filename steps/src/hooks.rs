//! Hooks the entry point registers: `.before(steps::hooks::before_scenario)`.

use cucumber::gherkin;
use futures::future::LocalBoxFuture;

use crate::MinibankWorld;

/// Gives the scenario its namespace, derived from the run seed and the scenario's identity
/// (feature path, scenario name and line, so each Examples row differs).
pub fn before_scenario<'a>(
    feature: &'a gherkin::Feature,
    _rule: Option<&'a gherkin::Rule>,
    scenario: &'a gherkin::Scenario,
    world: &'a mut MinibankWorld,
) -> LocalBoxFuture<'a, ()> {
    Box::pin(async move {
        world.enter_scenario(&scenario_identity(feature, scenario));
    })
}

/// A stable identity for a scenario: `<feature file name>:<line>:<scenario name>`.
pub fn scenario_identity(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> String {
    let file = feature
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| feature.name.clone());
    format!("{file}:{}:{}", scenario.position.line, scenario.name)
}
