//! The catalogue as one document (sections of text and tables), rendered twice: as Markdown
//! (`features/STEPS.md`) and as a searchable HTML page beside each run's report. Text uses
//! Markdown's backticks for code; both renderers understand them.

use std::collections::BTreeMap;

use super::{StepEntry, concept_title, entries, glossary, params};

/// A part of the catalogue with a heading.
pub(crate) struct Section {
    /// Heading level: 2 or 3.
    pub level: u8,
    pub title: String,
    /// Paragraphs and bullet lines (lines starting with `- `) before the table.
    pub text: Vec<String>,
    pub table: Option<Table>,
}

pub(crate) struct Table {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

const INTRO: &[&str] = &[
    "Every sentence the steps understand, and everything else a scenario's writer needs to know, generated from the step definitions in `steps/src/`, the API contract `services/openapi.json` and the services' code. Do not edit by hand: run `cargo run -p steps --bin step-catalogue` after changing a step (a test fails while this file is stale). The same catalogue is written as a searchable page, `target/acceptance/steps.html`, by every run and by `cargo test --test acceptance -- --check`.",
    "- `Given`, `When` and `Then` may be continued with `And`/`But`. Use each sentence with the keyword it is listed under: the check mode reports a `When` sentence written as `Then`.",
    "- Words in `{braces}` are parameters (see [Parameters](#parameters)). People and companies are aliases: write `Alice` or `\"Acme Coffee\"`; the harness onboards them under fake names of their own for each scenario. `the operator` is the platform's operator and `a stranger` a caller without any token: both may stand wherever `{actor}` is, and a sentence that cannot apply to them says so when it runs.",
    "- **Tokens**: every request a sentence sends as an actor carries that actor's token. Nobody needs to sign in first: an actor who has none yet (never signed in, or whose sign-in failed) is signed in with their own credentials just before their first request, and `the operator` once per scenario with the platform's operator credentials; that sign-in is not an answer of its own (the last answer stays the request's), and if it is refused the sentence fails saying so. `When {actor} signs in` (the answer to `POST /v1/tokens` becomes the last answer) is only needed to check the sign-in itself; its token is then used for that actor's next requests. `a stranger` sends no token at all, and `someone with a forged token …` one that auth never issued. What each role's token allows: see *Roles and their tokens* in the glossary.",
    "- Paths and bodies may name the scenario's data: `{Alice.account_id}`, `{Alice.customer_id}`, `{Acme Coffee.merchant_id}`, `{payment_id}` (the last payment) and `{namespace}`.",
    "- **The last answer**: `the response …` sentences check the answer to the last request a sentence *replaced it with*. Sentences marked **replaces the last answer** below do; those marked **sends requests, keeps the last answer** send requests of their own (reading a balance, polling a payment) without touching it.",
    "- Steps that need a driver capability say which `@needs-…` tag the scenario must carry; drivers without it skip such scenarios and list them. Tag `@staging-safe` what may run against staging (public API and synthetic data only: no stubs, faults or restarts).",
    "- **Effects**: a sentence marked *this scenario only* changes the platform for this scenario's requests and accounts alone; one marked *the whole platform* affects every scenario running at the same time, so its scenario must be tagged `@serial`.",
];

/// The whole catalogue, in reading order.
pub(crate) fn sections() -> Vec<Section> {
    let mut out = vec![Section {
        level: 2,
        title: "How to read this catalogue".into(),
        text: INTRO.iter().map(|s| (*s).to_owned()).collect(),
        table: None,
    }];
    out.extend(sentence_sections());
    out.push(parameters());
    out.extend(glossary_sections());
    out
}

/// One section per step module (domain concept), in the order of the one list of modules.
fn sentence_sections() -> Vec<Section> {
    let entries = entries();
    let mut out: Vec<Section> = Vec::new();
    let mut current = "";
    for (i, entry) in entries.iter().enumerate() {
        // A definition answering several keywords is listed once, keywords joined.
        if entries[..i]
            .iter()
            .any(|e| e.file == entry.file && e.function == entry.function)
        {
            continue;
        }
        let twins: Vec<&StepEntry> = entries
            .iter()
            .filter(|e| e.file == entry.file && e.function == entry.function)
            .collect();
        if entry.file != current {
            current = entry.file;
            out.push(Section {
                level: 3,
                title: concept_title(current),
                text: Vec::new(),
                table: Some(Table {
                    headers: vec!["step", "what it does", "example"],
                    rows: Vec::new(),
                }),
            });
        }
        let sentences: Vec<String> = twins
            .iter()
            .map(|e| {
                if e.is_regex {
                    format!("{} `{}` (pattern `{}`)", e.keyword, e.sentence(), e.pattern)
                } else {
                    format!("{} `{}`", e.keyword, e.pattern)
                }
            })
            .collect();
        let mut sentences_dedup: Vec<String> = Vec::new();
        for s in sentences {
            if !sentences_dedup.contains(&s) {
                sentences_dedup.push(s);
            }
        }
        // Same sentence under several keywords: `Given / When \`x\``.
        let keywords: Vec<&str> = twins.iter().map(|e| e.keyword).collect();
        let same_pattern = twins.iter().all(|e| e.pattern == entry.pattern);
        let step = if same_pattern {
            let one = &sentences_dedup[0];
            let rest = one.split_once(' ').map_or(one.as_str(), |(_, r)| r);
            format!("{} {rest}", keywords.join(" / "))
        } else {
            sentences_dedup.join("<br>")
        };
        let mut what = entry.description.clone();
        what.push_str(&notes(entry));
        let mut examples: Vec<String> = Vec::new();
        for twin in &twins {
            if let Some(e) = twin.example() {
                let e = format!("`{e}`");
                if !examples.contains(&e) {
                    examples.push(e);
                }
            }
        }
        if let Some(Section {
            table: Some(table), ..
        }) = out.last_mut()
        {
            table.rows.push(vec![step, what, examples.join("<br>")]);
        }
    }
    if let Some(first) = out.first_mut() {
        first.text.insert(0, String::new());
    }
    let mut all = vec![Section {
        level: 2,
        title: "Sentences".into(),
        text: vec!["By domain concept: one section per step module.".into()],
        table: None,
    }];
    all.extend(out);
    all
}

/// What a row says besides the description: requests, tags, scope.
fn notes(entry: &StepEntry) -> String {
    let mut s = String::new();
    if entry.waits {
        s.push_str(" *Waits* until it is true, up to the driver's patience (see *How long sentences wait*).");
    }
    if entry.replaces_last {
        s.push_str(" **Replaces the last answer.**");
    } else if entry.sends {
        s.push_str(" *Sends requests, keeps the last answer.*");
    }
    for need in &entry.needs {
        s.push_str(&format!(" Tag the scenario `@{need}`."));
    }
    match entry.scope.as_deref() {
        Some(scope) if scope.starts_with("scenario") => {
            s.push_str(" Effect: *this scenario only*.")
        }
        Some(scope) if scope.starts_with("platform") => {
            s.push_str(" Effect: *the whole platform* (tag `@serial`).")
        }
        _ => {}
    }
    s
}

fn parameters() -> Section {
    let mut rows = vec![
        vec![
            "`{int}`".into(),
            "a whole number".into(),
            "cucumber built-in".into(),
        ],
        vec![
            "`{string}`".into(),
            "text in double or single quotes".into(),
            "cucumber built-in".into(),
        ],
        vec![
            "`{word}`".into(),
            "one word without spaces".into(),
            "cucumber built-in".into(),
        ],
    ];
    for param in params() {
        rows.push(vec![
            format!("`{{{}}}`", param.name),
            format!("`{}`", param.regex),
            param.description,
        ]);
    }
    Section {
        level: 2,
        title: "Parameters".into(),
        text: Vec::new(),
        table: Some(Table {
            headers: vec!["parameter", "matches", "meaning"],
            rows,
        }),
    }
}

/// An operation's request body in words, for `When {actor} sends …`.
fn request_body(body: &[super::glossary::BodyField]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let fields: Vec<String> = body
        .iter()
        .map(|f| {
            let required = if f.required { "required" } else { "optional" };
            format!(
                "`{}` ({required}: {})",
                f.name,
                f.accepts.trim_end_matches('.')
            )
        })
        .collect();
    format!(". Request body, a JSON object: {}", fields.join("; "))
}

fn glossary_sections() -> Vec<Section> {
    let g = glossary();
    let mut out = vec![Section {
        level: 2,
        title: "Glossary".into(),
        text: vec!["Generated from `services/openapi.json` (operations, statuses, error codes, currencies, event types), the services' code (what each payment status and failure reason means) and the drivers' settings (retries and timeouts).".into()],
        table: None,
    }];
    // Operations: one table, a row per status.
    let mut rows = Vec::new();
    for op in &g.operations {
        let scope = if op.scopes.is_empty() {
            String::new()
        } else {
            format!(" (token scope `{}`)", op.scopes.join("`, `"))
        };
        for (i, status) in op.statuses.iter().enumerate() {
            // What the operation does, once; its method and path on every row (searchable).
            let operation = if i == 0 {
                format!(
                    "`{} {}`: {}{scope}{}",
                    op.method,
                    op.path,
                    op.summary,
                    request_body(&op.body)
                )
            } else {
                format!("`{} {}`", op.method, op.path)
            };
            if status.errors.is_empty() {
                let mut meaning = status.description.clone();
                if !status.fields.is_empty() {
                    meaning.push_str(&format!(
                        ". Fields, for `Then the response field \"…\" is \"…\"`: `{}`",
                        status.fields.join("`, `")
                    ));
                }
                rows.push(vec![
                    operation.clone(),
                    status.code.clone(),
                    String::new(),
                    meaning,
                ]);
            }
            for error in &status.errors {
                rows.push(vec![
                    operation.clone(),
                    status.code.clone(),
                    format!("`{}`", error.name),
                    error.meaning.clone(),
                ]);
            }
        }
    }
    out.push(Section {
        level: 3,
        title: "Operations, statuses and error codes".into(),
        text: vec!["Every public operation edge serves, each status it can answer and, for an error, each machine code with what it means. Check a refusal with `Then the response is <status> with error code \"<code>\"`.".into()],
        table: Some(Table {
            headers: vec!["operation", "status", "error code", "meaning"],
            rows,
        }),
    });
    let terms =
        |title: &str, intro: &str, head: &'static str, list: &[super::glossary::Term]| Section {
            level: 3,
            title: title.to_owned(),
            text: vec![intro.to_owned()],
            table: Some(Table {
                headers: vec![head, "meaning"],
                rows: list
                    .iter()
                    .map(|t| vec![format!("`{}`", t.name), t.meaning.clone()])
                    .collect(),
            }),
        };
    out.push(roles(g));
    out.push(Section {
        level: 3,
        title: "Error codes that name a field".into(),
        text: vec!["An error answer's body is `{\"code\": …, \"message\": …}`; for these codes it also has `field`, the request field at fault, e.g. `Then the response field \"field\" is \"amount\"`. Other codes have no `field`. Read from the services' typed errors.".into()],
        table: Some(Table {
            headers: vec!["code", "`field`"],
            rows: g
                .field_codes
                .iter()
                .map(|t| vec![format!("`{}`", t.name), t.meaning.clone()])
                .collect(),
        }),
    });
    out.push(terms("Payment statuses", "A payment's `status`, as `Then the payment is …` and `Then the payment ends up …` check it; the meaning is the payments saga's, step by step.", "status", &g.payment_statuses));
    out.push(terms(
        "Failure reasons",
        "A failed payment's `failure_reason`, as `Then the payment fails because \"…\"` checks it.",
        "reason",
        &g.failure_reasons,
    ));
    out.push(terms(
        "Currencies",
        "Every currency an account or a payment may be in; money is written in major units.",
        "currency",
        &g.currencies,
    ));
    out.push(terms(
        "Webhook event types",
        "The events a merchant's endpoint can receive.",
        "event",
        &g.event_types,
    ));
    out.push(terms("Webhook delivery states", "A delivery's `status` in `GET /v1/webhook-deliveries` (the sentences write `dead-lettered`).", "state", &g.delivery_states));
    let mut rows = Vec::new();
    for driver in &g.timings {
        for (what, how) in &driver.facts {
            rows.push(vec![
                format!("`{}`", driver.driver),
                what.clone(),
                how.clone(),
            ]);
        }
    }
    out.push(Section {
        level: 3,
        title: "Retries and timeouts, per driver".into(),
        text: vec![
            "How long to expect things to take, as each driver sets the platform up.".into(),
        ],
        table: Some(Table {
            headers: vec!["driver", "what", "how"],
            rows,
        }),
    });
    out.push(waiting(g));
    let listed = |pick: &dyn Fn(&StepEntry) -> bool| -> Vec<String> {
        let mut v: Vec<String> = entries()
            .iter()
            .filter(|e| pick(e))
            .map(|e| format!("`{}`", e.sentence()))
            .collect();
        v.dedup();
        v
    };
    out.push(Section {
        level: 3,
        title: "Sentences that replace the last answer".into(),
        text: vec![
            "These send a request whose answer becomes the one `the response …` sentences check. Put a `the response …` check right after the sentence whose answer it is about.".into(),
            listed(&|e| e.replaces_last).join(", "),
        ],
        table: None,
    });
    let mut by_tag: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries() {
        for need in &e.needs {
            let list = by_tag.entry(format!("`@{need}`")).or_default();
            let s = format!("`{}`", e.sentence());
            if !list.contains(&s) {
                list.push(s);
            }
        }
    }
    out.push(Section {
        level: 3,
        title: "Sentences that need a tag".into(),
        text: vec!["A scenario using one of these must carry the tag (the check mode says when one is missing).".into()],
        table: Some(Table {
            headers: vec!["tag", "sentences"],
            rows: by_tag.into_iter().map(|(t, s)| vec![t, s.join(", ")]).collect(),
        }),
    });
    out.push(Section {
        level: 3,
        title: "Effects: this scenario only, or the whole platform".into(),
        text: vec![
            format!(
                "*This scenario only* (safe to run alongside everything else): {}.",
                listed(&|e| e
                    .scope
                    .as_deref()
                    .is_some_and(|s| s.starts_with("scenario")))
                .join(", ")
            ),
            format!(
                "*The whole platform* (tag the scenario `@serial`): {}.",
                listed(&|e| e
                    .scope
                    .as_deref()
                    .is_some_and(|s| s.starts_with("platform")))
                .join(", ")
            ),
        ],
        table: None,
    });
    out
}

/// What each role's token carries and so which operations it may call, from auth's grants
/// and the operations' scopes.
fn roles(g: &super::Glossary) -> Section {
    let rows = g
        .roles
        .iter()
        .map(|role| {
            let calls: Vec<String> = g
                .operations
                .iter()
                .filter(|op| !op.scopes.is_empty() && role.may_call(op))
                .map(|op| format!("`{} {}`", op.method, op.path))
                .collect();
            vec![
                format!("`{}`", role.name),
                format!("`{}`", role.scopes.join("`, `")),
                calls.join(", "),
            ]
        })
        .collect();
    Section {
        level: 3,
        title: "Roles and their tokens".into(),
        text: vec![
            "A customer (`Given Alice is a customer with …`) signs in as `customer`, a merchant (`Given \"Acme Coffee\" is a merchant settling in …`) as `merchant`, and `the operator` as `operator`. Every token of a role carries the role's scopes, as auth grants them; an operation that needs a scope the token lacks answers 403 `forbidden`, one called without a token (or with a forged or expired one) 401 `unauthenticated`. Operations that need no scope (signing in, health, the API document) are open to everyone, `a stranger` included. Whose data a token reaches is narrower still: an account or payment of another party answers 404 `not_found`.".into(),
        ],
        table: Some(Table {
            headers: vec!["role", "scopes", "operations it may call"],
            rows,
        }),
    }
}

/// How long waiting sentences wait, per driver, and which sentences wait.
fn waiting(g: &super::Glossary) -> Section {
    let mut sentences: Vec<String> = entries()
        .iter()
        .filter(|e| e.waits)
        .map(|e| format!("`{}`", e.sentence()))
        .collect();
    sentences.dedup();
    let rows = g
        .timings
        .iter()
        .flat_map(|driver| {
            driver
                .facts
                .iter()
                .filter(|(what, _)| what == drivers::timings::WAITING)
                .map(|(_, how)| vec![format!("`{}`", driver.driver), how.clone()])
        })
        .collect();
    Section {
        level: 3,
        title: "How long sentences wait".into(),
        text: vec![
            "Sentences marked *Waits* check something that happens after the request that caused it (a payment finishing, a webhook arriving, a balance catching up). They poll instead of checking once, so they pass as soon as it is true, and fail only once the driver's patience is spent:".into(),
            sentences.join(", "),
        ],
        table: Some(Table {
            headers: vec!["driver", "waiting sentences"],
            rows,
        }),
    }
}
