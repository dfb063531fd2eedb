//! The provider stand-in answers per behaviour, only for the accounts it was scoped to.

use std::{path::Path, time::Duration};

use drivers::{ProviderBehaviour, ProviderControl, stand_ins::ProviderStandIn};
use serde_json::{Value, json};

fn fixtures() -> &'static Path {
    Path::new(drivers::in_process::DEFAULT_PROVIDER_FIXTURES)
}

async fn stand_in() -> ProviderStandIn {
    ProviderStandIn::start(fixtures(), Duration::from_millis(300))
        .await
        .expect("provider stand-in starts")
}

fn transfer(id: &str, debtor: &str) -> Value {
    json!({"transfer_id": id, "amount": 100, "currency": "GBP", "debtor_account": debtor,
           "creditor_account": "acc_creditor", "reference": "test"})
}

async fn submit(provider: &ProviderStandIn, id: &str, debtor: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/transfers", provider.url()))
        .json(&transfer(id, debtor))
        .send()
        .await
        .expect("provider answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn status_of(provider: &ProviderStandIn, id: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}/transfers/{id}", provider.url()))
        .await
        .expect("provider answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn accounts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn by_default_every_transfer_is_accepted_with_its_id_echoed() {
    let provider = stand_in().await;
    let (status, body) = submit(&provider, "pay_1", "acc_a").await;
    assert_eq!(status, 201);
    assert_eq!(body, json!({"transfer_id": "pay_1", "status": "accepted"}));
}

#[tokio::test]
async fn a_status_query_knows_the_transfers_it_accepted_and_404s_the_rest() {
    let provider = stand_in().await;
    submit(&provider, "pay_known", "acc_a").await;
    let (status, body) = status_of(&provider, "pay_known").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"transfer_id": "pay_known", "status": "accepted"})
    );
    assert_eq!(status_of(&provider, "pay_never_sent").await.0, 404);
}

#[tokio::test]
async fn rejects_applies_only_to_the_scoped_accounts() {
    let provider = stand_in().await;
    provider
        .set_behaviour(&accounts(&["acc_rejected"]), ProviderBehaviour::Rejects)
        .await;
    let (status, body) = submit(&provider, "pay_r", "acc_rejected").await;
    assert_eq!(status, 422);
    assert_eq!(body["status"], "rejected");
    assert!(body["reason"].is_string());
    assert_eq!(submit(&provider, "pay_other", "acc_other").await.0, 201);
}

#[tokio::test]
async fn accepts_restores_the_default_answers() {
    let provider = stand_in().await;
    let scope = accounts(&["acc_flaky"]);
    provider
        .set_behaviour(&scope, ProviderBehaviour::IsDown)
        .await;
    assert_eq!(submit(&provider, "pay_d", "acc_flaky").await.0, 503);
    provider
        .set_behaviour(&scope, ProviderBehaviour::Accepts)
        .await;
    assert_eq!(submit(&provider, "pay_e", "acc_flaky").await.0, 201);
}

#[tokio::test]
async fn is_down_answers_503_to_transfers_and_their_status_queries() {
    let provider = stand_in().await;
    provider
        .set_behaviour(&accounts(&["acc_down"]), ProviderBehaviour::IsDown)
        .await;
    assert_eq!(submit(&provider, "pay_down", "acc_down").await.0, 503);
    assert_eq!(status_of(&provider, "pay_down").await.0, 503);
}

#[tokio::test]
async fn times_out_answers_late_and_the_status_query_says_processed() {
    let provider = stand_in().await;
    provider
        .set_behaviour(
            &accounts(&["acc_slow"]),
            ProviderBehaviour::TimesOut { processed: true },
        )
        .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let outcome = client
        .post(format!("{}/transfers", provider.url()))
        .json(&transfer("pay_slow", "acc_slow"))
        .send()
        .await;
    assert!(
        outcome.is_err_and(|e| e.is_timeout()),
        "the answer is held back"
    );
    let (status, body) = status_of(&provider, "pay_slow").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "accepted");
    // Another scenario's transfer keeps the default answer.
    assert_eq!(status_of(&provider, "pay_unrelated").await.0, 404);
}

#[tokio::test]
async fn a_processed_transfer_stays_accepted_after_the_scope_goes_back_to_normal() {
    let provider = stand_in().await;
    let scope = accounts(&["acc_late"]);
    provider
        .set_behaviour(&scope, ProviderBehaviour::TimesOut { processed: true })
        .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let _ = client
        .post(format!("{}/transfers", provider.url()))
        .json(&transfer("pay_late", "acc_late"))
        .send()
        .await;
    provider
        .set_behaviour(&scope, ProviderBehaviour::Accepts)
        .await;
    assert_eq!(
        status_of(&provider, "pay_late").await.1["status"],
        "accepted"
    );
}

#[tokio::test]
async fn times_out_unprocessed_answers_404_to_the_status_query() {
    let provider = stand_in().await;
    provider
        .set_behaviour(
            &accounts(&["acc_lost"]),
            ProviderBehaviour::TimesOut { processed: false },
        )
        .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let _ = client
        .post(format!("{}/transfers", provider.url()))
        .json(&transfer("pay_lost", "acc_lost"))
        .send()
        .await;
    assert_eq!(status_of(&provider, "pay_lost").await.0, 404);
}

#[tokio::test]
async fn transfers_received_lists_only_the_asked_accounts_oldest_first() {
    let provider = stand_in().await;
    submit(&provider, "pay_1", "acc_mine").await;
    submit(&provider, "pay_2", "acc_theirs").await;
    submit(&provider, "pay_3", "acc_mine").await;
    let mine = provider.transfers_received(&accounts(&["acc_mine"])).await;
    let ids: Vec<&str> = mine
        .iter()
        .map(|t| t["transfer_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pay_1", "pay_3"]);
}
