//! The HTML report's budgets, measured (BENCHMARKS.md, "HTML report"): how long laying out
//! the traces and writing the page take, how big it is, and how long headless Chromium takes
//! to open and draw it.
//!
//! ```sh
//! # a generated run of 1,000 scenarios (13 requests each, payment-shaped traces)
//! cargo run --bin report-bench -- --scenarios 1000 --chromium
//! # only open an existing report (e.g. the suite's) in Chromium
//! cargo run --bin report-bench -- --open target/acceptance/report.html
//! ```
//! Each figure is the median of `--repeat` runs.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use harness::{
    model::{AttrValue, Resource, Span, SpanId, SpanKind, SpanStatus, StatusCode, Trace, TraceId},
    report::{
        Counts, FeatureReport, RequestReport, RunReport, ScenarioReport, StepReport, TraceView,
        render_report,
    },
};

#[derive(Parser)]
struct Flags {
    /// Scenarios in the generated run.
    #[arg(long, default_value_t = 1000)]
    scenarios: usize,
    /// Requests (each with its own trace) per scenario.
    #[arg(long, default_value_t = 13)]
    requests: usize,
    /// Where the generated page goes.
    #[arg(long, default_value = "target/report-bench/report.html")]
    out: PathBuf,
    /// Also open the page in headless Chromium and time it.
    #[arg(long)]
    chromium: bool,
    /// Only open this existing report in Chromium (no generation).
    #[arg(long)]
    open: Option<PathBuf>,
    /// How many times each figure is taken (the median is shown).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

fn main() -> Result<(), String> {
    let flags = Flags::parse();
    if let Some(page) = &flags.open {
        return open_in_chromium(page, flags.repeat);
    }
    let traces = generate_traces(flags.scenarios * flags.requests);
    let mut layout = Vec::new();
    let mut render = Vec::new();
    let mut page = String::new();
    for _ in 0..flags.repeat {
        let started = Instant::now();
        let views: std::collections::BTreeMap<String, TraceView> = traces
            .iter()
            .map(|t| (t.trace_id.to_string(), TraceView::of(t)))
            .collect();
        layout.push(started.elapsed());
        let run = generated_run(flags.scenarios, flags.requests, views);
        let started = Instant::now();
        page = render_report(&run);
        std::fs::create_dir_all(flags.out.parent().unwrap_or(Path::new(".")))
            .map_err(|e| e.to_string())?;
        std::fs::write(&flags.out, &page).map_err(|e| e.to_string())?;
        render.push(started.elapsed());
    }
    println!(
        "report-bench: {} scenarios, {} traces of {} spans: layout {:.1} ms, page rendered and written {:.1} ms, {:.2} MB ({})",
        flags.scenarios,
        traces.len(),
        traces.iter().map(|t| t.spans.len()).sum::<usize>(),
        ms(median(&mut layout)),
        ms(median(&mut render)),
        page.len() as f64 / 1_000_000.0,
        flags.out.display()
    );
    if flags.chromium {
        open_in_chromium(&flags.out, flags.repeat)?;
    }
    Ok(())
}

/// Opens `page` in headless Chromium `repeat` times: the process's wall time (start, load,
/// scripts, DOM dump) and the page's own time from navigation to its script's end.
fn open_in_chromium(page: &Path, repeat: usize) -> Result<(), String> {
    let page = page
        .canonicalize()
        .map_err(|e| format!("{}: {e}", page.display()))?;
    let profile = std::env::temp_dir().join(format!("report-bench-{}", std::process::id()));
    let mut wall = Vec::new();
    let mut in_page = Vec::new();
    for _ in 0..repeat {
        let started = Instant::now();
        let out = Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--dump-dom",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .map_err(|e| format!("chromium: {e}"))?;
        wall.push(started.elapsed());
        let dom = String::from_utf8_lossy(&out.stdout);
        let rendered = dom
            .split("data-rendered-ms=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or("the page did not say when it had rendered (its script failed?)")?;
        in_page.push(Duration::from_millis(rendered));
    }
    let _ = std::fs::remove_dir_all(&profile);
    println!(
        "report-bench: chromium opened {}: {:.0} ms in the page (navigation to drawn), {:.0} ms for the whole headless run",
        page.display(),
        ms(median(&mut in_page)),
        ms(median(&mut wall)),
    );
    Ok(())
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` traces shaped like the suite's: every fourth a payment (18 spans through edge, auth,
/// payments, ledger, the provider and the outbox to webhooks), the others a sign-in or a read
/// (4 spans), with the attributes the services really set.
fn generate_traces(n: usize) -> Vec<Trace> {
    (0..n)
        .map(|i| {
            let trace_id = TraceId::parse(&format!("{:032x}", i + 1)).expect("valid id");
            let mut spans = Vec::new();
            let mut next = 0u64;
            let mut add = |parent: Option<u64>,
                           service: &str,
                           kind: SpanKind,
                           name: &str,
                           t: (u64, u64),
                           peer: Option<&str>| {
                next += 1;
                let id = (i as u64) << 8 | next;
                let mut attributes: harness::model::Attributes = [
                    ("http.request.method", "POST".to_owned()),
                    (
                        "url.full",
                        format!("http://127.0.0.1:4{next:04}/{name}/{i}"),
                    ),
                    ("server.address", "127.0.0.1".to_owned()),
                    ("network.protocol.version", "1.1".to_owned()),
                    ("url.scheme", "http".to_owned()),
                    ("minibank.test.namespace", format!("s{:06x}", i / 13)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), AttrValue::String(v)))
                .collect();
                attributes.insert("http.response.status_code".into(), AttrValue::Int(200));
                attributes.insert("server.port".into(), AttrValue::Int(40000 + next as i64));
                if let Some(peer) = peer {
                    attributes.insert("peer.service".into(), AttrValue::String(peer.into()));
                }
                spans.push(Span {
                    trace_id: trace_id.clone(),
                    span_id: SpanId::parse(&format!("{id:016x}")).expect("valid id"),
                    parent_span_id: parent.map(|p| {
                        SpanId::parse(&format!("{:016x}", (i as u64) << 8 | p)).expect("valid id")
                    }),
                    resource: Arc::new(Resource::service(service)),
                    scope: None,
                    name: name.to_owned(),
                    kind,
                    start_unix_nanos: 1_700_000_000_000_000_000 + t.0 * 1_000,
                    end_unix_nanos: 1_700_000_000_000_000_000 + t.1 * 1_000,
                    attributes,
                    status: SpanStatus {
                        code: StatusCode::Unset,
                        message: String::new(),
                    },
                    events: Vec::new(),
                    links: Vec::new(),
                });
                next
            };
            let root = add(
                None,
                "harness",
                SpanKind::Client,
                "POST",
                (0, 200_000),
                None,
            );
            let edge = add(
                Some(root),
                "edge",
                SpanKind::Server,
                "POST /v1/payments",
                (15_000, 195_000),
                None,
            );
            let call = add(
                Some(edge),
                "edge",
                SpanKind::Client,
                "POST",
                (15_100, 32_000),
                Some("auth"),
            );
            add(
                Some(call),
                "auth",
                SpanKind::Server,
                "POST /introspect",
                (23_000, 23_200),
                None,
            );
            if i % 4 == 0 {
                let call = add(
                    Some(edge),
                    "edge",
                    SpanKind::Client,
                    "POST",
                    (32_600, 194_000),
                    Some("payments"),
                );
                let pay = add(
                    Some(call),
                    "payments",
                    SpanKind::Server,
                    "POST /v1/payments",
                    (51_000, 193_000),
                    None,
                );
                for (k, (s, e)) in [(51_600, 83_000), (52_800, 76_000), (83_600, 131_000)]
                    .into_iter()
                    .enumerate()
                {
                    let c = add(
                        Some(pay),
                        "payments",
                        SpanKind::Client,
                        "POST",
                        (s, e),
                        Some("ledger"),
                    );
                    add(
                        Some(c),
                        "ledger",
                        SpanKind::Server,
                        ["GET /accounts", "GET /accounts", "POST /holds"][k],
                        (s + 8000, e - 2000),
                        None,
                    );
                }
                add(
                    Some(pay),
                    "payments",
                    SpanKind::Client,
                    "POST",
                    (131_400, 166_000),
                    Some("provider"),
                );
                let c = add(
                    Some(pay),
                    "payments",
                    SpanKind::Client,
                    "POST",
                    (167_900, 192_000),
                    Some("ledger"),
                );
                add(
                    Some(c),
                    "ledger",
                    SpanKind::Server,
                    "POST /holds/{hold_id}/capture",
                    (178_000, 186_000),
                    None,
                );
                let relay = add(
                    Some(pay),
                    "payments",
                    SpanKind::Client,
                    "POST",
                    (196_500, 215_000),
                    Some("webhooks"),
                );
                let events = add(
                    Some(relay),
                    "webhooks",
                    SpanKind::Server,
                    "POST /events",
                    (207_600, 208_800),
                    None,
                );
                add(
                    Some(events),
                    "webhooks",
                    SpanKind::Client,
                    "POST",
                    (235_000, 247_000),
                    Some("merchant"),
                );
            }
            Trace::new(trace_id, spans)
        })
        .collect()
}

/// A run of `scenarios` scenarios in 20 features, one in 25 failing, `requests` each.
fn generated_run(
    scenarios: usize,
    requests: usize,
    traces: std::collections::BTreeMap<String, TraceView>,
) -> RunReport {
    let ids: Vec<String> = traces.keys().cloned().collect();
    let mut features: Vec<FeatureReport> = (0..20)
        .map(|f| FeatureReport {
            name: format!("Generated feature {f}"),
            file: format!("generated_{f}.feature"),
            tags: vec![format!("area-{}", f % 5)],
            scenarios: Vec::new(),
        })
        .collect();
    let mut failed = 0;
    for s in 0..scenarios {
        let fails = s % 25 == 7;
        failed += usize::from(fails);
        let start = (s / 8) as f64 * 60.0;
        let per_scenario = requests;
        let requests: Vec<RequestReport> = (0..per_scenario)
            .map(|r| RequestReport {
                method: "POST".into(),
                path: format!("/v1/payments?scenario={s}&request={r}"),
                status: Some(201),
                error: None,
                request_headers: vec![
                    ("authorization".into(), "Bearer ••••".into()),
                    ("idempotency-key".into(), format!("s{s}-pay-{r}")),
                ],
                request_body: format!(r#"{{"amount":1000,"currency":"GBP","merchant_id":"mer_{s}","reference":"s{s} order"}}"#),
                response_body: format!(r#"{{"payment_id":"pay_{s}_{r}","status":"settled","amount":1000,"currency":"GBP","customer_id":"cus_{s}","merchant_id":"mer_{s}"}}"#),
                start_ms: start + r as f64 * 4.0,
                duration_ms: 3.5,
                trace_id: ids.get(s * per_scenario + r).cloned(),
            })
            .collect();
        let steps: Vec<StepReport> = (0..8)
            .map(|k| StepReport {
                keyword: ["Given", "And", "When", "Then"][k % 4].into(),
                text: format!(
                    "step {k} of generated scenario {s} with \"Acme Coffee\" paying 12.50 GBP"
                ),
                status: if fails && k == 7 { "failed" } else { "passed" }.into(),
                duration_ms: 6.0,
                error: (fails && k == 7)
                    .then(|| "Alice's balance is 90.00 GBP, expected 99.99 GBP".to_owned()),
                docstring: None,
                table: None,
                background: k < 2,
                trace_id: ids
                    .get(s * per_scenario + k.min(per_scenario.saturating_sub(1)))
                    .cloned(),
            })
            .collect();
        features[s % 20].scenarios.push(ScenarioReport {
            id: format!("s-generated-{s}"),
            key: format!("generated_{}.feature:{}: scenario {s}", s % 20, 10 + s),
            name: format!("Generated scenario {s}"),
            line: 10 + s,
            tags: vec![format!("area-{}", s % 5)],
            status: if fails { "failed" } else { "passed" }.into(),
            start_ms: start,
            end_ms: start + 55.0,
            failure: fails.then(|| "Alice's balance is 90.00 GBP, expected 99.99 GBP".to_owned()),
            failure_trace: requests.last().and_then(|r| r.trace_id.clone()),
            steps,
            requests,
            webhooks: Vec::new(),
            log_lines: Vec::new(),
        });
    }
    RunReport {
        driver: "generated".into(),
        seed: "42".into(),
        replay: "cargo run --bin report-bench".into(),
        started_at: "2026-11-29T00:00:00Z".into(),
        wall_ms: 60_000.0,
        counts: Counts {
            passed: scenarios - failed,
            failed,
            not_run: 0,
            steps_passed: scenarios * 8 - failed,
            steps_failed: failed,
            requests: scenarios * requests,
        },
        features,
        not_run: Vec::new(),
        problems: Vec::new(),
        traces,
    }
}
