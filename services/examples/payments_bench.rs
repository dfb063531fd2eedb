//! Platform benchmark (issue 2, point 10): payments per second and latency through edge.
//!
//! Every service runs in this process (`minibank::platform::start`), the bank provider and the
//! merchants' webhook endpoints are stub servers in this process too (small axum apps by default;
//! `--stubs wiremock` uses wiremock, which keeps every matched request, about 14 KiB per payment,
//! so it inflates the memory figure), and (tracing on) every
//! service exports OTLP/HTTP to an embedded harness trace sink. Each payment is a real HTTP
//! `POST /v1/payments` to edge with a unique `Idempotency-Key`: edge → auth introspection →
//! payments saga (ledger hold, provider submit, capture, outbox) → webhooks → merchant endpoint.
//!
//! Method: onboard a pool of customers (funded generously) and a few merchants with a webhook
//! endpoint through edge, warm up, then a closed loop of `--concurrency` clients for
//! `--duration` seconds (or `--count` payments, whichever comes first). Only 201 `settled`
//! counts as a success; every other outcome is tallied and printed. Latency per request is
//! kept as sorted samples. With `--tracing both` (default) the same run measures export on,
//! then export off (a fresh platform each), so their ratio comes from one run.
//!
//! Run: `cargo run --release -p minibank --example payments_bench -- --concurrency 32 --duration 20`

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use harness::model::SpanKind;
use harness::sink::{SinkConfig, TraceSink};
use minibank::api_client::{self, Parties};
use minibank::platform::{self, PlatformConfig};
use parking_lot::Mutex;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The allocator the `minibank` binary runs with (`services/src/main.rs`), so the figures are
/// the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug, Clone)]
#[command(about = "minibank payments through edge: throughput, latency, peak RSS")]
struct Args {
    /// Concurrent clients in the closed loop.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Stop a phase after this many measured payments (whichever comes first with --duration).
    #[arg(long)]
    count: Option<u64>,
    /// Warm-up seconds per phase (not counted).
    #[arg(long, default_value_t = 3.0)]
    warmup: f64,
    /// Customers onboarded and funded.
    #[arg(long, default_value_t = 64)]
    customers: usize,
    /// Merchants, each with a webhook endpoint.
    #[arg(long, default_value_t = 4)]
    merchants: usize,
    /// Trace export: on (to the embedded sink), off, or both (on, then off; ratio printed).
    #[arg(long, default_value = "both")]
    tracing: String,
    /// edge's introspection cache TTL in milliseconds (0: auth is asked on every request).
    #[arg(long, default_value_t = 0)]
    introspection_cache_ms: u64,
    /// Provider timeout in milliseconds (a slower answer makes the outcome unknown).
    #[arg(long, default_value_t = 2000)]
    provider_timeout_ms: u64,
    /// Batch schedule delay of span export, milliseconds.
    #[arg(long, default_value_t = 5)]
    export_delay_ms: u64,
    /// After the payments, this many `GET /v1/accounts/{id}` through edge (edge, auth, ledger
    /// reads only) to see whether memory grows per request without the money writes.
    #[arg(long, default_value_t = 0)]
    probe_reads: u64,
    /// Provider and merchant stubs: axum (default; keeps nothing per request) or wiremock.
    #[arg(long, default_value = "axum")]
    stubs: String,
    /// Span limit of the embedded sink's store (older traces are evicted beyond it).
    #[arg(long, default_value_t = 200_000)]
    sink_max_spans: usize,
    /// Byte limit (estimated span bytes) of the embedded sink's store; older traces are
    /// evicted beyond it. 48 MiB (about 55k spans, 70 MiB of heap) keeps a 60 s run under
    /// 200 MiB; the store's own default (96 MiB) costs about 145 MiB of heap (BENCHMARKS.md).
    #[arg(long, default_value_t = 48 << 20)]
    sink_max_bytes: usize,
}

/// Counts webhook deliveries and remembers when each payment's first one arrived.
#[derive(Default)]
struct Merchants {
    delivered: AtomicU64,
    /// Distinct `minibank-event-id`s received.
    events: Mutex<std::collections::HashSet<String>>,
    first_arrival: Mutex<HashMap<String, Instant>>,
}

impl Merchants {
    fn received(&self, headers: &http::HeaderMap, body: &[u8]) {
        let now = Instant::now();
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if let Some(event) = headers.get("minibank-event-id") {
            let event = String::from_utf8_lossy(event.as_bytes()).into_owned();
            self.events.lock().insert(event);
        }
        let body = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
        if let Some(id) = body["data"]["payment_id"].as_str() {
            self.first_arrival
                .lock()
                .entry(id.to_owned())
                .or_insert(now);
        }
    }
}

struct MerchantResponder(Arc<Merchants>);

impl Respond for MerchantResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.received(&request.headers, &request.body);
        ResponseTemplate::new(200)
    }
}

/// The provider and merchant stubs; the wiremock servers (if any) live as long as this.
struct Stubs {
    provider_url: String,
    merchant_url: String,
    _wiremock: Vec<MockServer>,
    axum: Vec<tokio::task::JoinHandle<()>>,
}

async fn start_stubs(kind: &str, merchants: Arc<Merchants>) -> anyhow::Result<Stubs> {
    match kind {
        "wiremock" => {
            let provider = MockServer::builder()
                .disable_request_recording()
                .start()
                .await;
            Mock::given(method("POST"))
                .and(path("/transfers"))
                .respond_with(
                    ResponseTemplate::new(201).set_body_json(json!({"status": "accepted"})),
                )
                .mount(&provider)
                .await;
            let merchant = MockServer::builder()
                .disable_request_recording()
                .start()
                .await;
            Mock::given(method("POST"))
                .respond_with(MerchantResponder(merchants))
                .mount(&merchant)
                .await;
            Ok(Stubs {
                provider_url: provider.uri(),
                merchant_url: merchant.uri(),
                _wiremock: vec![provider, merchant],
                axum: Vec::new(),
            })
        }
        "axum" => {
            use axum::routing::post;
            let provider = axum::Router::new().route(
                "/transfers",
                post(|| async {
                    (
                        http::StatusCode::CREATED,
                        axum::Json(json!({"status": "accepted"})),
                    )
                }),
            );
            let merchant = axum::Router::new().route(
                "/hooks/{n}",
                post(
                    move |headers: http::HeaderMap, body: axum::body::Bytes| async move {
                        merchants.received(&headers, &body);
                        http::StatusCode::OK
                    },
                ),
            );
            let mut urls = Vec::new();
            let mut tasks = Vec::new();
            for app in [provider, merchant] {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                urls.push(format!("http://{}", listener.local_addr()?));
                tasks.push(tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                }));
            }
            Ok(Stubs {
                merchant_url: urls.pop().unwrap_or_default(),
                provider_url: urls.pop().unwrap_or_default(),
                _wiremock: Vec::new(),
                axum: tasks,
            })
        }
        other => anyhow::bail!("--stubs must be axum or wiremock, not {other}"),
    }
}

#[derive(Default)]
struct LoopResult {
    /// (latency, payment id) of each 201 settled.
    settled: Vec<(Duration, String, Instant)>,
    /// Every other outcome: "status code / payment status or error code" → count.
    other: BTreeMap<String, u64>,
    other_latencies: Vec<Duration>,
}

struct PhaseReport {
    label: &'static str,
    measured_wall: Duration,
    result: LoopResult,
    cpu_seconds: f64,
    context_switches: u64,
    threads: usize,
    warmup_payments: u64,
    webhooks_expected: u64,
    webhooks_delivered: u64,
    webhook_events: u64,
    webhook_drain: Duration,
    webhook_lag: Vec<Duration>,
    /// The ledger's `GET /audit` after the load: whether it balanced, and the report.
    audit: (bool, Value),
    hwm_kib: u64,
    rss_kib: u64,
    /// VmRSS (KiB) and live tokio tasks when measuring started, and live tasks when it ended.
    rss_start_kib: u64,
    tasks_start: usize,
    tasks_end: usize,
    loadavg: String,
    tracing: Option<TraceFigures>,
}

struct TraceFigures {
    accepted: u64,
    duplicates: u64,
    sink_dropped: u64,
    evicted_spans: u64,
    service_dropped: BTreeMap<String, u64>,
    spans_per_payment: f64,
    profile: Vec<(String, usize, f64, f64, f64)>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let phases: Vec<bool> = match args.tracing.as_str() {
        "on" => vec![true],
        "off" => vec![false],
        "both" => vec![true, false],
        other => anyhow::bail!("--tracing must be on, off or both, not {other}"),
    };
    println!(
        "payments_bench: concurrency {}, duration {} s, count {:?}, warm-up {} s, {} customers, {} merchants, introspection cache {} ms, load average {}",
        args.concurrency,
        args.duration,
        args.count,
        args.warmup,
        args.customers,
        args.merchants,
        args.introspection_cache_ms,
        loadavg()
    );
    let mut reports = Vec::new();
    for tracing_on in phases {
        reports.push(run_phase(&args, tracing_on).await?);
    }
    for report in &reports {
        print_report(&args, report);
    }
    if let [on, off] = &reports[..] {
        let tput = |r: &PhaseReport| r.result.settled.len() as f64 / r.measured_wall.as_secs_f64();
        let mut on_lat = on.result.settled.iter().map(|s| s.0).collect::<Vec<_>>();
        let mut off_lat = off.result.settled.iter().map(|s| s.0).collect::<Vec<_>>();
        on_lat.sort();
        off_lat.sort();
        let cpu = |r: &PhaseReport| r.cpu_seconds * 1e3 / r.result.settled.len().max(1) as f64;
        println!(
            "tracing on/off ratio: throughput {:.3}, p50 {:.3}, p99 {:.3}, CPU per payment {:.3}",
            tput(on) / tput(off),
            pct(&on_lat, 0.50).as_secs_f64() / pct(&off_lat, 0.50).as_secs_f64(),
            pct(&on_lat, 0.99).as_secs_f64() / pct(&off_lat, 0.99).as_secs_f64(),
            cpu(on) / cpu(off),
        );
    }
    let (hwm, rss) = memory_kib();
    println!(
        "process peak RSS (VmHWM) at the end: {:.1} MiB (VmRSS now {:.1} MiB); load average {}",
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0,
        loadavg()
    );
    Ok(())
}

async fn run_phase(args: &Args, tracing_on: bool) -> anyhow::Result<PhaseReport> {
    let label = if tracing_on {
        "tracing on"
    } else {
        "tracing off"
    };
    eprintln!("[{label}] starting platform");
    let merchants_state = Arc::new(Merchants::default());
    let stubs = start_stubs(&args.stubs, merchants_state.clone()).await?;
    let sink = if tracing_on {
        Some(
            TraceSink::start(SinkConfig {
                store: harness::store::StoreConfig {
                    max_spans: args.sink_max_spans,
                    max_bytes: args.sink_max_bytes,
                },
                ..SinkConfig::ephemeral()
            })
            .await
            .context("starting the trace sink")?,
        )
    } else {
        None
    };
    let dir = tempfile::tempdir()?;
    let mut config = PlatformConfig::for_tests(
        dir.path(),
        stubs.provider_url.clone(),
        sink.as_ref().map(|s| s.otlp_traces_url()),
    );
    config.introspection_cache_ttl = Duration::from_millis(args.introspection_cache_ms);
    config.provider_timeout = Duration::from_millis(args.provider_timeout_ms);
    config.export_delay = Duration::from_millis(args.export_delay_ms);
    let running = platform::start(config).await?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.concurrency * 2)
        .timeout(Duration::from_secs(30))
        .build()?;

    eprintln!("[{label}] onboarding");
    let webhook_urls: Vec<String> = (0..args.merchants)
        .map(|n| format!("{}/hooks/{n}", stubs.merchant_url))
        .collect();
    let operator = running.operator_token().await?;
    let setup = api_client::onboard(
        &http,
        &running.edge_url(),
        &operator,
        args.customers,
        10_000_000_000,
        &webhook_urls,
    )
    .await?;

    eprintln!("[{label}] warm-up {} s", args.warmup);
    let warm = closed_loop(
        &http,
        &running.edge_url(),
        &setup,
        args.concurrency,
        Duration::from_secs_f64(args.warmup),
        None,
        "warm",
    )
    .await;
    let warmup_payments = warm.settled.len() as u64 + warm.other.values().sum::<u64>();

    eprintln!("[{label}] measuring {} s", args.duration);
    let rss_start_kib = memory_kib().1;
    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_start = metrics.num_alive_tasks();
    let cpu_before = cpu_seconds();
    let (switches_before, _) = context_switches();
    let started = Instant::now();
    let result = closed_loop(
        &http,
        &running.edge_url(),
        &setup,
        args.concurrency,
        Duration::from_secs_f64(args.duration),
        args.count,
        "run",
    )
    .await;
    let measured_wall = started.elapsed();
    let tasks_end = metrics.num_alive_tasks();
    let cpu_seconds = cpu_seconds() - cpu_before;
    let (switches_after, threads) = context_switches();
    let context_switches = switches_after.saturating_sub(switches_before);
    let loadavg = loadavg();

    // Every settled or failed payment makes one event to its merchant's endpoint.
    let webhooks_expected = warmup_payments
        + result.settled.len() as u64
        + result
            .other
            .iter()
            .filter(|(k, _)| k.contains("failed"))
            .map(|(_, n)| n)
            .sum::<u64>();
    let drain_started = Instant::now();
    let distinct = || merchants_state.events.lock().len() as u64;
    while distinct() < webhooks_expected && drain_started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let webhook_drain = drain_started.elapsed();
    let webhooks_delivered = merchants_state.delivered.load(Ordering::Relaxed);
    let webhook_events = distinct();
    let mut webhook_lag = {
        let arrivals = merchants_state.first_arrival.lock();
        result
            .settled
            .iter()
            .filter_map(|(_, id, sent)| arrivals.get(id).map(|at| at.duration_since(*sent)))
            .collect::<Vec<_>>()
    };
    webhook_lag.sort();
    let audit = api_client::audit(&http, &running.edge_url(), &operator)
        .await
        .context("asking the ledger for its audit")?;

    if args.probe_reads > 0 {
        let before = memory_kib().1;
        let started = Instant::now();
        let next = AtomicU64::new(0);
        let edge = running.edge_url();
        let readers = (0..args.concurrency).map(|client| {
            let (next, edge, http, setup) = (&next, &edge, &http, &setup);
            async move {
                let mut failures = 0u64;
                while next.fetch_add(1, Ordering::Relaxed) < args.probe_reads {
                    let customer = &setup.customers[client % setup.customers.len()];
                    let ok = http
                        .get(format!("{edge}/v1/accounts/{}", customer.account_id))
                        .bearer_auth(&customer.token)
                        .send()
                        .await
                        .map(|r| r.status().as_u16() == 200)
                        .unwrap_or(false);
                    failures += u64::from(!ok);
                }
                failures
            }
        });
        let failures: u64 = futures::future::join_all(readers).await.into_iter().sum();
        let after = memory_kib().1;
        println!(
            "[{label}] probe: {} account reads in {:.2} s ({failures} not 200): VmRSS {:.1} -> {:.1} MiB = {:.2} KiB per read",
            args.probe_reads,
            started.elapsed().as_secs_f64(),
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / args.probe_reads as f64
        );
    }

    let tracing = match &sink {
        Some(sink) => {
            running.flush_telemetry(Duration::from_secs(10)).await;
            // The sink stores what arrived; give the last batch a moment to be decoded.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let store = sink.store();
            let stats = store.stats();
            let service_dropped = running
                .dropped_spans()
                .await
                .into_iter()
                .map(|(name, n)| (name.to_string(), n))
                .collect();
            let total_payments =
                warmup_payments + result.settled.len() as u64 + result.other.values().sum::<u64>();
            Some(TraceFigures {
                accepted: stats.accepted_spans,
                duplicates: stats.duplicate_spans,
                sink_dropped: stats.dropped_spans,
                evicted_spans: stats.evicted_spans,
                service_dropped,
                spans_per_payment: stats.accepted_spans as f64 / total_payments.max(1) as f64,
                profile: span_profile(&store),
            })
        }
        None => None,
    };
    let (hwm_kib, rss_kib) = memory_kib();
    running.shutdown().await;
    if let Some(sink) = sink {
        sink.shutdown().await;
    }
    for task in &stubs.axum {
        task.abort();
    }
    drop(stubs);
    Ok(PhaseReport {
        label,
        measured_wall,
        result,
        cpu_seconds,
        context_switches,
        threads,
        warmup_payments,
        webhooks_expected,
        webhooks_delivered,
        webhook_events,
        webhook_drain,
        webhook_lag,
        audit,
        hwm_kib,
        rss_kib,
        rss_start_kib,
        tasks_start,
        tasks_end,
        loadavg,
        tracing,
    })
}

/// `concurrency` clients, each sending one payment after another until `duration` has passed
/// or `count` payments were started in total.
async fn closed_loop(
    http: &reqwest::Client,
    edge: &str,
    setup: &Parties,
    concurrency: usize,
    duration: Duration,
    count: Option<u64>,
    tag: &str,
) -> LoopResult {
    let deadline = Instant::now() + duration;
    let started = AtomicU64::new(0);
    let url = format!("{edge}/v1/payments");
    let run = uuid::Uuid::now_v7().simple().to_string();
    let clients = (0..concurrency).map(|client| {
        let (started, url, run) = (&started, &url, &run);
        async move {
            let mut result = LoopResult::default();
            let mut k = 0usize;
            while Instant::now() < deadline {
                let n = started.fetch_add(1, Ordering::Relaxed);
                if count.is_some_and(|c| n >= c) {
                    break;
                }
                let customer = &setup.customers[(client + k * concurrency) % setup.customers.len()];
                let merchant = &setup.merchants[(client + k) % setup.merchants.len()].merchant_id;
                k += 1;
                let sent = Instant::now();
                let outcome = http
                    .post(url.as_str())
                    .bearer_auth(&customer.token)
                    .header("idempotency-key", format!("{tag}-{run}-{n}"))
                    .json(&json!({"merchant_id": merchant, "amount": 1, "currency": "GBP"}))
                    .send()
                    .await;
                let (code, body) = match outcome {
                    Ok(response) => {
                        let code = response.status().as_u16();
                        (code, response.json::<Value>().await.unwrap_or(Value::Null))
                    }
                    Err(error) => (0, json!({"code": format!("transport: {error}")})),
                };
                let latency = sent.elapsed();
                match (code, body["status"].as_str()) {
                    (201, Some("settled")) => result.settled.push((
                        latency,
                        body["payment_id"].as_str().unwrap_or_default().to_owned(),
                        sent,
                    )),
                    _ => {
                        let what = body["status"]
                            .as_str()
                            .or_else(|| body["code"].as_str())
                            .unwrap_or("?");
                        *result.other.entry(format!("{code} {what}")).or_default() += 1;
                        result.other_latencies.push(latency);
                    }
                }
            }
            result
        }
    });
    let mut all = LoopResult::default();
    for part in futures::future::join_all(clients).await {
        all.settled.extend(part.settled);
        all.other_latencies.extend(part.other_latencies);
        for (k, n) in part.other {
            *all.other.entry(k).or_default() += n;
        }
    }
    all
}

/// Span durations by (service, kind, name) over every trace in the store: count, mean, p50, p99 (ms).
fn span_profile(store: &harness::store::TraceStore) -> Vec<(String, usize, f64, f64, f64)> {
    let mut by_name: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for id in store.trace_ids() {
        if let Some(trace) = store.get(&id) {
            for span in &trace.spans {
                let kind = match span.kind {
                    SpanKind::Server => "server",
                    SpanKind::Client => "client",
                    SpanKind::Internal => "internal",
                    SpanKind::Producer => "producer",
                    SpanKind::Consumer => "consumer",
                    _ => "unspecified",
                };
                by_name
                    .entry(format!("{} {} {}", span.service(), kind, span.name))
                    .or_default()
                    .push(span.duration_nanos());
            }
        }
    }
    let mut rows: Vec<_> = by_name
        .into_iter()
        .map(|(name, mut d)| {
            d.sort_unstable();
            let n = d.len();
            let mean = d.iter().sum::<u64>() as f64 / n as f64 / 1e6;
            let p = |q: f64| d[((n as f64 * q) as usize).min(n - 1)] as f64 / 1e6;
            (name, n, mean, p(0.5), p(0.99))
        })
        .collect();
    rows.sort_by(|a, b| (b.1 as f64 * b.2).total_cmp(&(a.1 as f64 * a.2)));
    rows
}

fn print_report(args: &Args, r: &PhaseReport) {
    let mut lat: Vec<Duration> = r.result.settled.iter().map(|s| s.0).collect();
    lat.sort();
    let settled = lat.len();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("\n== {} ==", r.label);
    println!(
        "settled (201): {settled} in {:.2} s = {:.0} payments/s (concurrency {}); warm-up payments {}",
        r.measured_wall.as_secs_f64(),
        settled as f64 / r.measured_wall.as_secs_f64(),
        args.concurrency,
        r.warmup_payments
    );
    if settled > 0 {
        println!(
            "latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, p99.9 {:.2}, max {:.2}",
            ms(pct(&lat, 0.50)),
            ms(pct(&lat, 0.90)),
            ms(pct(&lat, 0.99)),
            ms(pct(&lat, 0.999)),
            ms(lat[settled - 1])
        );
    }
    if r.result.other.is_empty() {
        println!("other outcomes: none");
    } else {
        println!("other outcomes: {:?}", r.result.other);
    }
    println!(
        "process CPU: {:.2} s over {:.2} s wall = {:.0}% of one core; {:.2} ms CPU per payment; load average at end {}",
        r.cpu_seconds,
        r.measured_wall.as_secs_f64(),
        r.cpu_seconds / r.measured_wall.as_secs_f64() * 100.0,
        r.cpu_seconds * 1e3 / settled.max(1) as f64,
        r.loadavg
    );
    println!(
        "context switches (all {} threads): {} = {:.0} per payment",
        r.threads,
        r.context_switches,
        r.context_switches as f64 / settled.max(1) as f64
    );
    println!(
        "webhooks: {} distinct events received of {} expected (incl. warm-up), {} requests in all ({} repeats), all in {:.0} ms after the load stopped",
        r.webhook_events,
        r.webhooks_expected,
        r.webhooks_delivered,
        r.webhooks_delivered.saturating_sub(r.webhook_events),
        ms(r.webhook_drain)
    );
    let other_outcomes: u64 = r.result.other.values().sum();
    let exactly_once =
        r.webhook_events == r.webhooks_expected && r.webhooks_delivered == r.webhook_events;
    println!(
        "checks: every payment settled: {}; every webhook delivered exactly once: {}; ledger audit balanced: {}",
        if other_outcomes == 0 { "yes" } else { "NO" },
        if exactly_once { "yes" } else { "NO" },
        if r.audit.0 {
            "yes".to_owned()
        } else {
            format!("NO ({})", r.audit.1)
        }
    );
    if !r.webhook_lag.is_empty() {
        println!(
            "payment request sent -> merchant webhook received, ms: p50 {:.1}, p99 {:.1}, max {:.1} ({} payments)",
            ms(pct(&r.webhook_lag, 0.5)),
            ms(pct(&r.webhook_lag, 0.99)),
            ms(r.webhook_lag[r.webhook_lag.len() - 1]),
            r.webhook_lag.len()
        );
    }
    println!(
        "memory after this phase: VmHWM {:.1} MiB, VmRSS {:.1} MiB (VmRSS {:.1} MiB when measuring started: {:.1} KiB more per measured payment); live tokio tasks {} -> {}",
        r.hwm_kib as f64 / 1024.0,
        r.rss_kib as f64 / 1024.0,
        r.rss_start_kib as f64 / 1024.0,
        r.rss_kib.saturating_sub(r.rss_start_kib) as f64 / settled.max(1) as f64,
        r.tasks_start,
        r.tasks_end
    );
    if let Some(t) = &r.tracing {
        println!(
            "sink: {} spans accepted ({:.1} per payment), {} duplicates, {} dropped by the sink, {} evicted (store limit {} spans, {} MiB); dropped by services: {:?}",
            t.accepted,
            t.spans_per_payment,
            t.duplicates,
            t.sink_dropped,
            t.evicted_spans,
            args.sink_max_spans,
            args.sink_max_bytes >> 20,
            t.service_dropped
        );
        println!("span profile (traces still in the sink; by total time):");
        println!(
            "  {:<60} {:>8} {:>9} {:>9} {:>9}",
            "service kind name", "count", "mean ms", "p50 ms", "p99 ms"
        );
        for (name, n, mean, p50, p99) in t.profile.iter().take(25) {
            println!("  {name:<60} {n:>8} {mean:>9.2} {p50:>9.2} {p99:>9.2}");
        }
    }
}

fn pct(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
}

/// (VmHWM, VmRSS) of this process in KiB.
fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is 14th, stime 15th overall.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // rest starts at field 3 (state), so utime (14) is index 11 and stime (15) index 12.
    let hz = 100.0;
    (ticks(11) + ticks(12)) / hz
}

/// Voluntary + involuntary context switches summed over this process's threads, and how many
/// threads there are.
fn context_switches() -> (u64, usize) {
    let mut total = 0;
    let mut threads = 0;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        threads += 1;
        total += status
            .lines()
            .filter(|l| l.contains("ctxt_switches:"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    (total, threads)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
