//! Throughput of the money services without edge (payments → ledger, provider, outbox →
//! webhooks). Ignored by default: a measurement, not a check. Run with
//! `cargo test -p minibank --release --test payments_throughput -- --ignored --nocapture`.

#[macro_use]
mod database_support;
mod payments_support;

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use payments_support::{Money, payment_body};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "measurement; run explicitly"]
async fn bench_payments_per_second() {
    let payments: usize = std::env::var("BENCH_PAYMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/transfers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "accepted"})))
        .mount(&provider)
        .await;
    let money = Money::start(database_support::Databases::sqlite(), &provider.uri()).await;
    let mut customers = Vec::new();
    for _ in 0..16 {
        customers.push(money.customer(1_000_000_000).await);
    }
    let (merchant, _) = money.merchant().await;
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&endpoint)
        .await;
    money.register_endpoint(&merchant, &endpoint.uri()).await;

    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(0..payments)
        .map(|n| {
            let (customer, _) = &customers[n % customers.len()];
            let (money, merchant) = (&money, &merchant);
            async move {
                let t = Instant::now();
                let (code, body) = money
                    .pay(customer, &format!("bench-{n}"), payment_body(merchant, 1))
                    .await;
                assert_eq!(
                    (code, body["status"].as_str()),
                    (201, Some("settled")),
                    "{body}"
                );
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{payments} payments, concurrency {concurrency}: {:.0} payments/s, p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        payments as f64 / wall.as_secs_f64(),
        pct(0.50),
        pct(0.90),
        pct(0.99),
        latencies[latencies.len() - 1]
    );
}
