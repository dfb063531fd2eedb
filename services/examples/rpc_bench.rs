//! RPC layer benchmark (issue 6, point 5): the cost of the shared RPC layer per call, with and
//! without tracing, and how fast a caller fails while a circuit is open compared to a timeout.
//!
//! Method: one echo service on 127.0.0.1, called sequentially (one call in flight) `--calls`
//! times after `--warmup` calls, in three set-ups:
//! 1. baseline: a plain axum route, called with the same pooled `reqwest` client directly;
//! 2. RPC layer, spans made and dropped: `RpcClient` (retry policy, balancer-free stack,
//!    circuit breaker, fault layer, transport) and the server layer, `Telemetry::disabled`;
//! 3. RPC layer, spans exported: the same with an exporter that receives every span batch
//!    (and discards it), so span creation, propagation and the export path are all paid.
//!
//! Then the breaker: a service that never answers, a 100 ms call timeout; one call's latency
//! (the timeout), then 5 failures open the circuit and `--calls` calls are timed while it is
//! open (nothing is sent).
//!
//! Run: `cargo run --release -p minibank --example rpc_bench -- --calls 5000`

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use clap::Parser;
use minibank::app::ServiceBuilder;
use minibank::rpc::{BreakerSettings, RequestContext, Resilience, RpcClient, RpcError, RpcRequest};
use minibank::telemetry::{Telemetry, TelemetrySettings};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

#[derive(Parser, Debug)]
struct Args {
    /// Timed calls per set-up.
    #[arg(long, default_value_t = 5000)]
    calls: usize,
    /// Untimed calls first.
    #[arg(long, default_value_t = 500)]
    warmup: usize,
}

/// Receives every batch and keeps nothing.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

fn echo() -> Router {
    Router::new().route("/echo", get(|| async { "ok" }))
}

/// Per-call latencies, sorted, in microseconds.
fn summary(name: &str, mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    println!(
        "| {name} | {mean:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |",
        at(0.5),
        at(0.9),
        at(0.99)
    );
    mean
}

async fn time_calls<F, Fut>(calls: usize, warmup: usize, mut call: F) -> Vec<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        call().await;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call().await;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

async fn serve(app: minibank::app::Application) -> String {
    let url = app.base_url();
    tokio::spawn(app.run_until_stopped());
    url
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let http = RpcClient::shared_http();
    println!("| set-up | mean | p50 | p90 | p99 |");
    println!("|---|---|---|---|---|");

    // 1. Baseline: plain axum, plain reqwest.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let plain = format!("http://{}/echo", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, echo()).await });
    let samples = time_calls(args.calls, args.warmup, || {
        let (http, url) = (http.clone(), plain.clone());
        async move {
            let answer = http.get(url).send().await.expect("baseline call");
            answer.bytes().await.expect("baseline body");
        }
    })
    .await;
    let baseline = summary("plain reqwest → plain axum", samples);

    // 2 and 3. The RPC layer on both sides, spans dropped, then exported.
    let mut layered = Vec::new();
    for (name, telemetry) in [
        (
            "RpcClient → ServerLayer, spans made, not exported",
            Telemetry::disabled("bench"),
        ),
        (
            "RpcClient → ServerLayer, spans exported",
            Telemetry::with_exporter(
                &TelemetrySettings::new("bench", None, Duration::from_millis(5)),
                Discard,
            )?,
        ),
    ] {
        let app = ServiceBuilder::new(telemetry.clone(), echo())
            .bind("127.0.0.1:0".parse()?)
            .await?;
        let url = serve(app).await;
        let client = RpcClient::new(
            http.clone(),
            telemetry.clone(),
            "echo",
            url,
            Duration::from_secs(5),
        );
        let ctx = RequestContext::background(opentelemetry::Context::new());
        let samples = time_calls(args.calls, args.warmup, || {
            let (client, ctx) = (client.clone(), ctx.clone());
            async move {
                let answer = client.send(&ctx, RpcRequest::get("/echo")).await;
                assert!(answer.expect("rpc call").status.is_success());
            }
        })
        .await;
        layered.push(summary(name, samples));
    }
    println!();
    println!(
        "RPC layer cost per call (both sides): {:.1} µs without export, {:.1} µs with export \
         (baseline {baseline:.1} µs)",
        layered[0] - baseline,
        layered[1] - baseline
    );

    // The breaker: a service that never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hung = format!("http://{}", listener.local_addr()?);
    let never = Router::new().route("/echo", get(|| std::future::pending::<&'static str>()));
    tokio::spawn(async move { axum::serve(listener, never).await });
    let resilience = Resilience {
        breaker: BreakerSettings {
            failure_threshold: 5,
            open_for: Duration::from_secs(600),
        },
        ..Resilience::default()
    };
    let client = RpcClient::with_resilience(
        http.clone(),
        Telemetry::disabled("bench"),
        "hung",
        hung,
        Duration::from_millis(100),
        &resilience,
    );
    let ctx = RequestContext::background(opentelemetry::Context::new());
    let started = Instant::now();
    let first = client.send(&ctx, RpcRequest::get("/echo")).await;
    let timeout_us = started.elapsed().as_secs_f64() * 1e6;
    assert!(matches!(first, Err(RpcError::Timeout { .. })), "{first:?}");
    for _ in 0..4 {
        let _ = client.send(&ctx, RpcRequest::get("/echo")).await;
    }
    let samples = time_calls(args.calls, 0, || {
        let (client, ctx) = (client.clone(), ctx.clone());
        async move {
            let answer = client.send(&ctx, RpcRequest::get("/echo")).await;
            assert!(
                matches!(answer, Err(RpcError::CircuitOpen { .. })),
                "{answer:?}"
            );
        }
    })
    .await;
    println!();
    println!("| failing call | mean | p50 | p90 | p99 |");
    println!("|---|---|---|---|---|");
    println!("| timeout (100 ms) | {timeout_us:.1} µs | - | - | - |");
    let open = summary("circuit open (fail fast)", samples);
    println!();
    println!(
        "fail fast is {:.0}x quicker than waiting for the timeout",
        timeout_us / open
    );
    Ok(())
}
