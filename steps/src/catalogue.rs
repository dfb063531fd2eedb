//! The step catalogue: every sentence the steps understand, read from the step sources.
//!
//! The step files are compiled into the crate as text (`include_str!`) and scanned for
//! `#[given(...)]`, `#[when(...)]` and `#[then(...)]` attributes and the doc comment above
//! them, whose `Example:` line shows the sentence in use. The same data feeds
//! `features/STEPS.md` (`cargo run -p steps --bin step-catalogue`), the undefined-step
//! suggestions of the entry point, and the tests that keep both honest.

use std::{fmt::Write as _, sync::LazyLock};

/// The step sources, by file name. Add a file here when adding a step module.
pub const SOURCES: &[(&str, &str)] = &[
    ("actors.rs", include_str!("actors.rs")),
    ("balances.rs", include_str!("balances.rs")),
    ("payments.rs", include_str!("payments.rs")),
    ("provider.rs", include_str!("provider.rs")),
    ("webhooks.rs", include_str!("webhooks.rs")),
    ("access.rs", include_str!("access.rs")),
    ("http.rs", include_str!("http.rs")),
    ("traces.rs", include_str!("traces.rs")),
    ("platform.rs", include_str!("platform.rs")),
    ("faults.rs", include_str!("faults.rs")),
    ("resilience.rs", include_str!("resilience.rs")),
    ("replicas.rs", include_str!("replicas.rs")),
    ("propagation.rs", include_str!("propagation.rs")),
    ("cancellation.rs", include_str!("cancellation.rs")),
    ("metrics.rs", include_str!("metrics.rs")),
    ("bench.rs", include_str!("bench.rs")),
];

const PARAMS_SOURCE: &str = include_str!("params.rs");

/// One step definition as the catalogue shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepEntry {
    /// `Given`, `When` or `Then` (a definition answering several keywords appears once per keyword).
    pub keyword: &'static str,
    /// The cucumber expression, or the regex for regex steps.
    pub pattern: String,
    /// True for a regex step.
    pub is_regex: bool,
    /// The doc comment, without its `Example:` lines.
    pub description: String,
    /// The `Example:` lines of the doc comment.
    pub examples: Vec<String>,
    /// The source file (domain concept) it lives in, e.g. `payments.rs`.
    pub file: &'static str,
    /// Scenario tags the step needs, from `/// Needs: <capability>` lines (e.g. `needs-restart`).
    pub needs: Vec<String>,
    /// First and last source line of the definition's attributes and signature (1-based).
    pub lines: (u32, u32),
}

impl StepEntry {
    /// The sentence to show a reader: the expression, or the first example for a regex step.
    pub fn sentence(&self) -> &str {
        if self.is_regex {
            // The example without its keyword reads like an expression step's sentence.
            self.examples
                .first()
                .map(|e| {
                    e.split_once(' ')
                        .filter(|(k, _)| ["Given", "When", "Then"].contains(k))
                        .map_or(e.as_str(), |(_, rest)| rest)
                })
                .unwrap_or(&self.pattern)
        } else {
            &self.pattern
        }
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
    SOURCES
        .iter()
        .flat_map(|(file, text)| parse_steps(file, text))
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
    parse_params(PARAMS_SOURCE)
}

/// Reads a Rust string literal starting at `s` (`"..."` or `r"..."` / `r#"..."#`); returns its
/// value and whether it was raw.
fn string_literal(s: &str) -> Option<String> {
    let s = s.trim_start();
    if let Some(raw) = s.strip_prefix('r') {
        let hashes = raw.chars().take_while(|c| *c == '#').count();
        let body = raw[hashes..].strip_prefix('"')?;
        let end = format!("\"{}", "#".repeat(hashes));
        let close = body.find(&end)?;
        return Some(body[..close].to_owned());
    }
    let body = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// The value of `key = <literal>` inside an attribute's text.
fn attr_value(text: &str, key: &str) -> Option<String> {
    let mut search = text;
    while let Some(at) = search.find(key) {
        let after = search[at + key.len()..].trim_start();
        let before_ok = at == 0 || !search.as_bytes()[at - 1].is_ascii_alphanumeric();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            return string_literal(value);
        }
        search = &search[at + key.len()..];
    }
    None
}

fn split_doc(doc: &[String]) -> (String, Vec<String>, Vec<String>) {
    let mut description = Vec::new();
    let mut examples = Vec::new();
    let mut needs = Vec::new();
    for line in doc {
        let line = line.trim();
        if let Some(example) = line.strip_prefix("Example:") {
            examples.push(example.trim().to_owned());
        } else if let Some(need) = line.strip_prefix("Needs:") {
            needs.extend(
                need.split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|n| !n.is_empty())
                    .map(|n| format!("needs-{}", n.trim_start_matches("needs-"))),
            );
        } else {
            description.push(line.to_owned());
        }
    }
    let description = description
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (description, examples, needs)
}

/// Scans one step source file.
pub fn parse_steps(file: &'static str, text: &str) -> Vec<StepEntry> {
    let mut out = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut pending: Vec<(&'static str, String, bool)> = Vec::new();
    let mut attr_buffer: Option<String> = None;
    let mut first_attr_line = 0u32;
    for (index, line) in text.lines().enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let trimmed = line.trim();
        if let Some(buffer) = attr_buffer.as_mut() {
            buffer.push_str(trimmed);
            if trimmed.ends_with(")]") {
                let buffer = attr_buffer.take().unwrap_or_default();
                push_attr(&buffer, &mut pending);
            }
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix("///") {
            doc.push(comment.strip_prefix(' ').unwrap_or(comment).to_owned());
        } else if ["#[given(", "#[when(", "#[then("]
            .iter()
            .any(|p| trimmed.starts_with(p))
        {
            if pending.is_empty() {
                first_attr_line = line_no;
            }
            if trimmed.ends_with(")]") {
                push_attr(trimmed, &mut pending);
            } else {
                attr_buffer = Some(trimmed.to_owned());
            }
        } else if trimmed.starts_with("#[") {
            // other attributes (allow, ...) keep the doc
        } else if trimmed.starts_with("async fn")
            || trimmed.starts_with("fn")
            || trimmed.starts_with("pub")
        {
            let (description, examples, needs) = split_doc(&doc);
            for (keyword, pattern, is_regex) in pending.drain(..) {
                out.push(StepEntry {
                    keyword,
                    pattern,
                    is_regex,
                    description: description.clone(),
                    examples: examples.clone(),
                    file,
                    needs: needs.clone(),
                    lines: (first_attr_line, line_no),
                });
            }
            doc.clear();
        } else if !trimmed.is_empty() {
            doc.clear();
        }
    }
    out
}

fn push_attr(attr: &str, pending: &mut Vec<(&'static str, String, bool)>) {
    let keyword = if attr.starts_with("#[given") {
        "Given"
    } else if attr.starts_with("#[when") {
        "When"
    } else {
        "Then"
    };
    if let Some(expr) = attr_value(attr, "expr") {
        pending.push((keyword, expr, false));
    } else if let Some(regex) = attr_value(attr, "regex") {
        pending.push((keyword, regex, true));
    }
}

/// Scans the parameter types' source for `#[param(name = ..., regex = ...)]` and their docs.
pub fn parse_params(text: &str) -> Vec<ParamEntry> {
    let mut out = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    let mut attr: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(buffer) = attr.as_mut() {
            buffer.push_str(trimmed);
        } else if let Some(comment) = trimmed.strip_prefix("///") {
            doc.push(comment.trim().to_owned());
            continue;
        } else if trimmed.starts_with("#[param(") {
            attr = Some(trimmed.to_owned());
        } else if !trimmed.starts_with("#[") {
            doc.clear();
            continue;
        }
        if let Some(buffer) = attr.as_ref().filter(|b| b.ends_with(")]")) {
            if let (Some(name), Some(regex)) =
                (attr_value(buffer, "name"), attr_value(buffer, "regex"))
            {
                out.push(ParamEntry {
                    name,
                    regex,
                    description: doc.join(" "),
                });
            }
            attr = None;
        }
    }
    out
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

const HEADER: &str = r#"Every sentence the steps understand, generated from the step definitions in `steps/src/`.
Do not edit by hand: run `cargo run -p steps --bin step-catalogue` after changing a step.

- `Given`, `When` and `Then` may be continued with `And`/`But`.
- Words in `{braces}` are parameters (see the table at the end). People and companies are
  aliases: write `Alice` or `"Acme Coffee"`; the harness onboards them under fake names of
  their own for each scenario.
- Paths and bodies may name the scenario's data: `{Alice.account_id}`, `{Alice.customer_id}`,
  `{Acme Coffee.merchant_id}`, `{payment_id}` (the last payment) and `{namespace}`.
- Steps that need a driver capability say which `@needs-…` tag the scenario must carry;
  drivers without it skip such scenarios and list them. Tag `@staging-safe` what may run
  against staging (public API and synthetic data only: no stubs, faults or restarts).

"#;

/// The catalogue as Markdown (`features/STEPS.md`).
pub fn render_markdown() -> String {
    let mut md = String::new();
    md.push_str("# Step catalogue\n\n");
    md.push_str(HEADER);
    let mut current = "";
    let entries = entries();
    for (i, entry) in entries.iter().enumerate() {
        // A definition answering several keywords is listed once, keywords joined.
        let first = entries[..i]
            .iter()
            .all(|e| e.file != entry.file || e.pattern != entry.pattern);
        if !first {
            continue;
        }
        let keywords: Vec<&str> = entries
            .iter()
            .filter(|e| e.file == entry.file && e.pattern == entry.pattern)
            .map(|e| e.keyword)
            .collect();
        if entry.file != current {
            if !current.is_empty() {
                md.push('\n');
            }
            current = entry.file;
            let _ = writeln!(md, "## {}\n", concept_title(current));
            md.push_str("| step | what it does | example |\n|---|---|---|\n");
        }
        let sentence = if entry.is_regex {
            format!(
                "{} `{}` (pattern `{}`)",
                keywords.join(" / "),
                escape_cell(entry.sentence()),
                escape_cell(&entry.pattern)
            )
        } else {
            format!("{} `{}`", keywords.join(" / "), escape_cell(&entry.pattern))
        };
        let example = entry
            .examples
            .first()
            .map(|e| format!("`{}`", escape_cell(e)))
            .unwrap_or_default();
        let needs: String = entry
            .needs
            .iter()
            .map(|n| format!(" Tag the scenario `@{n}`."))
            .collect();
        let _ = writeln!(
            md,
            "| {sentence} | {}{needs} | {example} |",
            escape_cell(&entry.description)
        );
    }
    md.push('\n');
    md.push_str("## Parameters\n\n| parameter | matches | meaning |\n|---|---|---|\n");
    md.push_str("| `{int}` | a whole number | cucumber built-in |\n");
    md.push_str("| `{string}` | text in double or single quotes | cucumber built-in |\n");
    md.push_str("| `{word}` | one word without spaces | cucumber built-in |\n");
    for param in params() {
        let _ = writeln!(
            md,
            "| `{{{}}}` | `{}` | {} |",
            param.name,
            escape_cell(&param.regex),
            escape_cell(&param.description)
        );
    }
    md
}

fn concept_title(file: &str) -> &'static str {
    match file {
        "actors.rs" => "Customers, merchants and signing in",
        "balances.rs" => "Top-ups, balances and money conservation",
        "payments.rs" => "Payments",
        "provider.rs" => "The external bank provider",
        "webhooks.rs" => "Webhooks to merchants",
        "access.rs" => "Access control",
        "http.rs" => "Plain HTTP requests and answers",
        "traces.rs" => "Traces and logs",
        "platform.rs" => "Platform operations",
        "faults.rs" => "Faults only containers can make",
        "resilience.rs" => {
            "Faults between services: retries, timeouts, circuit breaking, rate limits"
        }
        "replicas.rs" => "Replicas: discovery, load balancing, failure detection",
        "propagation.rs" => "Context propagation: trace, baggage and deadline on every hop",
        "cancellation.rs" => "Request cancellation: a customer who gives up",
        "metrics.rs" => "Metrics and connection pooling",
        "bench.rs" => "Benchmarking",
        _ => "Other steps",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r##"
/// Onboards a customer.
/// Example: Given Alice is a customer with 100.00 GBP
#[given(expr = "{actor} is a customer with {money}")]
async fn customer(w: &mut W) {}

/// Times out.
/// Needs: provider-stubs, faults
/// Example: Given the bank provider times out after processing the transfer
#[given(regex = r"^the bank provider times out (after|without) processing the transfer$")]
#[when(
    regex = r"^the bank provider times out (after|without) processing the transfer$"
)]
async fn times_out(w: &mut W) {}
"##;

    #[test]
    fn steps_are_read_with_their_doc_and_example() {
        let steps = parse_steps("x.rs", SAMPLE);
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].pattern, "{actor} is a customer with {money}");
        assert_eq!(steps[0].description, "Onboards a customer.");
        assert_eq!(
            steps[0].examples,
            vec!["Given Alice is a customer with 100.00 GBP"]
        );
        assert!(steps[1].is_regex);
        assert_eq!(steps[2].keyword, "When");
        assert_eq!(steps[1].needs, vec!["needs-provider-stubs", "needs-faults"]);
        assert_eq!(steps[0].lines, (4, 5));
        assert_eq!(
            steps[2].sentence(),
            "the bank provider times out after processing the transfer"
        );
    }

    #[test]
    fn string_literals_unescape_and_raw_strings_stay_raw() {
        assert_eq!(string_literal(r#""a \"b\"""#).unwrap(), "a \"b\"");
        assert_eq!(string_literal(r###"r#"x"y"#"###).unwrap(), "x\"y");
    }

    #[test]
    fn params_are_read_from_their_attribute() {
        let params = params();
        assert!(
            params
                .iter()
                .any(|p| p.name == "money" && p.description.contains("major units"))
        );
    }
}
