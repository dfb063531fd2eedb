//! Tests of the entry point's parts (flags, scenario filter, summary), built as their own
//! libtest target because `tests/acceptance.rs` runs with `harness = false`.

// The modules are shared with the entry point; not every part of them is exercised here.
#![allow(dead_code)]

#[path = "capability_filter.rs"]
mod capability_filter;
#[path = "cli.rs"]
mod cli;
#[path = "html_report.rs"]
mod html_report;
#[path = "outcome.rs"]
mod outcome;
#[path = "report_annotations.rs"]
mod report_annotations;
#[path = "scenario_record.rs"]
mod scenario_record;
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
fn undefined_steps_get_the_closest_known_sentences_best_first() {
    let known = [
        "nothing happens",
        "{actor} pays {merchant} {money}",
        "the response status is {int}",
        "the payment ends up settled",
    ];
    let found = summary::closest("Given nothing happenz", &known);
    assert_eq!(found.len(), 3);
    assert_eq!(found[0], "nothing happens");
    assert_eq!(
        summary::closest("Then the payment ends up setled", &known)[0],
        "the payment ends up settled"
    );
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
