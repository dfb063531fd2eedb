//! The README's "Trying the platform by hand", run as written against the real `minibank`
//! binary: the section's `sh` blocks, in order, with bash.
//!
//! The section gives two ways to start: the default ports, and free ports "if those are taken".
//! On a machine shared with other tests the default ports may well be taken, so this runs the
//! free-ports block, as the README allows. `cargo run -p minibank --` in it is the binary cargo
//! built for this test (a shell function stands in for `cargo`; building again inside a test
//! would wait on cargo's lock). Every other block runs unchanged, in one bash with
//! `set -euo pipefail`, in the directory `up` was started in. Afterwards the test checks,
//! through the platform itself, what the walk-through showed: the payment settled, the
//! merchant's webhook was delivered, and the trace holds every hop.

mod binary_support;

use std::process::Command;
use std::time::Duration;

use harness::fetch::JaegerFetcher;
use harness::model::TraceId;
use harness::settle::{Expectation, settle};
use serde_json::Value;

use binary_support::{BINARY, Running, clean_env, value_after};

const README: &str = include_str!("../../README.md");
const SECTION: &str = "## Trying the platform by hand";
/// How a block that starts the platform begins.
const START: &str = "cargo run -p minibank -- up";
/// How long the walk-through's commands may take in all.
const WALKTHROUGH_DEADLINE: Duration = Duration::from_secs(120);

/// Makes `cargo run -p minibank -- ARGS` run the test's binary with ARGS.
const CARGO_STAND_IN: &str = r#"cargo() {
  if [ "$1 $2 $3 $4" != "run -p minibank --" ]; then echo "unexpected: cargo $*" >&2; exit 2; fi
  shift 4
  exec "$WALKTHROUGH_MINIBANK" "$@"
}
"#;

/// Writes the values the walk-through's variables ended with, for the checks that follow.
const EPILOGUE: &str = r#"
jq -n --arg payment_id "$PAYMENT_ID" --arg merchant_id "$MERCHANT_ID" --arg trace "$TRACE" \
  --arg customer_token "$CUSTOMER_TOKEN" --arg merchant_token "$MERCHANT_TOKEN" \
  --arg edge "$EDGE" --arg sandbox "$SANDBOX" --arg traces "$TRACES" \
  '$ARGS.named' > walkthrough-values.json
"#;

/// The `sh` code blocks of the README's walk-through section, in order.
fn walkthrough_blocks() -> Vec<String> {
    let start = README
        .find(SECTION)
        .expect("the README has the walk-through section");
    let section = &README[start + SECTION.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in section.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "an unclosed code block in the walk-through"
    );
    blocks
}

#[tokio::test]
async fn the_readme_walk_through_runs_as_written_and_settles_a_payment_with_its_webhook() {
    let blocks = walkthrough_blocks();
    let (starts, steps): (Vec<_>, Vec<_>) =
        blocks.iter().partition(|block| block.starts_with(START));
    assert_eq!(
        starts.len(),
        2,
        "a default start and a free-ports start: {starts:#?}"
    );
    let free_ports = starts
        .iter()
        .find(|block| block.contains("127.0.0.1:0"))
        .expect("the README says how to start on free ports");
    assert!(steps.len() >= 5, "the walk-through's steps: {steps:#?}");

    let dir = tempfile::tempdir().unwrap();
    let up = Running::start(
        clean_env(&mut Command::new("bash"))
            .arg("-c")
            .arg(format!("{CARGO_STAND_IN}{free_ports}"))
            .env("WALKTHROUGH_MINIBANK", BINARY)
            .current_dir(dir.path()),
    );
    let printed = up.read_until(|line| line.contains("press Ctrl-C"));
    assert!(
        printed
            .iter()
            .any(|l| l.ends_with("(sandbox, started here)")),
        "up says the sandbox is the provider: {printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.trim() == "source minibank-data/up.env"),
        "up says how to follow the walk-through: {printed:#?}"
    );

    let script = format!(
        "set -euo pipefail\n{}{EPILOGUE}",
        steps.iter().map(|s| s.as_str()).collect::<String>()
    );
    let mut bash = Command::new("bash");
    clean_env(&mut bash)
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path());
    let walkthrough = tokio::process::Command::from(bash)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(WALKTHROUGH_DEADLINE, walkthrough)
        .await
        .unwrap_or_else(|_| panic!("the walk-through did not finish in {WALKTHROUGH_DEADLINE:?}"))
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walk-through failed ({}):\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let values: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("walkthrough-values.json")).unwrap(),
    )
    .unwrap();
    let value = |name: &str| values[name].as_str().unwrap_or_default().to_owned();
    let (payment_id, trace) = (value("payment_id"), value("trace"));
    let (edge, sandbox, traces) = (value("edge"), value("sandbox"), value("traces"));
    assert_eq!(
        edge,
        value_after(&printed, "edge"),
        "up.env agrees with what up printed"
    );
    assert_eq!(sandbox, value_after(&printed, "provider"));

    // What the walk-through printed, as the README says it would.
    let lines: Vec<&str> = stdout.lines().collect();
    let settled = format!(r#"{{"payment_id":"{payment_id}","status":"settled"}}"#);
    assert!(lines.contains(&settled.as_str()), "{stdout}");
    let delivery = lines
        .iter()
        .find(|l| l.contains(r#""type":"payment.settled""#))
        .unwrap_or_else(|| panic!("no delivery in the merchant's inbox was shown:\n{stdout}"));
    assert!(delivery.contains(&format!("00-{trace}-")), "{delivery}");
    assert!(
        lines.contains(&format!("trace {trace}").as_str()),
        "{stdout}"
    );
    // The services follow the trace id; the waterfall link comes last.
    let after_trace = lines
        .iter()
        .skip_while(|l| **l != format!("trace {trace}"))
        .nth(1)
        .unwrap_or(&"");
    let services: Vec<String> = serde_json::from_str(after_trace).unwrap_or_else(|_| {
        panic!("the trace's services were not printed after its id:\n{stdout}")
    });
    assert!(!services.is_empty(), "{stdout}");
    assert_eq!(
        lines.last(),
        Some(&format!("waterfall: {traces}/trace/{trace}").as_str()),
        "the waterfall link is printed last:\n{stdout}"
    );

    // The same facts, read from the platform.
    let http = reqwest::Client::new();
    let payment = get_json(
        &http,
        &format!("{edge}/v1/payments/{payment_id}"),
        &value("customer_token"),
    )
    .await;
    assert_eq!(payment["status"], "settled", "{payment}");
    let transfer = get_json(&http, &format!("{sandbox}/transfers/{payment_id}"), "").await;
    assert_eq!(transfer["status"], "accepted", "{transfer}");
    let delivered = eventually_delivered(&http, &edge, &value("merchant_token"), &payment_id).await;
    assert_eq!(delivered["event_type"], "payment.settled");

    // The trace: every hop, from edge to the merchant's webhook (and the sandbox on both ends).
    let expected = [
        "edge",
        "auth",
        "payments",
        "ledger",
        "webhooks",
        "provider-sandbox",
    ];
    let settled_trace = settle(
        &JaegerFetcher::new(traces.as_str()),
        &TraceId::parse(&trace).unwrap(),
        &Expectation::services(expected).within(Duration::from_secs(20)),
    )
    .await
    .unwrap_or_else(|error| panic!("the payment's trace did not settle: {error}"));
    let reported = settled_trace.services();
    assert!(
        expected.iter().all(|s| reported.contains(*s)),
        "{reported:?}"
    );
}

/// The merchant's delivery of the payment's event, once it says `delivered`: the webhook's
/// arrival in the inbox and the status written after it are two moments, so this waits
/// (at most 20 s) for the second.
async fn eventually_delivered(
    http: &reqwest::Client,
    edge: &str,
    merchant_token: &str,
    payment_id: &str,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let list = get_json(
            http,
            &format!("{edge}/v1/webhook-deliveries"),
            merchant_token,
        )
        .await;
        let delivered = list["deliveries"].as_array().and_then(|deliveries| {
            deliveries
                .iter()
                .find(|d| d["payment_id"] == payment_id && d["status"] == "delivered")
                .cloned()
        });
        if let Some(delivery) = delivered {
            return delivery;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the delivery was not marked delivered within 20 s: {list}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET url` (with `token` as a bearer token unless empty), its JSON body.
async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let mut request = http.get(url);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    response.json().await.unwrap()
}
