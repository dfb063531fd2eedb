//! The acceptance entry point run the way people run it: the real `acceptance` test binary,
//! with the flags of `cargo test --test acceptance -- …`, judged by its exit code and output.
//!
//! The binary is the `acceptance` test target of this package, built next to this test in
//! cargo's `deps` folder (`cargo test -p steps` builds every test target before running any).
//! Cargo gives no `CARGO_BIN_EXE_…` for test targets, so it is found there, newest first.
//! Only one case starts a platform (in-process, on one small feature); the others stop before.

use cucumber::gherkin;
use std::{
    fs,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::SystemTime,
};

/// The workspace root: the acceptance binary resolves plain `--input` paths from there too,
/// but running it there makes the paths in its output the ones people see.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the steps crate sits in the workspace")
        .to_owned()
}

/// The newest `acceptance-<hash>` executable in the folder this test binary runs from.
fn acceptance_binary() -> PathBuf {
    let me = std::env::current_exe().expect("this test's own path");
    let deps = me.parent().expect("test binaries live in a folder");
    let is_acceptance = |path: &Path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("acceptance-"))
            .is_some_and(|hash| !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let newest = fs::read_dir(deps)
        .expect("the test binaries' folder can be listed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_acceptance(p) && p.is_file())
        .max_by_key(|p| {
            fs::metadata(p)
                .and_then(|m| m.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH)
        });
    newest.unwrap_or_else(|| {
        panic!(
            "no acceptance binary in {}: build it with `cargo test -p steps --test acceptance --no-run`",
            deps.display()
        )
    })
}

/// A scratch folder of this test, emptied first (cargo's per-target temporary folder).
fn scratch(name: &str) -> PathBuf {
    let dir = scratch_path(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Where the scratch folder `name` is.
fn scratch_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("acceptance_binary")
        .join(name)
}

/// Runs the acceptance binary with `args` from the workspace root, its reports kept apart.
fn acceptance(case: &str, args: &[&str]) -> (Output, String) {
    let reports = scratch(&format!("{case}-reports"));
    let output = Command::new(acceptance_binary())
        .args(args)
        .arg("--report-dir")
        .arg(&reports)
        .current_dir(workspace_root())
        .output()
        .expect("the acceptance binary starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

/// The passed scenarios of the summary's `scenarios: N passed, M failed, K not run` line.
fn passed_scenarios(text: &str) -> Option<usize> {
    text.lines()
        .find_map(|line| line.strip_prefix("scenarios: "))
        .and_then(|rest| rest.split_once(" passed"))
        .and_then(|(n, _)| n.trim().parse().ok())
}

#[test]
fn a_plain_path_as_input_runs_that_files_scenarios() {
    let (output, text) = acceptance("plain-path", &["--input", "features/payments.feature"]);
    assert!(output.status.success(), "the run failed:\n{text}");
    let in_file = scenarios_in(&workspace_root().join("features/payments.feature"));
    assert!(in_file > 0, "features/payments.feature has no scenario");
    assert_eq!(
        passed_scenarios(&text),
        Some(in_file),
        "the summary does not count exactly that file's {in_file} scenarios as passed:\n{text}"
    );
}

/// Scenarios a run of `feature` counts: one per scenario, one per Examples row of an outline.
fn scenarios_in(feature: &Path) -> usize {
    let feature = gherkin::Feature::parse_path(feature, gherkin::GherkinEnv::default())
        .expect("the feature parses");
    let rules = feature.rules.iter().flat_map(|r| r.scenarios.iter());
    feature
        .scenarios
        .iter()
        .chain(rules)
        .map(|s| match s.examples.as_slice() {
            [] => 1,
            examples => examples
                .iter()
                .filter_map(|e| e.table.as_ref())
                .map(|t| t.rows.len().saturating_sub(1))
                .sum(),
        })
        .sum()
}

#[test]
fn a_folder_without_scenarios_fails_and_says_why() {
    let empty = scratch("empty-folder");
    let empty = empty.to_str().expect("utf-8 path");
    let (output, text) = acceptance("empty-folder", &["--input", empty]);
    assert!(!output.status.success(), "an empty run passed:\n{text}");
    assert!(
        text.contains("no scenario ran: no scenario was found in"),
        "the output does not say why nothing ran:\n{text}"
    );
}

#[test]
fn a_tag_nobody_has_fails_and_says_why() {
    let (output, text) = acceptance(
        "unknown-tag",
        &[
            "--input",
            "features/payments.feature",
            "--tags",
            "@nobody-has-this-tag",
        ],
    );
    assert!(!output.status.success(), "an empty run passed:\n{text}");
    assert!(
        text.contains("no scenario ran: the --tags expression selected none of the"),
        "the output does not say why nothing ran:\n{text}"
    );
}

#[test]
fn check_names_an_undefined_steps_place_and_the_sentence_meant() {
    let drafts = scratch("drafts");
    let draft = drafts.join("draft.feature");
    fs::write(
        &draft,
        "@needs-operator\n\
         Feature: A draft\n\
         \n\
         \x20 Scenario: Bob checks before paying\n\
         \x20   Given Bob is a customer with 20.00 EUR\n\
         \x20   When Bob check his balance 3 times\n",
    )
    .expect("draft written");
    let (output, text) = acceptance(
        "check-drafts",
        &["--check", "--input", drafts.to_str().expect("utf-8 path")],
    );
    assert!(
        !output.status.success(),
        "a draft with an undefined step passed the check:\n{text}"
    );
    assert!(
        text.contains("draft.feature:6: no sentence matches"),
        "the undefined step's file:line is not named:\n{text}"
    );
    assert!(
        text.contains("When Bob checks his balance 3 times"),
        "the closest sentence, filled in, is not offered:\n{text}"
    );
    assert!(
        !text.contains("draft.feature:5"),
        "the known step was reported too:\n{text}"
    );
}

/// `<file>:<line>: <name>` of every scenario element (run or not run) of a Cucumber JSON report.
fn scenario_keys(cucumber_json: &Path) -> Vec<String> {
    let text = fs::read_to_string(cucumber_json).expect("the Cucumber JSON report is there");
    let features: serde_json::Value = serde_json::from_str(&text).expect("the report is JSON");
    let mut keys = Vec::new();
    for feature in features.as_array().expect("an array of features") {
        let uri = feature["uri"].as_str().expect("a feature's uri");
        let file = uri.rsplit('/').next().unwrap_or(uri);
        for element in feature["elements"].as_array().into_iter().flatten() {
            if element["type"] == "scenario" {
                keys.push(format!(
                    "{file}:{}: {}",
                    element["line"],
                    element["name"].as_str().expect("a scenario's name")
                ));
            }
        }
    }
    keys
}

#[test]
fn the_suite_split_in_three_shards_runs_every_scenario_once_and_merges_into_one_report() {
    let features = workspace_root().join("features");
    let whole: usize = fs::read_dir(&features)
        .expect("features/ can be listed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "feature"))
        .map(|p| scenarios_in(&p))
        .sum();
    let mut shard_dirs = Vec::new();
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (output, text) = acceptance(&format!("shard-{k}"), &["--shard", &shard]);
        assert!(output.status.success(), "shard {shard} failed:\n{text}");
        assert!(
            text.contains(&format!("shard {shard} runs ")) && text.contains("balanced by count"),
            "shard {shard} does not say which share it runs:\n{text}"
        );
        let dir = scratch_path(&format!("shard-{k}-reports"));
        let keys = scenario_keys(&dir.join("cucumber.json"));
        // Balanced by count: each shard has a third of the suite, give or take one.
        assert!(
            keys.len().abs_diff(whole / 3) <= 1,
            "shard {shard} has {} of {whole} scenarios",
            keys.len()
        );
        for key in keys {
            if let Some(other) = seen.insert(key.clone(), k) {
                panic!("{key} is in shard {other}/3 and in shard {shard}");
            }
        }
        shard_dirs.push(dir);
    }
    assert_eq!(
        seen.len(),
        whole,
        "the three shards hold {} distinct scenarios, features/ has {whole}",
        seen.len()
    );

    let merged = scratch("shards-merged");
    let result = harness::report::merge::merge_dirs(&shard_dirs, &merged).expect("the merge");
    assert_eq!(result.scenarios, whole, "the merged page's scenarios");
    assert_eq!(result.failed, 0, "no scenario failed, so none does merged");
    let merged_keys: std::collections::BTreeSet<String> =
        scenario_keys(&merged.join("cucumber.json"))
            .into_iter()
            .collect();
    assert_eq!(
        merged_keys,
        seen.keys().cloned().collect(),
        "the merged Cucumber JSON holds exactly the shards' scenarios"
    );
    let junit = fs::read_to_string(merged.join("junit.xml")).expect("merged JUnit");
    assert_eq!(
        junit.matches("<testcase ").count(),
        whole,
        "the merged JUnit has one testcase per scenario"
    );
    // The page is drawn from the merged data: every scenario is in it, run or not run.
    let data: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(merged.join("report-data.json")).expect("merged page data"),
    )
    .expect("the page data is JSON");
    let mut on_page = std::collections::BTreeSet::new();
    for feature in data["run"]["features"].as_array().expect("features") {
        for scenario in feature["scenarios"].as_array().expect("scenarios") {
            on_page.insert(scenario["key"].as_str().expect("a key").to_owned());
        }
    }
    for not_run in data["run"]["not_run"].as_array().expect("not run") {
        on_page.insert(not_run["scenario"].as_str().expect("a key").to_owned());
    }
    assert_eq!(
        on_page, merged_keys,
        "the merged HTML report's scenarios are not the shards' scenarios"
    );
    let page = fs::read_to_string(merged.join("report.html")).expect("merged HTML report");
    assert!(
        page.contains(&format!(
            "\"passed\":{}",
            whole - data["run"]["not_run"].as_array().map_or(0, Vec::len)
        )),
        "the merged page does not count every scenario that ran as passed"
    );
}
