//! Every sentence in features/*.feature is one the steps understand, without starting a platform.

use std::path::PathBuf;

use cucumber::{World as _, feature::Ext as _, gherkin};
use steps::{MinibankWorld, catalogue};

fn feature_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../features"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("features/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .collect();
    files.sort();
    files
}

fn closest(text: &str) -> String {
    let mut scored: Vec<(f64, &str)> = catalogue::sentences()
        .into_iter()
        .map(|s| (strsim::jaro_winkler(text, s), s))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .iter()
        .take(3)
        .map(|(_, s)| format!("    {s}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_step_in_the_features_matches_exactly_one_definition() {
    let collection = MinibankWorld::collection();
    let mut problems = Vec::new();
    let mut scenarios = 0;
    let files = feature_files();
    assert!(
        files.len() >= 10,
        "expected at least 10 feature files, found {}",
        files.len()
    );
    for path in files {
        let feature = gherkin::Feature::parse_path(&path, gherkin::GherkinEnv::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .expand_examples()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let background = feature.background.iter().flat_map(|b| b.steps.iter());
        let rules = feature.rules.iter().flat_map(|r| {
            r.background
                .iter()
                .flat_map(|b| b.steps.iter())
                .chain(r.scenarios.iter().flat_map(|s| s.steps.iter()))
        });
        let all_scenarios: Vec<&gherkin::Scenario> = feature
            .scenarios
            .iter()
            .chain(feature.rules.iter().flat_map(|r| r.scenarios.iter()))
            .collect();
        scenarios += all_scenarios.len();
        let steps = background
            .chain(rules)
            .chain(feature.scenarios.iter().flat_map(|s| s.steps.iter()));
        for step in steps {
            match collection.find(step) {
                Ok(Some(_)) => {}
                Ok(None) => problems.push(format!(
                    "{name}:{}: undefined step `{}{}`; closest known sentences:\n{}",
                    step.position.line,
                    step.keyword,
                    step.value,
                    closest(&step.value)
                )),
                Err(e) => problems.push(format!(
                    "{name}:{}: ambiguous step `{}`: {e}",
                    step.position.line, step.value
                )),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        scenarios >= 50,
        "expected at least 50 scenarios, found {scenarios}"
    );
}

#[test]
fn every_needs_tag_names_a_known_capability() {
    for path in feature_files() {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for tag in text.split_whitespace().filter(|w| w.starts_with("@needs-")) {
            assert!(
                drivers::Capability::from_tag(tag).is_some(),
                "{}: unknown capability tag {tag}",
                path.display()
            );
        }
    }
}

/// The catalogue entry of the definition a step matched, by the definition's source location.
fn entry_at(location: &cucumber::step::Location) -> Option<&'static catalogue::StepEntry> {
    let file = location.path.rsplit('/').next().unwrap_or(location.path);
    catalogue::entries()
        .iter()
        .find(|e| e.file == file && (e.lines.0..=e.lines.1).contains(&location.line))
}

#[test]
fn scenarios_carry_the_tags_their_steps_need() {
    let collection = MinibankWorld::collection();
    let mut problems = Vec::new();
    for path in feature_files() {
        let feature = gherkin::Feature::parse_path(&path, gherkin::GherkinEnv::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .expand_examples()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let background: Vec<&gherkin::Step> = feature
            .background
            .iter()
            .flat_map(|b| b.steps.iter())
            .collect();
        for scenario in &feature.scenarios {
            let tags: Vec<&str> = feature
                .tags
                .iter()
                .chain(scenario.tags.iter())
                .map(|t| t.trim_start_matches('@'))
                .collect();
            for step in background.iter().copied().chain(scenario.steps.iter()) {
                let Ok(Some((_, _, Some(location), _))) = collection.find(step) else {
                    continue; // undefined steps are reported by the test above
                };
                let Some(entry) = entry_at(&location) else {
                    problems.push(format!(
                        "{name}: `{}` matched {location}, which the catalogue does not list",
                        step.value
                    ));
                    continue;
                };
                for need in &entry.needs {
                    if !tags.contains(&need.as_str()) {
                        problems.push(format!(
                            "{name}:{}: scenario `{}` uses `{}` and must be tagged @{need}",
                            scenario.position.line, scenario.name, step.value
                        ));
                    }
                }
                if tags.contains(&"staging-safe")
                    && entry.needs.iter().any(|n| n != "needs-operator")
                {
                    problems.push(format!(
                        "{name}:{}: scenario `{}` is @staging-safe but `{}` needs @{}",
                        scenario.position.line,
                        scenario.name,
                        step.value,
                        entry.needs.join(", @")
                    ));
                }
            }
        }
    }
    problems.dedup();
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
