//! The step catalogue for analysts stays complete and in step with the code.

use cucumber::{World as _, gherkin};
use steps::{MinibankWorld, catalogue};

fn gherkin_step(keyword: &str, text: &str) -> gherkin::Step {
    let ty = match keyword {
        "Given" => gherkin::StepType::Given,
        "When" => gherkin::StepType::When,
        _ => gherkin::StepType::Then,
    };
    gherkin::Step {
        keyword: format!("{keyword} "),
        ty,
        value: text.to_owned(),
        docstring: None,
        table: None,
        span: gherkin::Span { start: 0, end: 0 },
        position: gherkin::LineCol { line: 0, col: 0 },
    }
}

#[test]
fn steps_md_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../features/STEPS.md");
    let current = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        current == catalogue::render_markdown(),
        "features/STEPS.md is out of date: regenerate it with `cargo run -p steps --bin step-catalogue`"
    );
}

#[test]
fn every_step_has_an_example_that_it_matches() {
    let collection = MinibankWorld::collection();
    let mut problems = Vec::new();
    for entry in catalogue::entries() {
        // Each keyword's sentence has its own example (a definition may answer a Given and a
        // When with different wordings).
        let Some(example) = entry.example() else {
            problems.push(format!(
                "{}: `{}` has no `/// Example:` line",
                entry.file, entry.pattern
            ));
            continue;
        };
        let (keyword, text) = example.split_once(' ').unwrap_or(("", example));
        if keyword != entry.keyword && entry.examples.len() > 1 {
            problems.push(format!(
                "{}: `{}` has examples but none for its {} sentence",
                entry.file, entry.pattern, entry.keyword
            ));
            continue;
        }
        if !["Given", "When", "Then"].contains(&keyword) {
            problems.push(format!(
                "{}: the example `{example}` must start with Given, When or Then",
                entry.file
            ));
            continue;
        }
        // The example must reach this very definition (which may answer several keywords
        // with different sentences; the example shows one of them).
        match collection.find(&gherkin_step(keyword, text)) {
            Ok(Some((_, _, Some(location), _)))
                if location.path.ends_with(entry.file)
                    && (entry.lines.0..=entry.lines.1).contains(&location.line) => {}
            Ok(Some((_, _, location, _))) => problems.push(format!(
                "{}: the example `{example}` matches {location:?}, not `{}`",
                entry.file, entry.pattern
            )),
            Ok(None) => problems.push(format!(
                "{}: the example `{example}` matches no step (expected `{}`)",
                entry.file, entry.pattern
            )),
            Err(e) => problems.push(format!(
                "{}: the example `{example}` is ambiguous: {e}",
                entry.file
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "catalogue problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_catalogue_lists_every_step_definition() {
    let attributes: usize = catalogue::SOURCES
        .iter()
        .map(|(_, text)| {
            ["#[given(", "#[when(", "#[then("]
                .iter()
                .map(|a| text.matches(a).count())
                .sum::<usize>()
        })
        .sum();
    let listed = catalogue::entries().len();
    assert_eq!(
        listed, attributes,
        "the catalogue lists {listed} step definitions, the sources have {attributes} step attributes"
    );
}

#[test]
fn every_step_file_is_in_the_catalogue() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let listed: Vec<&str> = catalogue::SOURCES.iter().map(|(name, _)| *name).collect();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(dir).expect("steps/src").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let has_steps = ["#[given(", "#[when(", "#[then("]
            .iter()
            .any(|a| text.contains(a));
        if has_steps && name != "catalogue.rs" && !listed.contains(&name.as_str()) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "step files missing from catalogue::SOURCES in steps/src/catalogue.rs: {missing:?}"
    );
}
