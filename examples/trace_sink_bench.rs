//! Trace sink benchmark: ingest throughput over OTLP/HTTP and OTLP/gRPC, and settle
//! latency in-process (store notification).
//!
//! Run: `cargo run --release --example trace_sink_bench` (results go to stdout; the
//! figures of one run are kept in BENCHMARKS.md, section "Trace sink").
//!
//! Method
//! - Ingest: one sink on loopback; `CLIENTS` concurrent clients each send `BATCHES`
//!   export requests of `BATCH` spans (protobuf, 10 traces per batch, ~6 attributes per
//!   span). Throughput = spans stored / wall time from first send to last answer.
//! - Settle latency: for each of `SETTLE_RUNS` traces, a settle (expected services
//!   edge, payments, ledger) is started first, then the three spans are posted over
//!   OTLP/HTTP with the last span ending "now". Latency = time from the last span's end
//!   to a passing `well_formed` + `visits_in_order` check. Measured with the default
//!   quiet period (20 ms, which dominates) and with a zero quiet period (pure
//!   notification path: HTTP, decode, store, wake, fetch, check).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use harness::checks::{self, Peers};
use harness::fetch::InMemoryFetcher;
use harness::model::{
    AttrValue, Attributes, Resource, Span, SpanId, SpanKind, SpanStatus, StatusCode, TraceId,
};
use harness::settle::{DEFAULT_QUIET_PERIOD, Expectation, settle};
use harness::sink::{RunningSink, SinkConfig, TraceSink};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use prost::Message as _;

const CLIENTS: usize = 4;
const BATCHES: usize = 250;
const BATCH: usize = 200;
const SETTLE_RUNS: usize = 300;

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn random_id<const N: usize>(seed: u64) -> Vec<u8> {
    // splitmix64: distinct, non-zero ids without a rand dependency.
    let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(N);
    while out.len() < N {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(N);
    out[0] |= 1;
    out
}

fn make_span(
    trace: &TraceId,
    id: u64,
    parent: Option<u64>,
    service: &Arc<Resource>,
    end: u64,
) -> Span {
    let mut attributes = Attributes::new();
    attributes.insert(
        "http.request.method".into(),
        AttrValue::String("POST".into()),
    );
    attributes.insert("url.path".into(), AttrValue::String("/v1/payments".into()));
    attributes.insert("http.response.status_code".into(), AttrValue::Int(201));
    attributes.insert(
        "server.address".into(),
        AttrValue::String("127.0.0.1".into()),
    );
    attributes.insert("server.port".into(), AttrValue::Int(8080));
    attributes.insert(
        "minibank.payment_id".into(),
        AttrValue::String(format!("pay_{id}")),
    );
    let span_id = |n: u64| SpanId::from_bytes(&random_id::<8>(n)).expect("span id");
    Span {
        trace_id: trace.clone(),
        span_id: span_id(id),
        parent_span_id: parent.map(span_id),
        resource: Arc::clone(service),
        scope: Some("minibank".into()),
        name: "POST /v1/payments".into(),
        kind: if parent.is_some() {
            SpanKind::Server
        } else {
            SpanKind::Client
        },
        start_unix_nanos: end.saturating_sub(1_000_000),
        end_unix_nanos: end,
        attributes,
        status: SpanStatus {
            code: StatusCode::Unset,
            message: String::new(),
        },
        events: Vec::new(),
        links: Vec::new(),
    }
}

fn batch_request(client: usize, batch: usize) -> ExportTraceServiceRequest {
    let service = Arc::new(Resource::service("edge"));
    let end = now_nanos();
    let spans: Vec<Span> = (0..BATCH)
        .map(|i| {
            let seed = ((client * BATCHES + batch) * BATCH + i) as u64;
            let trace_seed = seed / (BATCH as u64 / 10);
            let trace = TraceId::from_bytes(&random_id::<16>(trace_seed)).expect("trace id");
            make_span(&trace, seed, None, &service, end)
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: harness::otlp::encode::traces_data(&spans).resource_spans,
    }
}

async fn bench_http(sink: &RunningSink, client_offset: usize) -> f64 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let bodies: Vec<Vec<Vec<u8>>> = (0..CLIENTS)
        .map(|c| {
            (0..BATCHES)
                .map(|b| batch_request(c + client_offset, b).encode_to_vec())
                .collect()
        })
        .collect();
    let before = sink.store().stats().accepted_spans;
    let started = Instant::now();
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|bodies| {
            let client = client.clone();
            let url = sink.otlp_traces_url();
            tokio::spawn(async move {
                for body in bodies {
                    let response = client
                        .post(&url)
                        .header("content-type", "application/x-protobuf")
                        .body(body)
                        .send()
                        .await
                        .expect("post");
                    assert!(response.status().is_success());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
    let elapsed = started.elapsed();
    let spans = sink.store().stats().accepted_spans - before;
    assert_eq!(
        spans as usize,
        CLIENTS * BATCHES * BATCH,
        "every span stored"
    );
    spans as f64 / elapsed.as_secs_f64()
}

async fn bench_grpc(sink: &RunningSink, client_offset: usize) -> f64 {
    let channel = tonic::transport::Endpoint::from_shared(sink.otlp_grpc_endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let requests: Vec<Vec<ExportTraceServiceRequest>> = (0..CLIENTS)
        .map(|c| {
            (0..BATCHES)
                .map(|b| batch_request(c + client_offset, b))
                .collect()
        })
        .collect();
    let before = sink.store().stats().accepted_spans;
    let started = Instant::now();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|requests| {
            let mut client = TraceServiceClient::new(channel.clone());
            tokio::spawn(async move {
                for request in requests {
                    client.export(request).await.expect("export");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("client task");
    }
    let elapsed = started.elapsed();
    let spans = sink.store().stats().accepted_spans - before;
    assert_eq!(
        spans as usize,
        CLIENTS * BATCHES * BATCH,
        "every span stored"
    );
    spans as f64 / elapsed.as_secs_f64()
}

async fn bench_settle(sink: &RunningSink, quiet: Duration, seed_base: u64) -> Vec<Duration> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let fetcher = Arc::new(InMemoryFetcher::new(sink.store()));
    let services = ["edge", "payments", "ledger"].map(|s| Arc::new(Resource::service(s)));
    let peers = Peers::new();
    let mut latencies = Vec::with_capacity(SETTLE_RUNS);
    for run in 0..SETTLE_RUNS as u64 {
        let seed = seed_base + run * 10;
        let trace = TraceId::from_bytes(&random_id::<16>(seed)).expect("trace id");
        let expectation = Expectation::services(["edge", "payments", "ledger"])
            .quiet_for(quiet)
            .within(Duration::from_secs(5));
        let waiter = {
            let fetcher = Arc::clone(&fetcher);
            let trace = trace.clone();
            let peers = peers.clone();
            tokio::spawn(async move {
                let settled = settle(fetcher.as_ref(), &trace, &expectation)
                    .await
                    .expect("settles");
                checks::well_formed(&settled).expect("well formed");
                checks::visits_in_order(&settled, &peers, &["edge", "payments", "ledger"])
                    .expect("path");
                Instant::now()
            })
        };
        let end = now_nanos();
        let spans = vec![
            make_span(&trace, seed + 1, None, &services[0], end),
            make_span(&trace, seed + 2, Some(seed + 1), &services[1], end),
            make_span(&trace, seed + 3, Some(seed + 2), &services[2], end),
        ];
        let last_span_end = Instant::now();
        let body = ExportTraceServiceRequest {
            resource_spans: harness::otlp::encode::traces_data(&spans).resource_spans,
        }
        .encode_to_vec();
        client
            .post(sink.otlp_traces_url())
            .header("content-type", "application/x-protobuf")
            .body(body)
            .send()
            .await
            .expect("post");
        let passed = waiter.await.expect("settle task");
        latencies.push(passed - last_span_end);
    }
    latencies.sort();
    latencies
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn report(label: &str, latencies: &[Duration]) {
    println!(
        "{label}: n={} p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        latencies.len(),
        pct(latencies, 0.50).as_secs_f64() * 1e3,
        pct(latencies, 0.90).as_secs_f64() * 1e3,
        pct(latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sink = TraceSink::start(SinkConfig::ephemeral().with_max_spans(2_000_000))
            .await
            .expect("sink");
        println!(
            "ingest: {CLIENTS} clients x {BATCHES} requests x {BATCH} spans, protobuf, loopback"
        );
        // Warm-up (connections, allocator) before measuring.
        let _ = bench_http(&sink, 100).await;
        let http = bench_http(&sink, 0).await;
        println!("OTLP/HTTP ingest: {http:.0} spans/s");
        let grpc = bench_grpc(&sink, CLIENTS).await;
        println!("OTLP/gRPC ingest: {grpc:.0} spans/s");
        let quiet = bench_settle(&sink, DEFAULT_QUIET_PERIOD, 1_000_000).await;
        report(
            &format!("settle latency, quiet period {DEFAULT_QUIET_PERIOD:?}"),
            &quiet,
        );
        let zero = bench_settle(&sink, Duration::ZERO, 2_000_000).await;
        report("settle latency, quiet period 0 (notification path)", &zero);
        println!("store: {:?}", sink.store().stats());
        sink.shutdown().await;
    });
}
