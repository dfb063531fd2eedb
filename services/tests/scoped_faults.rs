//! A call fault scoped to one scenario touches only that scenario's calls, however far behind
//! edge they are made and however late: two customers pay side by side through the whole
//! in-process platform, each request naming its scenario in W3C baggage (as the harness names
//! every scenario's); a fault on payments' transfers to the provider, scoped to the first,
//! fails only the first one's transfers (and its saga's later attempts, made from the context
//! it stored), while the second settles as if nothing were wrong.

mod foundation_support;

use std::time::Duration;

use foundation_support::{accepting_provider, http};
use http::StatusCode;
use minibank::platform::{self, PlatformConfig, RunningPlatform};
use minibank::rpc::{FaultKind, FaultRule, SCENARIO_BAGGAGE_KEY};
use serde_json::{Value, json};
use wiremock::MockServer;

/// How long any wait here may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(15);

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A customer with 50.00 GBP: (account id, access token).
async fn customer(running: &RunningPlatform, operator: &str, name: &str) -> (String, String) {
    let edge = running.edge_url();
    let (status, customer) = send(
        http()
            .post(format!("{edge}/v1/customers"))
            .bearer_auth(operator)
            .json(&json!({"name": name, "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201, "{customer}");
    let account = customer["account_id"].as_str().unwrap().to_owned();
    let (status, topped) = send(
        http()
            .post(format!("{edge}/v1/accounts/{account}/top-ups"))
            .bearer_auth(operator)
            .json(&json!({"amount": 5000, "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201, "{topped}");
    let (status, token) = send(http().post(format!("{edge}/v1/tokens")).json(
        &json!({"client_id": customer["client_id"], "client_secret": customer["client_secret"]}),
    ))
    .await;
    assert_eq!(status, 200, "{token}");
    (account, token["access_token"].as_str().unwrap().to_owned())
}

/// Pays `merchant` 10.00 GBP with `baggage`; returns the answer.
async fn pay(running: &RunningPlatform, token: &str, merchant: &Value, baggage: &str) -> Value {
    let (status, payment) = send(
        http()
            .post(format!("{}/v1/payments", running.edge_url()))
            .bearer_auth(token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .header("baggage", baggage)
            .json(
                &json!({"merchant_id": merchant["merchant_id"], "amount": 1000, "currency": "GBP"}),
            ),
    )
    .await;
    assert!(status == 201 || status == 202, "{status} {payment}");
    payment
}

/// Transfers the provider received from `account`.
async fn transfers_from(provider: &MockServer, account: &str) -> usize {
    let requests = provider.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/transfers")
        .filter_map(|r| r.body_json::<Value>().ok())
        .filter(|body| body["debtor_account"] == account)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_scoped_to_one_scenario_never_touches_the_other_running_beside_it() {
    let provider = accepting_provider().await;
    let dir = tempfile::tempdir().unwrap();
    let config = PlatformConfig::for_tests(dir.path(), provider.uri(), None);
    let running = platform::start(config).await.unwrap();
    let operator = running.operator_token().await.unwrap();
    let (status, merchant) = send(
        http()
            .post(format!("{}/v1/merchants", running.edge_url()))
            .bearer_auth(&operator)
            .json(&json!({"name": "Tea Shop", "currency": "GBP"})),
    )
    .await;
    assert_eq!(status, 201, "{merchant}");
    let (faulted_account, faulted_token) = customer(&running, &operator, "Ada").await;
    let (clean_account, clean_token) = customer(&running, &operator, "Bea").await;

    let fault = running.faults().add(FaultRule {
        caller: Some("payments".into()),
        target: "provider".into(),
        // Submissions and the status queries the saga makes after a failed one alike.
        method: None,
        path_contains: Some("/transfers".into()),
        address: None,
        scenario: Some("scenario-a".into()),
        kind: FaultKind::Error(StatusCode::SERVICE_UNAVAILABLE),
        times: None,
    });

    // Side by side; the second's baggage carries another member too, as a scenario's may.
    let faulted_baggage = format!("{SCENARIO_BAGGAGE_KEY}=scenario-a");
    let clean_baggage = format!("minibank.channel=web, {SCENARIO_BAGGAGE_KEY}=scenario-b");
    let (faulted, clean) = tokio::join!(
        pay(&running, &faulted_token, &merchant, &faulted_baggage),
        pay(&running, &clean_token, &merchant, &clean_baggage),
    );

    assert_eq!(
        clean["status"], "settled",
        "the clean scenario's payment: {clean}"
    );
    assert_eq!(transfers_from(&provider, &clean_account).await, 1);
    assert_ne!(
        faulted["status"], "settled",
        "the faulted scenario's payment: {faulted}"
    );
    assert_eq!(
        transfers_from(&provider, &faulted_account).await,
        0,
        "the faulted scenario's transfers never reached the provider"
    );

    // The saga goes on later (it asks the provider about the transfer), from the context it
    // stored with the payment: its baggage still names the scenario, so the fault meets it.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while running.faults().hits(fault) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {PATIENCE:?} for the saga's second attempt at the faulted transfer; the fault met {} call(s)",
            running.faults().hits(fault)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(transfers_from(&provider, &faulted_account).await, 0);
    running.shutdown().await;
}
