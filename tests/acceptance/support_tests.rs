//! Tests of the entry point's parts (flags, scenario filter, summary), built as their own
//! libtest target because `tests/acceptance.rs` runs with `harness = false`.

// The modules are shared with the entry point; not every part of them is exercised here.
#![allow(dead_code)]

#[path = "capability_filter.rs"]
mod capability_filter;
#[path = "check.rs"]
mod check;
#[path = "cli.rs"]
mod cli;
#[path = "help.rs"]
mod help;
#[path = "html_report.rs"]
mod html_report;
#[path = "input.rs"]
mod input;
#[path = "outcome.rs"]
mod outcome;
#[path = "report_annotations.rs"]
mod report_annotations;
#[path = "scenario_record.rs"]
mod scenario_record;
#[path = "shard.rs"]
mod shard;
#[path = "summary.rs"]
mod summary;

use std::ffi::OsString;

use clap::Parser as _;
use cucumber::gherkin::{self, GherkinEnv};
use drivers::{Capabilities, Capability, select::DriverKind};

use crate::capability_filter::ScenarioFilter;

#[derive(clap::Parser)]
struct Flags {
    #[command(flatten)]
    own: cli::HarnessCli,
}

#[test]
fn own_flags_default_to_in_process_with_a_random_seed() {
    let flags = Flags::try_parse_from(["acceptance"]).unwrap();
    assert_eq!(flags.own.driver, DriverKind::InProcess);
    assert_eq!(flags.own.seed, None);
    let flags =
        Flags::try_parse_from(["acceptance", "--driver", "staging", "--seed", "42"]).unwrap();
    assert_eq!(flags.own.driver, DriverKind::Staging);
    assert_eq!(flags.own.seed, Some(42));
    assert!(Flags::try_parse_from(["acceptance", "--driver", "docker"]).is_err());
}

#[test]
fn libtest_flags_from_cargo_test_are_dropped_and_list_means_nothing_to_do() {
    let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
    match cli::args(args(&[
        "acceptance",
        "--nocapture",
        "--test-threads=2",
        "--seed",
        "1",
    ])) {
        cli::Args::Run(kept) => assert_eq!(kept, args(&["acceptance", "--seed", "1"])),
        cli::Args::NothingToDo(why) => panic!("unexpected: {why}"),
    }
    assert!(matches!(
        cli::args(args(&["acceptance", "--list"])),
        cli::Args::NothingToDo(_)
    ));
}

const FEATURE: &str = "\
Feature: filter
  Scenario: plain
    Given nothing happens

  @needs-restart @needs-logs
  Scenario: restarts
    Given nothing happens

  @needs-provider-stubs @slow
  Scenario: stubs
    Given nothing happens
";

fn feature() -> gherkin::Feature {
    gherkin::Feature::parse(FEATURE, GherkinEnv::default()).expect("feature parses")
}

#[test]
fn scenarios_needing_a_missing_capability_are_left_out_with_the_reason() {
    let feature = feature();
    let filter = ScenarioFilter::new(
        None,
        None,
        Capabilities::of([Capability::StubProvider]),
        None,
    );
    let kept: Vec<&str> = feature
        .scenarios
        .iter()
        .filter(|s| filter.keep(&feature, None, s))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(kept, ["plain", "stubs"]);
    let not_run = filter.not_run.lock();
    assert_eq!(not_run.len(), 1);
    assert!(not_run[0].scenario.ends_with("restarts"));
    assert_eq!(not_run[0].reason, "needs restart, logs");
}

#[test]
fn the_users_tag_selection_still_applies_and_is_not_reported_as_not_run() {
    let feature = feature();
    let tags = "not @slow".parse().expect("tag expression");
    let filter = ScenarioFilter::new(None, Some(tags), Capabilities::of(Capability::ALL), None);
    let kept: Vec<&str> = feature
        .scenarios
        .iter()
        .filter(|s| filter.keep(&feature, None, s))
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(kept, ["plain", "restarts"]);
    assert!(filter.not_run.lock().is_empty());
}

#[test]
fn a_run_that_selects_nothing_says_why() {
    let feature = feature();
    let tags = "@nowhere".parse().expect("tag expression");
    let filter = ScenarioFilter::new(None, Some(tags), Capabilities::of(Capability::ALL), None);
    assert!(
        feature
            .scenarios
            .iter()
            .all(|s| !filter.keep(&feature, None, s))
    );
    assert_eq!(
        filter.nothing_selected("features/").as_deref(),
        Some("the --tags expression selected none of the 3 scenario(s) in features/")
    );
    let empty = ScenarioFilter::new(None, None, Capabilities::default(), None);
    assert_eq!(
        empty.nothing_selected("x.feature").as_deref(),
        Some("no scenario was found in x.feature")
    );
    let all = ScenarioFilter::new(None, None, Capabilities::of(Capability::ALL), None);
    assert!(
        feature
            .scenarios
            .iter()
            .all(|s| all.keep(&feature, None, s))
    );
    assert_eq!(all.nothing_selected("features/"), None);
}

#[test]
fn input_takes_plain_paths_from_the_workspace_root_and_anchors_globs_there() {
    let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
    let mut plain = args(&[
        "acceptance",
        "--input",
        "features/payments.feature",
        "--check",
    ]);
    let input = input::resolve(&mut plain).expect("the file exists");
    assert_eq!(
        plain,
        args(&["acceptance", "--check"]),
        "taken out for cucumber"
    );
    assert!(input.path.ends_with("features/payments.feature") && input.path.is_file());
    let mut folder = args(&["acceptance", "--input=features"]);
    assert!(input::resolve(&mut folder).expect("a folder").path.is_dir());
    let mut glob = args(&["acceptance", "-i", "features/pay*.feature"]);
    let input = input::resolve(&mut glob).expect("a glob");
    assert_eq!(
        glob[2].to_str().unwrap(),
        format!("{}/features/pay*.feature", input::WORKSPACE)
    );
    assert!(input.glob.is_some());
    let mut missing = args(&["acceptance", "--input", "features/nope.feature"]);
    assert!(
        input::resolve(&mut missing)
            .unwrap_err()
            .contains("no such file")
    );
}

#[test]
fn help_speaks_for_the_harness_and_lists_the_analysts_flags() {
    let err = help::parse::<
        cucumber::cli::Opts<
            cucumber::parser::basic::Cli,
            cucumber::runner::basic::Cli,
            cucumber::writer::basic::Cli,
            cli::HarnessCli,
        >,
    >(vec!["acceptance".into(), "--help".into()])
    .expect_err("--help stops parsing");
    let text = err.render().to_string();
    assert!(!text.contains("pet a dog"), "{text}");
    for flag in [
        "--check", "--input", "--tags", "--name", "--seed", "--driver",
    ] {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
    assert!(text.contains("minibank's acceptance suite"), "{text}");
}

/// Checks `text` as the feature file `drafts/draft.feature`.
fn check_draft(text: &str) -> check::Report {
    let dir = tempfile_dir();
    let path = dir.join("draft.feature");
    std::fs::write(&path, text).expect("write the draft");
    let features = check::read(&path, cucumber::parser::basic::Cli::default());
    check::check(&features, None, None)
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "acceptance-check-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn the_check_reports_each_problem_at_its_line_with_the_closest_sentences() {
    let report = check_draft(
        r#"Feature: a draft
  Scenario: paying
    Given Alice is a customer with 100.00 GBP
    And "Acme Coffee" is a merchant settling in GBP
    When Alice pay "Acme Coffee" 12.50 GBP
    Then the payment ends up settled
    Given the bank provider rejects transfers
    When the response status is 201
"#,
    );
    assert_eq!(report.scenarios, 1);
    let found: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.at.rsplit('/').next().unwrap(), p.message))
        .collect();
    let all = found.join("\n");
    assert!(
        all.contains("draft.feature:3: `Alice is a customer with 100.00 GBP` needs the scenario `paying` (line 2) to be tagged @needs-operator"),
        "{all}"
    );
    assert!(
        all.contains("draft.feature:5: no sentence matches `When Alice pay \"Acme Coffee\" 12.50 GBP`; closest known sentences:\n      When Alice pays \"Acme Coffee\" 12.50 GBP    ({actor} pays {actor} {money})"),
        "{all}"
    );
    assert!(all.contains("draft.feature:7: `Given the bank provider rejects transfers` sets something up after the scenario acted"), "{all}");
    assert!(
        all.contains("draft.feature:7: `the bank provider rejects transfers` needs"),
        "{all}"
    );
    assert!(
        all.contains("draft.feature:8: `When the response status is 201` is a Then sentence: write `Then the response status is 201`"),
        "{all}"
    );
}

#[test]
fn the_check_reports_a_draft_that_does_not_parse_or_misspells_a_keyword() {
    let report = check_draft("Scenario: no feature\n    Given nothing happens\n");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].message.starts_with("does not parse"));
    let report = check_draft("Feature: typo\n  Scenario: no steps\n    Givn nothing happens\n");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].at.ends_with("draft.feature:2"));
    assert!(report.problems[0].message.contains("has no steps"));
}

#[test]
fn the_check_reports_a_bad_selector_table_or_tree_at_its_line_without_running_anything() {
    let report = check_draft(
        r#"Feature: trace drafts
  Scenario: shapes
    When Alice reads Alice's account
    Then spans matching 'span[service="ledger" name=]' count = 1
    And spans matching 'span[service="ledger"]' count == 1
    And spans matching 'span[service="ledger"]:first' duration < 50ms
    And the trace looks like:
      """
      harness GET /v1/accounts/{id}
        edge
      """
    And the payment's trace has these spans:
      | service | span        | at most |
      | ledger  | POST /holds | fast    |
"#,
    );
    let found: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.at.rsplit('/').next().unwrap(), p.message))
        .collect();
    let all = found.join("\n");
    assert!(
        all.contains(r#"draft.feature:4: `spans matching 'span[service="ledger" name=]' count = 1`: the selector 'span[service="ledger" name=]' is not valid: column 28: expected a quoted string, found `]`"#),
        "{all}"
    );
    assert!(
        all.contains("draft.feature:5: `spans matching 'span[service=\"ledger\"]' count == 1`: the assertion `count == 1` is not valid: column 8"),
        "{all}"
    );
    assert!(
        !all.contains("draft.feature:6"),
        "a good selector is fine: {all}"
    );
    assert!(
        all.contains("draft.feature:7: `the trace looks like:`: line 3 of the tree"),
        "{all}"
    );
    assert!(
        all.contains("draft.feature:12: `the payment's trace has these spans:`: row 1: `at most`"),
        "{all}"
    );
}

#[test]
fn every_feature_in_the_repository_passes_the_check() {
    let features = check::read(
        std::path::Path::new(input::FEATURES),
        cucumber::parser::basic::Cli::default(),
    );
    let report = check::check(&features, None, None);
    assert!(report.scenarios >= 50, "{} scenarios", report.scenarios);
    let problems: Vec<String> = report
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.at, p.message))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn one_trace_and_one_not_run() -> (report_annotations::TraceIds, Vec<capability_filter::NotRun>) {
    let mut traces = report_annotations::TraceIds::new();
    traces.insert(
        "payments.feature:12: Paying settles".into(),
        vec!["4bf92f3577b34da6a3ce929d0e0e4736".into()],
    );
    let not_run = vec![capability_filter::NotRun {
        scenario: "saga_recovery.feature:23: Payments work after a restart".into(),
        reason: "needs restart".into(),
    }];
    (traces, not_run)
}

#[test]
fn the_junit_report_gets_each_scenarios_trace_ids_and_the_scenarios_not_run() {
    let (traces, not_run) = one_trace_and_one_not_run();
    let xml = r#"<testsuites><testsuite name="x"><testcase name="Scenario: Paying settles: features/payments.feature:12:3" time="1"></testcase><testcase name="Scenario: Other: features/payments.feature:30:3" time="1"></testcase></testsuite></testsuites>"#;
    let out = report_annotations::junit(xml, &traces, &not_run, "staging", "/r/report.html");
    assert!(
        out.contains(r#"features/payments.feature:12:3" time="1"><properties><property name="trace_id" value="4bf92f3577b34da6a3ce929d0e0e4736"/><property name="html_report" value="/r/report.html#s-payments-feature-12"/></properties>"#),
        "{out}"
    );
    assert_eq!(
        out.matches(r#"<property name="trace_id""#).count(),
        1,
        "only the scenario that has traces: {out}"
    );
    assert!(
        out.contains(r#"features/payments.feature:30:3" time="1"><properties><property name="html_report" value="/r/report.html#s-payments-feature-30"/></properties>"#),
        "every scenario points at its place in the HTML report: {out}"
    );
    assert!(
        out.starts_with(r#"<testsuites><properties><property name="html_report" value="/r/report.html"/></properties>"#),
        "{out}"
    );
    assert!(
        out.contains(r#"<testcase name="saga_recovery.feature:23: Payments work after a restart" classname="not run"><skipped message="not run on driver staging: needs restart"/></testcase></testsuite></testsuites>"#),
        "{out}"
    );
}

#[test]
fn the_cucumber_json_gets_each_scenarios_trace_ids_and_the_scenarios_not_run() {
    let (traces, not_run) = one_trace_and_one_not_run();
    let features = serde_json::json!([
        {"uri": "features/payments.feature", "elements": [{"line": 12, "name": "Paying settles"}]}
    ]);
    let out =
        report_annotations::cucumber_json(features, &traces, &not_run, "staging", "/r/report.html");
    assert_eq!(
        out[0]["elements"][0]["trace_ids"],
        serde_json::json!(["4bf92f3577b34da6a3ce929d0e0e4736"])
    );
    assert_eq!(
        out[0]["elements"][0]["html_report"],
        "/r/report.html#s-payments-feature-12"
    );
    let not_run = &out[1]["elements"][0];
    assert_eq!(out[1]["uri"], "saga_recovery.feature");
    assert_eq!(not_run["name"], "Payments work after a restart");
    assert_eq!(not_run["steps"][0]["result"]["status"], "skipped");
    assert_eq!(
        not_run["description"],
        "not run on driver staging: needs restart"
    );
}

#[test]
fn the_worked_example_in_the_features_readme_passes_the_check() {
    let readme = std::fs::read_to_string(format!("{}/README.md", input::FEATURES))
        .expect("features/README.md");
    let example = readme
        .split("```gherkin\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a gherkin block in features/README.md");
    let report = check_draft(example);
    assert_eq!(report.scenarios, 1);
    let problems: Vec<String> = report.problems.iter().map(|p| p.message.clone()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn keys(n: usize) -> std::collections::BTreeSet<String> {
    (1..=n).map(|i| format!("a.feature:{i:03}: s{i}")).collect()
}

/// Each shard's keys, from `shard::split`'s assignment.
fn shares(assigned: &std::collections::BTreeMap<String, usize>, total: usize) -> Vec<Vec<String>> {
    let mut shares = vec![Vec::new(); total];
    for (key, shard) in assigned {
        shares[*shard].push(key.clone());
    }
    shares
}

#[test]
fn a_shard_is_k_of_n_with_k_from_one_to_n() {
    use shard::ShardSpec;
    assert_eq!("2/3".parse(), Ok(ShardSpec { index: 2, total: 3 }));
    for wrong in ["0/3", "4/3", "1/0", "3", "a/b", "1/2/3", ""] {
        let error = wrong.parse::<ShardSpec>().expect_err(wrong);
        assert!(error.contains("is not K/N"), "{wrong}: {error}");
    }
    let flags = Flags::try_parse_from(["acceptance", "--shard", "1/2"]).expect("--shard 1/2");
    assert_eq!(flags.own.shard, Some(ShardSpec { index: 1, total: 2 }));
    let without = Flags::try_parse_from(["acceptance", "--shard-durations", "x.json"]);
    assert!(
        without.is_err(),
        "--shard-durations without --shard was accepted"
    );
}

#[test]
fn by_count_the_shares_are_disjoint_cover_everything_differ_by_one_at_most_and_are_stable() {
    let all = keys(10);
    let assigned = shard::split(&all, 3, None);
    assert_eq!(
        assigned,
        shard::split(&all, 3, None),
        "the same split twice"
    );
    let shares = shares(&assigned, 3);
    let sizes: Vec<usize> = shares.iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 3, 3]);
    let union: std::collections::BTreeSet<String> = shares.into_iter().flatten().collect();
    assert_eq!(union, all);
    // Shard 2's share, as the run sees it.
    let share = shard::share(shard::ShardSpec { index: 2, total: 3 }, &all, None);
    assert_eq!(share.keys.len(), 3);
    assert_eq!(
        share.describe(),
        "shard 2/3 runs 3 of the 10 selected scenarios (balanced by count)"
    );
}

#[test]
fn by_recorded_durations_the_long_scenario_gets_a_shard_of_its_own_and_new_ones_count_as_average() {
    let all = keys(11);
    let mut durations = shard::Durations::new();
    for (i, key) in all.iter().enumerate() {
        durations.insert(key.clone(), if i == 4 { 10.0 } else { 1.0 });
    }
    let shares = shares(&shard::split(&all, 2, Some(&durations)), 2);
    assert_eq!(shares[0], ["a.feature:005: s5"], "the 10 s scenario alone");
    assert_eq!(shares[1].len(), 10, "the ten 1 s scenarios together");

    // Two new scenarios (no recorded time) count as the average, 20/11 s, and go where the
    // least time is.
    let more = keys(13);
    let assigned = shard::split(&more, 2, Some(&durations));
    let load = |shard: usize| -> f64 {
        assigned
            .iter()
            .filter(|(_, s)| **s == shard)
            .map(|(k, _)| durations.get(k).copied().unwrap_or(20.0 / 11.0))
            .sum()
    };
    assert!(
        (load(0) - load(1)).abs() <= 10.0,
        "unbalanced: {} s and {} s",
        load(0),
        load(1)
    );
    assert_eq!(assigned.len(), 13);
}

#[test]
fn recorded_durations_are_read_from_a_cucumber_json_report() {
    let dir = tempfile_dir();
    let path = dir.join("cucumber.json");
    std::fs::write(
        &path,
        r#"[{"uri": "features/payments.feature", "elements": [
             {"type": "scenario", "line": 7, "name": "Pay",
              "before": [{"result": {"status": "passed", "duration": 500000000}}],
              "steps": [{"result": {"status": "passed", "duration": 1000000000}},
                        {"result": {"status": "passed", "duration": 250000000}}]},
             {"type": "scenario", "line": 12, "name": "Refuse",
              "steps": [{"result": {"status": "skipped"}}]}]}]"#,
    )
    .expect("write the report");
    let durations = shard::read_durations(&path).expect("read");
    assert_eq!(durations.get("payments.feature:7: Pay"), Some(&1.75));
    assert_eq!(durations.get("payments.feature:12: Refuse"), Some(&0.0));

    std::fs::write(&path, "{}").expect("write");
    let error = shard::read_durations(&path).expect_err("not a report");
    assert!(
        format!("{error:#}").contains("not a Cucumber JSON report"),
        "{error:#}"
    );
}
