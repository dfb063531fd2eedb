//! The provider sandbox `minibank up` starts: the provider stand-in's contract (accepts
//! transfers, deduplicates by transfer id, answers status queries), the merchant inbox, and
//! the bounds on what it remembers. Each test runs its own sandbox on a free port.

use std::net::SocketAddr;

use minibank::provider_sandbox::{self, RunningSandbox, Settings};
use minibank::telemetry::Telemetry;
use serde_json::{Value, json};

/// A sandbox on a free port with `settings` applied to the defaults.
async fn spawn_sandbox(adjust: impl FnOnce(&mut Settings)) -> RunningSandbox {
    let mut settings = Settings::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    adjust(&mut settings);
    provider_sandbox::spawn(
        settings,
        Telemetry::disabled(provider_sandbox::SERVICE_NAME),
    )
    .await
    .expect("the sandbox starts")
}

fn transfer(id: &str, amount: i64) -> Value {
    json!({
        "transfer_id": id,
        "amount": amount,
        "currency": "GBP",
        "debtor_account": "acc_payer",
        "creditor_account": "acc_payee",
        "reference": "order 1",
    })
}

async fn submit(sandbox: &RunningSandbox, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/transfers", sandbox.url()))
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn status_of(sandbox: &RunningSandbox, id: &str) -> (u16, Value) {
    get(format!("{}/transfers/{id}", sandbox.url())).await
}

async fn deliver(sandbox: &RunningSandbox, inbox: &str, body: &Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/merchant-inbox/{inbox}", sandbox.url()))
        .header("minibank-event-id", body["id"].as_str().unwrap_or_default())
        .header("minibank-signature", "t=1,v1=ab")
        .header("x-not-kept", "dropped")
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

async fn inbox(sandbox: &RunningSandbox, inbox: &str) -> Vec<Value> {
    let (status, body) = get(format!("{}/merchant-inbox/{inbox}", sandbox.url())).await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_new_transfer_is_accepted_and_its_status_query_answers_accepted() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let (status, body) = submit(&sandbox, &transfer("pay_1", 1250)).await;
    assert_eq!(status, 201);
    assert_eq!(body, json!({"transfer_id": "pay_1", "status": "accepted"}));
    let (status, body) = status_of(&sandbox, "pay_1").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["amount"], 1250);
    assert_eq!(body["debtor_account"], "acc_payer");
}

#[tokio::test]
async fn the_same_transfer_sent_again_gets_the_first_answer_and_is_processed_once() {
    let sandbox = spawn_sandbox(|_| {}).await;
    assert_eq!(submit(&sandbox, &transfer("pay_1", 1250)).await.0, 201);
    let (status, body) = submit(&sandbox, &transfer("pay_1", 1250)).await;
    assert_eq!(status, 200, "a replay is answered, not created again");
    assert_eq!(body, json!({"transfer_id": "pay_1", "status": "accepted"}));
}

#[tokio::test]
async fn a_transfer_id_used_again_for_other_details_is_refused_and_the_first_stands() {
    let sandbox = spawn_sandbox(|_| {}).await;
    assert_eq!(submit(&sandbox, &transfer("pay_1", 1250)).await.0, 201);
    let (status, body) = submit(&sandbox, &transfer("pay_1", 9999)).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "transfer_id_reused");
    assert_eq!(status_of(&sandbox, "pay_1").await.1["amount"], 1250);
}

#[tokio::test]
async fn a_status_query_for_an_unknown_transfer_is_404() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let (status, body) = status_of(&sandbox, "pay_never_sent").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn transfers_the_sandbox_cannot_take_are_refused_with_a_code_and_nothing_is_kept() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let mut lower_case_currency = transfer("pay_3", 100);
    lower_case_currency["currency"] = json!("gbp");
    let mut unknown_field = transfer("pay_4", 100);
    unknown_field["colour"] = json!("red");
    let cases = [
        (transfer("pay_1", 0), 422, "invalid_transfer"),
        (transfer("", 100), 422, "invalid_transfer"),
        (transfer(&"x".repeat(129), 100), 422, "invalid_transfer"),
        (lower_case_currency, 422, "invalid_transfer"),
        (unknown_field, 422, "invalid_request"),
    ];
    for (body, expected_status, expected_code) in cases {
        let (status, answer) = submit(&sandbox, &body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (expected_status, Some(expected_code))
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
        let id = body["transfer_id"].as_str().unwrap();
        if !id.is_empty() {
            assert_eq!(status_of(&sandbox, id).await.0, 404, "{id} was not kept");
        }
    }
    let malformed = reqwest::Client::new()
        .post(format!("{}/transfers", sandbox.url()))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn beyond_its_capacity_the_sandbox_forgets_the_oldest_transfer_first() {
    let sandbox = spawn_sandbox(|settings| settings.transfers = 2).await;
    for id in ["pay_1", "pay_2", "pay_3"] {
        assert_eq!(submit(&sandbox, &transfer(id, 100)).await.0, 201);
    }
    assert_eq!(
        status_of(&sandbox, "pay_1").await.0,
        404,
        "the oldest is forgotten"
    );
    assert_eq!(status_of(&sandbox, "pay_2").await.0, 200);
    assert_eq!(status_of(&sandbox, "pay_3").await.0, 200);
}

#[tokio::test]
async fn a_request_body_over_16_kib_is_refused() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let mut big = transfer("pay_1", 100);
    big["reference"] = json!("x".repeat(17 * 1024));
    let (status, body) = submit(&sandbox, &big).await;
    assert_eq!(status, 413);
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn an_inbox_keeps_each_delivery_with_the_headers_a_merchant_checks_oldest_first() {
    let sandbox = spawn_sandbox(|_| {}).await;
    assert!(inbox(&sandbox, "mer_1").await.is_empty());
    deliver(
        &sandbox,
        "mer_1",
        &json!({"id": "evt_1", "type": "payment.settled"}),
    )
    .await;
    deliver(
        &sandbox,
        "mer_1",
        &json!({"id": "evt_2", "type": "payment.failed"}),
    )
    .await;
    let deliveries = inbox(&sandbox, "mer_1").await;
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[0]["body"]["id"], "evt_1");
    assert_eq!(deliveries[1]["body"]["id"], "evt_2");
    let headers = &deliveries[0]["headers"];
    assert_eq!(headers["minibank-event-id"], "evt_1");
    assert_eq!(headers["minibank-signature"], "t=1,v1=ab");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.get("x-not-kept").is_none());
    assert!(deliveries[0]["received_at"].as_str().is_some());
    assert!(
        inbox(&sandbox, "mer_2").await.is_empty(),
        "inboxes are apart"
    );
}

#[tokio::test]
async fn inboxes_keep_their_newest_deliveries_and_the_newest_inboxes() {
    let sandbox = spawn_sandbox(|settings| {
        settings.inboxes = 2;
        settings.deliveries_per_inbox = 2;
    })
    .await;
    for id in ["evt_1", "evt_2", "evt_3"] {
        deliver(&sandbox, "mer_1", &json!({ "id": id })).await;
    }
    let ids: Vec<Value> = inbox(&sandbox, "mer_1")
        .await
        .iter()
        .map(|d| d["body"]["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("evt_2"), json!("evt_3")]);
    deliver(&sandbox, "mer_2", &json!({"id": "evt_4"})).await;
    deliver(&sandbox, "mer_3", &json!({"id": "evt_5"})).await;
    assert!(
        inbox(&sandbox, "mer_1").await.is_empty(),
        "the oldest inbox is forgotten"
    );
    assert_eq!(inbox(&sandbox, "mer_3").await.len(), 1);
}

// Waking and the deadline are checked with a controlled clock in the module's own tests; this
// one checks the HTTP side: the header is read, the answer says it was applied.
#[tokio::test]
async fn a_get_with_prefer_wait_answers_with_the_delivery_and_says_the_wait_was_applied() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let url = format!("{}/merchant-inbox/mer_1", sandbox.url());
    let waiting = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .header("prefer", "wait=20")
            .send()
            .await
            .unwrap()
    });
    deliver(&sandbox, "mer_1", &json!({"id": "evt_1"})).await;
    let response = waiting.await.unwrap();
    assert_eq!(response.headers()["preference-applied"], "wait=20");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["deliveries"][0]["body"]["id"], "evt_1");
}

#[tokio::test]
async fn a_get_without_prefer_wait_on_an_empty_inbox_answers_empty_at_once() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let response = reqwest::get(format!("{}/merchant-inbox/mer_1", sandbox.url()))
        .await
        .unwrap();
    assert!(response.headers().get("preference-applied").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"deliveries": []}));
}

#[tokio::test]
async fn an_inbox_name_that_is_not_letters_digits_dashes_or_underscores_is_refused() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let (status, body) = get(format!("{}/merchant-inbox/a.b", sandbox.url())).await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_inbox_name");
    let long = "m".repeat(65);
    assert_eq!(
        get(format!("{}/merchant-inbox/{long}", sandbox.url()))
            .await
            .0,
        400
    );
}

#[tokio::test]
async fn the_sandbox_answers_health_probes_and_stops_when_asked() {
    let sandbox = spawn_sandbox(|_| {}).await;
    let (status, _) = get(format!("{}/health/ready", sandbox.url())).await;
    assert_eq!(status, 200);
    let url = sandbox.url().to_owned();
    sandbox.shutdown().await.unwrap();
    assert!(reqwest::get(format!("{url}/health/live")).await.is_err());
}
