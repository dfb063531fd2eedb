//! The in-process driver boots the whole platform and edge answers readiness; plus an ignored
//! boot-time benchmark (`cargo test -p drivers --test in_process_boot -- --ignored --nocapture`).

use std::time::{Duration, Instant};

use drivers::{
    Capability, Driver, Restarts,
    in_process::{InProcessDriver, InProcessOptions},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_boots_and_edge_is_ready() {
    let driver = InProcessDriver::start(InProcessOptions::default())
        .await
        .expect("in-process driver boots");
    let caps = driver.capabilities();
    for cap in [
        Capability::StubProvider,
        Capability::MerchantEndpoints,
        Capability::RestartService,
    ] {
        assert!(caps.has(cap), "in-process can {cap}");
    }
    let response = reqwest::get(format!("{}/health/ready", driver.edge_url()))
        .await
        .expect("edge answers");
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        driver
            .harness_otlp_traces_url()
            .is_some_and(|u| u.ends_with("/v1/traces"))
    );
    driver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_service_answers_again() {
    let driver = InProcessDriver::start(InProcessOptions::default())
        .await
        .expect("in-process driver boots");
    driver.restart("ledger").await.expect("ledger restarts");
    assert!(driver.restart("no-such-service").await.is_err());
    let response = reqwest::get(format!("{}/health/ready", driver.edge_url()))
        .await
        .expect("edge answers");
    assert_eq!(response.status().as_u16(), 200);
    driver.shutdown().await;
}

/// Boot time over 20 boots (each boot then shut down); prints p50 and max.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run with --ignored --nocapture"]
async fn bench_in_process_boot_time() {
    const BOOTS: usize = 20;
    let mut times: Vec<Duration> = Vec::with_capacity(BOOTS);
    let mut phases: Vec<Vec<(&'static str, Duration)>> = Vec::with_capacity(BOOTS);
    for _ in 0..BOOTS {
        let started = Instant::now();
        let driver = InProcessDriver::start(InProcessOptions::default())
            .await
            .expect("in-process driver boots");
        times.push(started.elapsed());
        phases.push(driver.boot_phases().to_vec());
        driver.shutdown().await;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let max = times.iter().max().copied().unwrap_or_default();
    let min = times.iter().min().copied().unwrap_or_default();
    println!(
        "in-process boot over {BOOTS} boots: p50 {:.1} ms, min {:.1} ms, max {:.1} ms",
        ms(median(times.clone())),
        ms(min),
        ms(max)
    );
    for (i, (name, _)) in phases[0].iter().enumerate() {
        let p50 = median(phases.iter().map(|p| p[i].1).collect());
        println!("  phase {name}: p50 {:.1} ms", ms(p50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_logs_of_a_request_are_found_by_its_trace_id() {
    let driver = InProcessDriver::start(InProcessOptions::default())
        .await
        .expect("in-process driver boots");
    let logs = driver.logs().expect("in-process reads logs");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/tokens", driver.edge_url()))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&serde_json::json!({"client_id": "nobody", "client_secret": "wrong"}))
        .send()
        .await
        .expect("edge answers");
    assert_eq!(response.status().as_u16(), 401);
    // auth logs its request before answering edge, so its line is there by now; each line
    // carries the request span's fields.
    let lines = logs.lines_mentioning(trace_id).await;
    let from_auth = lines
        .iter()
        .find(|l| l["span"]["service"] == "auth")
        .unwrap_or_else(|| panic!("no auth log line carries trace id {trace_id}: {lines:#?}"));
    assert_eq!(from_auth["span"]["trace_id"], trace_id);
    assert!(from_auth["span"]["span_id"].is_string());
    driver.shutdown().await;
}
