//! The fault-control endpoint (`minibank::fault_control`): faults added through it reach the
//! service's RPC clients, their hits are counted, they are cleared; circuits are readable; bad
//! input is a 4xx with a code and a message.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use minibank::app::{Deps, ServiceBuilder};
use minibank::rpc::{BreakerSettings, RequestContext, Resilience, RpcClient, RpcRequest};
use minibank::telemetry::Telemetry;
use serde_json::{Value, json};

/// The endpoint for a service called `payments` over `resilience`, on an ephemeral port.
async fn control(resilience: &Resilience) -> (String, minibank::app::ShutdownHandle) {
    // A service gives the endpoint its shutdown handle; any application's will do here.
    let app = ServiceBuilder::new(Telemetry::disabled("payments"), Router::new())
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let stop = app.shutdown_handle();
    let addr = minibank::fault_control::serve(
        "127.0.0.1:0".parse().unwrap(),
        "payments",
        resilience,
        stop.clone(),
    )
    .await
    .unwrap();
    (format!("http://{addr}"), stop)
}

/// A stand-in ledger answering `GET /ping` and `POST /ping` with 200.
async fn ledger() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/ping",
        get(|| async { "pong" }).merge(post(|| async { "pong" })),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn client(resilience: &Resilience, ledger_url: &str) -> RpcClient {
    Deps::new(Telemetry::disabled("payments"), reqwest::Client::new())
        .with_resilience(resilience.clone())
        .client("ledger", ledger_url, Duration::from_secs(2))
}

#[tokio::test]
async fn a_fault_added_through_the_endpoint_meets_the_services_calls_until_it_is_used_up() {
    let resilience = Resilience::default();
    let (control_url, stop) = control(&resilience).await;
    let ledger = client(&resilience, &ledger().await);
    let http = reqwest::Client::new();

    let (status, added) = send(
        &http,
        reqwest::Method::POST,
        &format!("{control_url}/faults"),
        Some(json!({"target": "ledger", "kind": "error", "status": 503, "method": "get", "times": 2})),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    let id = added["id"].as_u64().unwrap();

    // A GET is idempotent: both injected 503s are retried past, the third attempt answers.
    let answer = ledger
        .send(
            &RequestContext::background(opentelemetry::Context::new()),
            RpcRequest::get("/ping"),
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let (status, fault) = send(
        &http,
        reqwest::Method::GET,
        &format!("{control_url}/faults/{id}"),
        None,
    )
    .await;
    assert_eq!(
        (status, &fault["hits"], &fault["active"]),
        (200, &json!(2), &json!(false)),
        "{fault}"
    );

    let (status, _) = send(
        &http,
        reqwest::Method::DELETE,
        &format!("{control_url}/faults/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    stop.shutdown();
}

#[tokio::test]
async fn the_circuit_opens_after_injected_failures_and_lists_the_replica() {
    let resilience = Resilience {
        breaker: BreakerSettings {
            failure_threshold: 3,
            open_for: Duration::from_secs(60),
        },
        ..Resilience::default()
    };
    let (control_url, stop) = control(&resilience).await;
    let ledger_url = ledger().await;
    let ledger = client(&resilience, &ledger_url);
    let http = reqwest::Client::new();
    let circuit_url = format!("{control_url}/circuits/ledger");

    // Before the first call the client exists, so its circuit is there, closed.
    let (status, circuit) = send(&http, reqwest::Method::GET, &circuit_url, None).await;
    assert_eq!(
        (status, circuit["state"].as_str()),
        (200, Some("closed")),
        "{circuit}"
    );
    assert_eq!(
        circuit["replicas"].as_array().map(Vec::len),
        Some(1),
        "{circuit}"
    );

    let (status, added) = send(
        &http,
        reqwest::Method::POST,
        &format!("{control_url}/faults"),
        Some(json!({"target": "ledger", "kind": "drop"})),
    )
    .await;
    assert_eq!(status, 201, "{added}");
    for _ in 0..3 {
        // A POST is not idempotent: each dropped call fails once, and counts for the circuit.
        let request = RpcRequest::new(http::Method::POST, "/ping");
        assert!(
            ledger
                .send(
                    &RequestContext::background(opentelemetry::Context::new()),
                    request
                )
                .await
                .is_err()
        );
    }
    let (_, fault) = send(
        &http,
        reqwest::Method::GET,
        &format!("{control_url}/faults/{}", added["id"]),
        None,
    )
    .await;
    assert_eq!(fault["hits"], 3, "never resent: {fault}");
    let (status, circuit) = send(&http, reqwest::Method::GET, &circuit_url, None).await;
    assert_eq!(
        (status, circuit["state"].as_str()),
        (200, Some("open")),
        "{circuit}"
    );
    assert_eq!(circuit["caller"], "payments");
    stop.shutdown();
}

#[tokio::test]
async fn bad_input_is_a_4xx_with_a_code_and_a_message() {
    let resilience = Resilience::default();
    let (control_url, stop) = control(&resilience).await;
    let http = reqwest::Client::new();
    let faults = format!("{control_url}/faults");
    let cases = [
        (
            json!({"target": "ledger", "kind": "error"}),
            400,
            "invalid_fault",
        ),
        (
            json!({"target": "ledger", "kind": "error", "status": 200}),
            400,
            "invalid_fault",
        ),
        (
            json!({"target": "ledger", "kind": "latency"}),
            400,
            "invalid_fault",
        ),
        (
            json!({"target": "ledger", "kind": "hang", "status": 503}),
            400,
            "invalid_fault",
        ),
        (
            json!({"target": "ledger", "kind": "drop", "times": 0}),
            400,
            "invalid_fault",
        ),
        (
            json!({"target": "ledger", "kind": "drop", "method": "GE T"}),
            400,
            "invalid_fault",
        ),
        (json!({"target": " ", "kind": "drop"}), 400, "invalid_fault"),
        (
            json!({"target": "ledger", "kind": "explode"}),
            422,
            "out_of_range",
        ),
        (
            json!({"target": "ledger", "kind": "drop", "extra": 1}),
            422,
            "unknown_field",
        ),
    ];
    for (body, want_status, want_code) in cases {
        let (status, answer) =
            send(&http, reqwest::Method::POST, &faults, Some(body.clone())).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want_status, Some(want_code)),
            "{body} → {answer}"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    let not_found = [
        (
            reqwest::Method::GET,
            format!("{faults}/41"),
            404,
            "fault_not_found",
        ),
        (
            reqwest::Method::DELETE,
            format!("{faults}/41"),
            404,
            "fault_not_found",
        ),
        (
            reqwest::Method::GET,
            format!("{faults}/forty-one"),
            400,
            "invalid_fault",
        ),
        (
            reqwest::Method::GET,
            format!("{control_url}/circuits/ledger"),
            404,
            "no_client",
        ),
        (
            reqwest::Method::GET,
            format!("{control_url}/nothing"),
            404,
            "not_found",
        ),
        (
            reqwest::Method::PUT,
            faults.clone(),
            405,
            "method_not_allowed",
        ),
    ];
    for (verb, url, want_status, want_code) in not_found {
        let (status, answer) = send(&http, verb.clone(), &url, None).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want_status, Some(want_code)),
            "{verb} {url} → {answer}"
        );
    }
    // Malformed JSON.
    let response = http.post(&faults).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), 400);
    stop.shutdown();
}
