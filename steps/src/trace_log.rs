//! The trace ids each finished scenario sent, for the run's reports: the after-scenario hook
//! records them here and the entry point reads them once the run is over.

use std::collections::BTreeMap;
use std::sync::Mutex;

use cucumber::gherkin;

static TRACE_IDS: Mutex<BTreeMap<String, Vec<String>>> = Mutex::new(BTreeMap::new());

/// A stable name for a scenario: `<feature file>:<line>: <scenario name>` (examples of an
/// outline have their own line).
pub fn scenario_key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> String {
    let file = feature
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| feature.name.clone());
    format!("{file}:{}: {}", scenario.position.line, scenario.name)
}

/// Records the trace ids of a finished scenario (a retry replaces the earlier attempt's).
pub fn record(key: String, trace_ids: Vec<String>) {
    lock().insert(key, trace_ids);
}

/// Every scenario's trace ids, by [`scenario_key`].
pub fn all() -> BTreeMap<String, Vec<String>> {
    lock().clone()
}

fn lock() -> std::sync::MutexGuard<'static, BTreeMap<String, Vec<String>>> {
    TRACE_IDS.lock().unwrap_or_else(|e| e.into_inner())
}
