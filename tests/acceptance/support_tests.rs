//! Tests of the entry point's parts (flags, scenario filter, summary), built as their own
//! libtest target because `tests/acceptance.rs` runs with `harness = false`.

// The modules are shared with the entry point; not every part of them is exercised here.
#![allow(dead_code)]

#[path = "capability_filter.rs"]
mod capability_filter;
#[path = "cli.rs"]
mod cli;
#[path = "outcome.rs"]
mod outcome;
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
