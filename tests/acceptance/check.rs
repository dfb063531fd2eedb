//! `cargo test --test acceptance -- --check`: validates feature files without starting any
//! platform, in well under a second, for analysts writing drafts and for CI's first stage.
//!
//! For every scenario it reads (all of `features/`, or `--input`, narrowed by `--tags` and
//! `--name` as a run would be) it checks, reporting each problem at its `file:line`:
//! - the feature parses (Gherkin syntax, Examples tables);
//! - every step matches exactly one sentence, under the keyword it is written with (a `Then`
//!   sentence written as `When` is named as such); an unknown one gets the three closest
//!   sentences, filled in with its own values;
//! - the scenario carries the `@needs-…` tags its sentences need, every `@needs-…` tag names a
//!   capability, and an `@staging-safe` scenario uses nothing staging cannot do;
//! - a scenario using a sentence whose effect is platform-wide (`Scope: platform`) is `@serial`;
//! - a trace sentence's selector, assertion, span table or tree reads (a bad selector is
//!   named with its column and what was expected there);
//! - Given/When/Then are used in order: no `Given` after the scenario acted or checked, and
//!   no scenario without steps (a misspelt keyword makes its line plain description).

use std::{
    path::Path,
    process::ExitCode,
    time::{Duration, Instant},
};

use cucumber::{
    World as _,
    gherkin::{self, StepType, tagexpr::TagOperation},
    parser::{self, Parser as _},
    step,
    tag::Ext as _,
};
use futures::StreamExt as _;
use regex::Regex;
use steps::{MinibankWorld, catalogue, suggest};

use crate::input::Input;

/// How many sentences an unknown step is offered.
const SUGGESTIONS: usize = 3;

/// One thing wrong with a feature file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `features/payments.feature:12`.
    pub at: String,
    /// What is wrong, and what to write instead.
    pub message: String,
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Feature files read.
    pub features: usize,
    /// Scenarios checked (an Examples row counts as one).
    pub scenarios: usize,
    /// Steps checked.
    pub steps: usize,
    /// Everything wrong, in file order.
    pub problems: Vec<Problem>,
}

/// Runs the check and prints its report; fails when anything is wrong or nothing was read.
pub fn run(
    input: &Input,
    cli: parser::basic::Cli,
    name: Option<Regex>,
    tags: Option<TagOperation>,
) -> ExitCode {
    let started = Instant::now();
    let features = read(&input.path, cli);
    let report = check(&features, name.as_ref(), tags.as_ref());
    print!("{}", render(&report, input, started.elapsed()));
    if report.problems.is_empty() && report.scenarios > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The features as cucumber reads them for a run (same parser, same `--input`).
pub fn read(path: &Path, cli: parser::basic::Cli) -> Vec<Result<gherkin::Feature, parser::Error>> {
    futures::executor::block_on(parser::Basic::new().parse(path, cli).collect::<Vec<_>>())
}

/// The check itself, on features already read.
pub fn check(
    features: &[Result<gherkin::Feature, parser::Error>],
    name: Option<&Regex>,
    tags: Option<&TagOperation>,
) -> Report {
    let collection = MinibankWorld::collection();
    let mut report = Report::default();
    for feature in features {
        let feature = match feature {
            Ok(feature) => feature,
            Err(e) => {
                report.problems.push(Problem {
                    at: parse_error_place(e),
                    message: format!("does not parse: {e}"),
                });
                continue;
            }
        };
        report.features += 1;
        let file = feature
            .path
            .as_deref()
            .map(display_path)
            .unwrap_or_else(|| feature.name.clone());
        for (rule, scenario) in scenarios_of(feature) {
            let all_tags: Vec<&String> = feature
                .tags
                .iter()
                .chain(rule.iter().flat_map(|r| &r.tags))
                .chain(&scenario.tags)
                .collect();
            let selected = match (name, tags) {
                (Some(re), _) => re.is_match(&scenario.name),
                (None, Some(expr)) => expr.eval(all_tags.iter().copied()),
                (None, None) => true,
            };
            if !selected {
                continue;
            }
            report.scenarios += 1;
            let background = feature
                .background
                .iter()
                .chain(rule.and_then(|r| r.background.as_ref()))
                .flat_map(|b| b.steps.iter());
            let steps: Vec<&gherkin::Step> = background.chain(&scenario.steps).collect();
            report.steps += steps.len();
            let at = |line: usize| format!("{file}:{line}");
            let tagged = |t: &str| all_tags.iter().any(|have| have.as_str() == t);
            for tag in all_tags.iter().filter(|t| t.starts_with("needs-")) {
                if drivers::Capability::from_tag(tag).is_none() {
                    report.problems.push(Problem {
                        at: at(scenario.position.line),
                        message: format!(
                            "unknown tag @{tag}; the capabilities are {}",
                            drivers::Capability::ALL
                                .iter()
                                .map(|c| format!("@{}", c.tag()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
            if scenario.steps.is_empty() {
                report.problems.push(Problem {
                    at: at(scenario.position.line),
                    message: format!(
                        "scenario `{}` has no steps: is a keyword misspelt (Given, When, Then, And, But)?",
                        scenario.name
                    ),
                });
            }
            let mut acted = false;
            for step in &scenario.steps {
                match step.ty {
                    StepType::Given if acted => report.problems.push(Problem {
                        at: at(step.position.line),
                        message: format!(
                            "`{}{}` sets something up after the scenario acted: move it before the first When, or make it a When",
                            step.keyword, step.value
                        ),
                    }),
                    StepType::Given => {}
                    StepType::When | StepType::Then => acted = true,
                }
            }
            for step in steps {
                let line = step.position.line;
                if let Some(problem) = steps::static_problem(step) {
                    report.problems.push(Problem {
                        at: at(line),
                        message: format!("`{}`: {problem}", step.value),
                    });
                }
                match collection.find(step) {
                    Ok(Some((_, _, Some(location), _))) => {
                        let Some(entry) = entry_at(&location) else {
                            continue;
                        };
                        for need in &entry.needs {
                            if !tagged(need) {
                                report.problems.push(Problem {
                                    at: at(line),
                                    message: format!(
                                        "`{}` needs the scenario `{}` (line {}) to be tagged @{need}",
                                        step.value, scenario.name, scenario.position.line
                                    ),
                                });
                            }
                        }
                        // A platform-wide effect changes what every scenario running at the
                        // same time sees, so its scenario must run alone.
                        if let Some(why) = entry
                            .scope
                            .as_deref()
                            .and_then(|s| s.strip_prefix("platform"))
                            && !tagged("serial")
                        {
                            let why = why.trim_start_matches(':').trim();
                            report.problems.push(Problem {
                                at: at(line),
                                message: format!(
                                    "`{}` changes the whole platform{}: tag the scenario `{}` (line {}) @serial",
                                    step.value,
                                    if why.is_empty() { String::new() } else { format!(" ({why})") },
                                    scenario.name,
                                    scenario.position.line
                                ),
                            });
                        }
                        if tagged("staging-safe")
                            && let Some(need) =
                                entry.needs.iter().find(|n| n.as_str() != "needs-operator")
                        {
                            report.problems.push(Problem {
                                at: at(line),
                                message: format!(
                                    "`{}` needs @{need}, which staging cannot do: the scenario cannot be @staging-safe",
                                    step.value
                                ),
                            });
                        }
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => report.problems.push(Problem {
                        at: at(line),
                        message: unknown(&collection, step),
                    }),
                    Err(e) => report.problems.push(Problem {
                        at: at(line),
                        message: format!("`{}` matches several sentences: {e}", step.value),
                    }),
                }
            }
        }
    }
    report.problems.dedup();
    report
}

/// Why a step matched nothing: another keyword's sentence, or what it most likely meant.
/// Every scenario of `feature` with the rule it stands under, if any: the feature's own, then
/// each rule's.
pub fn scenarios_of(
    feature: &gherkin::Feature,
) -> impl Iterator<Item = (Option<&gherkin::Rule>, &gherkin::Scenario)> {
    feature.scenarios.iter().map(|s| (None, s)).chain(
        feature
            .rules
            .iter()
            .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s))),
    )
}

fn unknown(collection: &step::Collection<MinibankWorld>, step: &gherkin::Step) -> String {
    let written = format!("{} {}", step.keyword.trim(), step.value);
    for (ty, keyword) in [
        (StepType::Given, "Given"),
        (StepType::When, "When"),
        (StepType::Then, "Then"),
    ] {
        if ty == step.ty {
            continue;
        }
        let mut other = step.clone();
        other.ty = ty;
        if let Ok(Some(_)) = collection.find(&other) {
            return format!(
                "`{written}` is a {keyword} sentence: write `{keyword} {}`",
                step.value
            );
        }
    }
    let keyword = match step.ty {
        StepType::Given => "Given",
        StepType::When => "When",
        StepType::Then => "Then",
    };
    let mut message = format!("no sentence matches `{written}`; closest known sentences:");
    for s in suggest::suggest(&format!("{keyword} {}", step.value), SUGGESTIONS) {
        message.push_str(&format!("\n      {}    ({})", s.filled, s.sentence));
    }
    message
}

/// The catalogue entry of the definition a step matched, by the definition's source location.
pub fn entry_at(location: &step::Location) -> Option<&'static catalogue::StepEntry> {
    let file = location.path.rsplit('/').next().unwrap_or(location.path);
    catalogue::entries()
        .iter()
        .find(|e| e.file == file && (e.lines.0..=e.lines.1).contains(&location.line))
}

/// A path as the user would type it: from the workspace root when inside it.
fn display_path(path: &Path) -> String {
    let root = Path::new(crate::input::WORKSPACE)
        .canonicalize()
        .unwrap_or_default();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn parse_error_place(e: &parser::Error) -> String {
    match e {
        parser::Error::Parsing(e) => match e.as_ref() {
            gherkin::ParseFileError::Reading { path, .. }
            | gherkin::ParseFileError::Parsing { path, .. } => display_path(path),
        },
        parser::Error::ExampleExpansion(e) => e
            .path
            .as_deref()
            .map(|p| format!("{}:{}", display_path(p), e.pos.line))
            .unwrap_or_default(),
    }
}

/// The check's report, problems first, the closing line last.
pub fn render(report: &Report, input: &Input, took: Duration) -> String {
    let mut s = String::new();
    for p in &report.problems {
        s.push_str(&format!("{}: {}\n", p.at, p.message));
    }
    if report.scenarios == 0 && report.problems.is_empty() {
        s.push_str(&format!(
            "check: no scenario selected from {}: nothing was checked\n",
            input.describe()
        ));
    }
    s.push_str(&format!(
        "check: {} feature file(s), {} scenario(s), {} step(s) from {}: {} problem(s) ({:.0} ms)\n",
        report.features,
        report.scenarios,
        report.steps,
        input.describe(),
        report.problems.len(),
        took.as_secs_f64() * 1000.0
    ));
    s
}
