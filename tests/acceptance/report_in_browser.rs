//! The HTML report, checked the way a person sees it: a real run (the in-process platform, the
//! fixture feature `report_fixture/` with one passing payment and one scenario failing on
//! purpose) writes its report, and Debian's headless Chromium opens it; each check reads the
//! DOM *after the page's scripts ran* (`--dump-dom`):
//! - the counts at the top;
//! - the failing scenario's message, in the failures section, before every passed scenario;
//! - the payment's trace (opened by its link) drawn as a waterfall, services in call order,
//!   client spans naming their peers, the outbox hop marked async, the merchant's webhook
//!   attached;
//! - the filter (status, tag, text) hiding what it should, and only that;
//! - the trace sink's `/traces` and `/trace/{id}` pages, drawn by the same renderer.
//!
//! Chromium must be installed (`bash .ci/setup` installs Debian's `chromium`); without it the
//! test fails and says so. Ends with `report_in_browser: N passed, N failed`.

// The modules are shared with the entry point; not every part of them is used here.
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
#[path = "reports.rs"]
mod reports;
#[path = "run.rs"]
mod run;
#[path = "scenario_record.rs"]
mod scenario_record;
#[path = "shard.rs"]
mod shard;
#[path = "summary.rs"]
mod summary;

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use regex::Regex;

/// The fixture features, wherever the test is run from.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/acceptance/report_fixture"
);

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--list") {
        return ExitCode::SUCCESS;
    }
    let chromium = match find_chromium() {
        Some(path) => path,
        None => {
            eprintln!(
                "report_in_browser: no Chromium found (looked for $CHROMIUM, chromium, chromium-browser); \
                 install Debian's chromium: bash .ci/setup"
            );
            println!("report_in_browser: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let dir = std::env::temp_dir().join(format!("report-in-browser-{}", std::process::id()));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("report_in_browser: cannot start the tokio runtime: {e}");
            println!("report_in_browser: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let report = match real_run(&runtime, &dir) {
        Ok(path) => path,
        Err(e) => {
            eprintln!("report_in_browser: the run did not give a report to check: {e}");
            println!("report_in_browser: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    // The trace sink's own pages, served while Chromium reads them (the sink runs on the
    // runtime's worker threads).
    let sink = match runtime.block_on(harness::sink::TraceSink::start(
        harness::sink::SinkConfig::ephemeral(),
    )) {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("report_in_browser: cannot start a trace sink: {e}");
            println!("report_in_browser: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    sink.store().insert(sink_trace());
    let browser = Browser {
        chromium,
        profile: dir.join("chromium-profile"),
        report: report.clone(),
        sink_url: sink.query_url(),
    };
    let checks: [(&str, Check); 5] = [
        ("the counts", counts),
        (
            "the failing scenario's message, failures first",
            failure_message,
        ),
        ("a payment's waterfall", payment_waterfall),
        ("the filter", filter),
        ("the trace sink's pages", sink_pages),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, check) in checks {
        match check(&browser) {
            Ok(what) => {
                passed += 1;
                println!("report_in_browser: ok: {name}: {what}");
            }
            Err(why) => {
                failed += 1;
                println!("report_in_browser: FAILED: {name}: {why}");
            }
        }
    }
    if failed == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!(
            "report_in_browser: the report is kept at {}",
            report.display()
        );
    }
    println!("report_in_browser: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One check of the page: what it saw when it passed, what was wrong when it failed.
type Check = fn(&Browser) -> Result<String, String>;

fn find_chromium() -> Option<PathBuf> {
    if let Some(given) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(given));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// Runs the fixture features on the in-process platform, console discarded; the run must
/// end with exactly the one failure the fixture makes on purpose.
fn real_run(runtime: &tokio::runtime::Runtime, dir: &Path) -> Result<PathBuf, String> {
    let args = [
        "report_in_browser".into(),
        "--input".into(),
        FIXTURE.into(),
        "--report-dir".into(),
        dir.as_os_str().to_owned(),
    ]
    .to_vec();
    let finished = runtime.block_on(run::run(args, std::io::sink()));
    let closing = finished.summary.lines().last().unwrap_or_default();
    if closing != "acceptance: 1 passed, 1 failed" {
        return Err(format!(
            "expected the fixture's 1 pass and 1 failure, the run ended with {closing:?}:\n{}",
            finished.summary
        ));
    }
    finished
        .html_report
        .ok_or_else(|| format!("no HTML report was written:\n{}", finished.summary))
}

/// Headless Chromium, opening the report.
struct Browser {
    chromium: PathBuf,
    profile: PathBuf,
    report: PathBuf,
    sink_url: String,
}

impl Browser {
    /// The DOM of `report.html<fragment>` after its scripts ran.
    fn dom(&self, fragment: &str) -> Result<String, String> {
        self.dom_of(&format!("file://{}{fragment}", self.report.display()))
    }

    /// The DOM of the page at `url` after its scripts ran.
    fn dom_of(&self, url: &str) -> Result<String, String> {
        let out = Command::new(&self.chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-dev-shm-usage",
            ])
            .arg(format!("--user-data-dir={}", self.profile.display()))
            .arg("--dump-dom")
            .arg(url)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", self.chromium.display()))?;
        let dom = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || !dom.contains("</html>") {
            return Err(format!(
                "chromium could not open {url} ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(dom)
    }
}

/// The text of the element whose opening tag matches `open` (up to its first `</tag>`).
fn element_text(dom: &str, open: &str, tag: &str) -> Option<String> {
    let start = Regex::new(open).ok()?.find(dom)?;
    let rest = &dom[start.end()..];
    let end = rest.find(&format!("</{tag}>"))?;
    Some(
        Regex::new("<[^>]+>")
            .ok()?
            .replace_all(&rest[..end], "")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">"),
    )
}

fn counts(browser: &Browser) -> Result<String, String> {
    let dom = browser.dom("")?;
    let count = |kind: &str| {
        element_text(
            &dom,
            &format!(r#"<div class="count [^"]*" data-count="{kind}">"#),
            "b",
        )
        .ok_or_else(|| format!("no {kind} count on the page"))
    };
    let (passed, failed) = (count("passed")?, count("failed")?);
    let title = element_text(&dom, r#"<h1 id="title">"#, "h1").unwrap_or_default();
    if passed == "1" && failed == "1" && title == "Acceptance run: 1 passed, 1 failed" {
        Ok(format!(
            "{title:?}; boxes say {passed} passed, {failed} failed"
        ))
    } else {
        Err(format!(
            "title {title:?}, boxes {passed} passed / {failed} failed; expected 1 and 1"
        ))
    }
}

fn failure_message(browser: &Browser) -> Result<String, String> {
    let dom = browser.dom("")?;
    let message = element_text(&dom, r#"<pre class="failure-message">"#, "pre")
        .ok_or("no failure message on the page")?;
    // The step's own words: what Alice has (90.00 GBP after paying 10.00) and what was expected.
    if !message.contains("Alice has 90.00 GBP") || !message.contains("expected 99.99 GBP") {
        return Err(format!("the failure message says {message:?}"));
    }
    let failed_at = dom
        .find(r#"<details class="scenario failed""#)
        .ok_or("no failed scenario card")?;
    let passed_at = dom
        .find(r#"<details class="scenario passed""#)
        .ok_or("no passed scenario card")?;
    let link = Regex::new(r##"<a class="trace-link" href="#trace=[0-9a-f]{32}">"##)
        .map_err(|e| e.to_string())?;
    if failed_at > passed_at {
        return Err("the failed scenario is listed after a passed one".into());
    }
    if !link.is_match(&dom[failed_at..]) {
        return Err("the failure does not link to its trace".into());
    }
    Ok(format!("{message:?}, listed first, linked to its trace"))
}

fn payment_waterfall(browser: &Browser) -> Result<String, String> {
    let trace = payment_trace(&browser.report)?;
    let dom = browser.dom(&format!("#trace={trace}"))?;
    let start = dom
        .find(&format!(r#"<div class="wf" data-trace="{trace}">"#))
        .ok_or("opening the payment's trace link shows no waterfall")?;
    let waterfall = &dom[start..];
    let waterfall = &waterfall[..waterfall.find("</details>").unwrap_or(waterfall.len())];
    let row = Regex::new(r#"<div class="wf-row( error)?( async)?" data-service="([^"]+)""#)
        .map_err(|e| e.to_string())?;
    let mut services: Vec<String> = Vec::new();
    let mut async_rows = 0;
    for c in row.captures_iter(waterfall) {
        if c.get(2).is_some() {
            async_rows += 1;
        }
        if !services.iter().any(|s| s == &c[3]) {
            services.push(c[3].to_owned());
        }
    }
    let expected = ["harness", "edge", "auth", "payments", "ledger", "webhooks"];
    if services != expected {
        return Err(format!(
            "services appear in the order {services:?}, expected {expected:?}"
        ));
    }
    let labels =
        Regex::new(r#"<span class="wf-name">([^<]+)</span>"#).map_err(|e| e.to_string())?;
    let labels: Vec<String> = labels
        .captures_iter(waterfall)
        .map(|c| c[1].replace("&gt;", ">"))
        .collect();
    let in_order = [
        "payments → ledger POST /holds",
        "payments → provider POST /transfers",
        "webhooks → merchant POST",
    ];
    let mut at = 0;
    for wanted in in_order {
        match labels[at..].iter().position(|l| l.starts_with(wanted)) {
            Some(found) => at += found + 1,
            None => {
                return Err(format!(
                    "no row {wanted:?} after the rows before it; rows: {labels:#?}"
                ));
            }
        }
    }
    if async_rows == 0 {
        return Err("the outbox hop is not marked async".into());
    }
    if !waterfall.contains("the merchant's webhook, received on this trace") {
        return Err("the merchant's webhook is not attached to the payment's trace".into());
    }
    Ok(format!(
        "{} rows, services {services:?}, {in_order:?} in order, {async_rows} async hop(s), webhook attached",
        labels.len()
    ))
}

/// The trace of the passing scenario's `POST /v1/payments`, from the page's data.
fn payment_trace(report: &Path) -> Result<String, String> {
    let page = std::fs::read_to_string(report).map_err(|e| e.to_string())?;
    let data = element_text(
        &page,
        r#"<script type="application/json" id="run-data">"#,
        "script",
    )
    .ok_or("the page has no run data")?;
    let run: serde_json::Value =
        serde_json::from_str(&data.replace("<\\/", "</")).map_err(|e| e.to_string())?;
    run["features"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["scenarios"].as_array().into_iter().flatten())
        .filter(|s| s["status"] == "passed")
        .flat_map(|s| s["requests"].as_array().into_iter().flatten())
        .find(|r| r["method"] == "POST" && r["path"] == "/v1/payments")
        .and_then(|r| r["trace_id"].as_str().map(str::to_owned))
        .ok_or_else(|| "the passing scenario sent no POST /v1/payments".into())
}

fn filter(browser: &Browser) -> Result<String, String> {
    let card = Regex::new(r#"<details class="scenario (passed|failed)"[^>]*>"#)
        .map_err(|e| e.to_string())?;
    let mut said = Vec::new();
    for (fragment, visible) in [
        ("#status=failed", "failed"),
        ("#tag=report-pays", "passed"),
        ("#q=wrong%20on%20purpose", "failed"),
    ] {
        let dom = browser.dom(fragment)?;
        let cards: Vec<(String, bool)> = card
            .captures_iter(&dom)
            .map(|c| (c[1].to_owned(), c[0].contains(" hidden")))
            .collect();
        let shown: Vec<&str> = cards
            .iter()
            .filter(|(_, hidden)| !hidden)
            .map(|(status, _)| status.as_str())
            .collect();
        let counter = element_text(&dom, r#"<span class="muted" id="shown"[^>]*>"#, "span")
            .unwrap_or_default();
        if cards.len() != 2 || shown != [visible] || !counter.starts_with("1 of 2") {
            return Err(format!(
                "{fragment}: shown {shown:?} of {} cards, counter {counter:?}; expected only the {visible} one",
                cards.len()
            ));
        }
        said.push(format!("{fragment} shows only the {visible} scenario"));
    }
    Ok(said.join("; "))
}

/// The trace the sink serves: payments holding money at the ledger, the client span named the
/// way the services name it.
fn sink_trace() -> Vec<harness::model::Span> {
    use harness::model::{
        AttrValue, Resource, Span, SpanId, SpanKind, SpanStatus, StatusCode, TraceId,
    };
    let span = |id: u64, parent: Option<u64>, service: &str, kind: SpanKind, name: &str| Span {
        trace_id: TraceId::parse(SINK_TRACE).expect("valid id"),
        span_id: SpanId::from_bytes(&id.to_be_bytes()).expect("valid id"),
        parent_span_id: parent.map(|p| SpanId::from_bytes(&p.to_be_bytes()).expect("valid id")),
        resource: std::sync::Arc::new(Resource::service(service)),
        scope: None,
        name: name.to_owned(),
        kind,
        start_unix_nanos: 1_000_000_000 + id * 1_000_000,
        end_unix_nanos: 1_000_000_000 + (10 - id) * 1_000_000,
        attributes: if kind == SpanKind::Client {
            [
                ("peer.service", "ledger"),
                ("http.request.method", "POST"),
                ("url.template", "/holds"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), AttrValue::String(v.to_owned())))
            .collect()
        } else {
            Default::default()
        },
        status: SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        },
        events: Vec::new(),
        links: Vec::new(),
    };
    vec![
        span(1, None, "payments", SpanKind::Server, "POST /v1/payments"),
        span(2, Some(1), "payments", SpanKind::Client, "POST /holds"),
        span(3, Some(2), "ledger", SpanKind::Server, "POST /holds"),
    ]
}

const SINK_TRACE: &str = "5aa66235e8014dbca7e0850919908910";

fn sink_pages(browser: &Browser) -> Result<String, String> {
    let list = browser.dom_of(&format!("{}/traces", browser.sink_url))?;
    if !list.contains(&format!("<a href=\"/trace/{SINK_TRACE}\">")) {
        return Err("the recent-traces page does not link the trace".into());
    }
    let page = browser.dom_of(&format!("{}/trace/{SINK_TRACE}", browser.sink_url))?;
    let rows: Vec<&str> = page
        .split("<div class=\"wf-row")
        .skip(1)
        .filter_map(|row| row.split("data-service=\"").nth(1)?.split('"').next())
        .collect();
    if rows != ["payments", "payments", "ledger"] {
        return Err(format!("the waterfall's rows are {rows:?}"));
    }
    if !page.contains("payments → ledger POST /holds") {
        return Err("the client span does not name its peer".into());
    }
    Ok(format!(
        "/traces links it; /trace/{{id}} draws rows {rows:?} with `payments → ledger POST /holds`"
    ))
}
