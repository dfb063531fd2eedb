//! The step catalogue: every sentence the steps understand, and the glossary an analyst needs
//! to write scenarios without reading code.
//!
//! The step modules are compiled into the crate as text too (`crate::STEP_SOURCES`, from the
//! one list of step modules in `lib.rs`) and read with `syn` ([`read`]): each function's
//! `#[given]`/`#[when]`/`#[then]` attributes and its doc comment, whose `Example:` lines show
//! the sentence in use, `Needs:` lines the capabilities a scenario must be tagged with, and
//! `Scope:` line whether its effect stays within the scenario. A call graph over the same
//! sources says which sentences send a request and which replace the last answer. The
//! [`glossary`] comes from the OpenAPI document and the services' code. The same data feeds
//! `features/STEPS.md` (`cargo run -p steps --bin step-catalogue`), its searchable HTML twin
//! written beside each run's report, the undefined-step suggestions and the check mode.

mod document;
mod glossary;
mod html;
mod markdown;
pub mod read;

use std::sync::LazyLock;

pub use glossary::{Glossary, glossary};
pub use html::render_html;
pub use markdown::render_markdown;
pub use read::{parse_params, parse_steps};

/// The step sources, by file name, from the one list of step modules (`lib.rs`).
pub const SOURCES: &[(&str, &str)] = crate::STEP_SOURCES;

const PARAMS_SOURCE: &str = include_str!("../params.rs");

/// One step definition as the catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEntry {
    /// `Given`, `When` or `Then` (a definition answering several keywords appears once per keyword).
    pub keyword: &'static str,
    /// The cucumber expression, or the regex for regex steps.
    pub pattern: String,
    /// True for a regex step.
    pub is_regex: bool,
    /// The doc comment, without its `Example:`, `Needs:` and `Scope:` lines.
    pub description: String,
    /// The `Example:` lines of the doc comment.
    pub examples: Vec<String>,
    /// The source file (domain concept) it lives in, e.g. `payments.rs`.
    pub file: &'static str,
    /// The Rust function that implements it.
    pub function: String,
    /// Scenario tags the step needs, from `/// Needs: <capability>` lines (e.g. `needs-restart`).
    pub needs: Vec<String>,
    /// Where its effect on the platform is felt: `scenario` or `platform` (`/// Scope:`).
    pub scope: Option<String>,
    /// First and last source line of the definition's attributes and signature (1-based).
    pub lines: (u32, u32),
    /// It sends at least one request to the platform.
    pub sends: bool,
    /// It replaces "the last answer" that `the response …` sentences check.
    pub replaces_last: bool,
    /// It waits for something asynchronous, up to the driver's patience.
    pub waits: bool,
}

impl StepEntry {
    /// The sentence to show a reader: the expression, or the example for a regex step.
    pub fn sentence(&self) -> &str {
        if self.is_regex {
            self.example()
                .map(|e| {
                    e.split_once(' ')
                        .filter(|(k, _)| ["Given", "When", "Then"].contains(k))
                        .map_or(e, |(_, rest)| rest)
                })
                .unwrap_or(&self.pattern)
        } else {
            &self.pattern
        }
    }

    /// The example of this keyword's sentence: the first `Example:` starting with the
    /// keyword, else the first one.
    pub fn example(&self) -> Option<&str> {
        self.examples
            .iter()
            .find(|e| e.starts_with(&format!("{} ", self.keyword)))
            .or(self.examples.first())
            .map(String::as_str)
    }
}

/// A custom parameter type (`{actor}`, `{money}`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamEntry {
    /// Name used in expressions, without braces.
    pub name: String,
    /// The regex it matches.
    pub regex: String,
    /// What it means.
    pub description: String,
}

static ENTRIES: LazyLock<Vec<StepEntry>> = LazyLock::new(|| {
    // The sources are compiled in; a parse failure is a build of this crate that cannot
    // have compiled, so say plainly which file.
    let graph = read::CallGraph::of(&[SOURCES, crate::SUPPORT_SOURCES].concat())
        .unwrap_or_else(|e| panic!("the step sources do not parse: {e}"));
    SOURCES
        .iter()
        .flat_map(|(file, text)| {
            parse_steps(file, text).unwrap_or_else(|e| panic!("the step sources do not parse: {e}"))
        })
        .map(|mut entry| {
            entry.sends = graph.sends(&entry.function);
            entry.replaces_last = graph.replaces_last(&entry.function);
            entry.waits = graph.waits(&entry.function);
            entry
        })
        .collect()
});

/// Every step definition, in source order, file by file.
pub fn entries() -> &'static [StepEntry] {
    &ENTRIES
}

/// Every sentence the steps understand (for "did you mean" suggestions on undefined steps).
pub fn sentences() -> Vec<&'static str> {
    ENTRIES.iter().map(StepEntry::sentence).collect()
}

/// The custom parameter types.
pub fn params() -> Vec<ParamEntry> {
    parse_params(PARAMS_SOURCE).unwrap_or_else(|e| panic!("params.rs does not parse: {e}"))
}

/// The heading of a step module's section: its module doc's first sentence.
pub(crate) fn concept_title(file: &str) -> String {
    SOURCES
        .iter()
        .find(|(f, _)| *f == file)
        .and_then(|(_, text)| syn::parse_file(text).ok())
        .map(|ast| {
            let doc = read::doc_lines(&ast.attrs).join(" ");
            // The first sentence, up to its colon: "Payments: creating them…" -> "Payments".
            let first = doc.split(". ").next().unwrap_or_default();
            let first = first.split(':').next().unwrap_or_default().trim();
            first.trim_end_matches('.').to_owned()
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| file.trim_end_matches(".rs").to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_read_from_their_attribute() {
        assert!(
            params()
                .iter()
                .any(|p| p.name == "money" && p.description.contains("major units"))
        );
    }

    #[test]
    fn each_step_module_is_titled_by_its_doc() {
        assert_eq!(concept_title("payments.rs"), "Payments");
        assert_eq!(concept_title("access.rs"), "Access control");
    }
}
