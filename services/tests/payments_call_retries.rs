//! Which of payments' calls the RPC layer retries: its ledger mutations carry the saga's
//! operation id and are marked idempotent, so a blip is retried within the call (the saga never
//! has to postpone); its transfer submission to the provider is not idempotent, so it is never
//! resent by the RPC layer (the saga asks the provider instead).

mod database_support;
mod payments_support;

use std::time::Duration;

use database_support::Databases;
use minibank::payments::saga::backoff::Backoff;
use payments_support::{Money, payment_body};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn status(payment: &Value) -> &str {
    payment["status"].as_str().unwrap_or("?")
}

/// A ledger stand-in that knows one open account, fails the first `failing_holds` holds with
/// 503 and then places them, and captures.
async fn ledger_failing_holds(failing_holds: u64) -> MockServer {
    let ledger = MockServer::start().await;
    let account = minibank::domain::AccountId::generate().to_string();
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"accounts": [{"account_id": account, "currency": "GBP", "status": "open"}]}),
        ))
        .mount(&ledger)
        .await;
    if failing_holds > 0 {
        Mock::given(method("POST"))
            .and(path("/holds"))
            .respond_with(ResponseTemplate::new(503))
            .up_to_n_times(failing_holds)
            .with_priority(1)
            .mount(&ledger)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/holds"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"hold_id": "hld_1"})))
        .mount(&ledger)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("^/holds/hld_1/(capture|release)$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "done"})))
        .mount(&ledger)
        .await;
    ledger
}

fn requests_to<'a>(
    requests: &'a [wiremock::Request],
    verb: &str,
    route: &str,
) -> Vec<&'a wiremock::Request> {
    requests
        .iter()
        .filter(|r| r.method.as_str() == verb && r.url.path() == route)
        .collect()
}

/// The saga's own backoff is an hour, so a payment that settles within the test's patience
/// had its failed holds retried by the RPC layer, inside one saga step.
#[tokio::test]
async fn a_hold_that_fails_twice_is_retried_by_the_rpc_layer_with_the_same_operation_id() {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/transfers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "accepted"})))
        .mount(&provider)
        .await;
    let ledger = ledger_failing_holds(2).await;
    let ledger_url = ledger.uri();
    let money = Money::start_with(Databases::sqlite(), &provider.uri(), move |settings| {
        settings.ledger_url = ledger_url;
        settings.retry_backoff = Backoff {
            base: Duration::from_secs(3600),
            max: Duration::from_secs(3600),
        };
    })
    .await;
    let customer = minibank::domain::CustomerId::generate().to_string();
    let merchant = minibank::domain::MerchantId::generate().to_string();

    let (code, payment) = money
        .pay(&customer, "k-1", payment_body(&merchant, 100))
        .await;
    assert_eq!(code, 201, "{payment}");
    let settled = money
        .final_payment(&customer, payment["payment_id"].as_str().unwrap())
        .await;
    assert_eq!(status(&settled), "settled", "{settled}");

    let requests = ledger.received_requests().await.unwrap();
    let holds: Vec<Value> = requests_to(&requests, "POST", "/holds")
        .into_iter()
        .map(|r| r.body_json().unwrap())
        .collect();
    assert_eq!(holds.len(), 3, "two failures, each retried once: {holds:?}");
    assert!(
        holds[0]["operation_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(
        holds.iter().all(|hold| hold == &holds[0]),
        "every attempt carries the same operation id: {holds:?}"
    );
}

/// A submission answered 503 may have been acted on: the RPC layer does not resend it (the
/// provider got exactly one), and the saga asks for the transfer's status instead.
#[tokio::test]
async fn a_transfer_submission_answered_503_is_never_resent_by_the_rpc_layer() {
    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/transfers"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&provider)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("^/transfers/pay_.+$"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&provider)
        .await;
    let ledger = ledger_failing_holds(0).await;
    let ledger_url = ledger.uri();
    let money = Money::start_with(Databases::sqlite(), &provider.uri(), move |settings| {
        settings.ledger_url = ledger_url;
    })
    .await;
    let customer = minibank::domain::CustomerId::generate().to_string();
    let merchant = minibank::domain::MerchantId::generate().to_string();

    let (code, payment) = money
        .pay(&customer, "k-1", payment_body(&merchant, 100))
        .await;
    assert_eq!(code, 201, "{payment}");
    let payment_id = payment["payment_id"].as_str().unwrap();
    let ended = money.final_payment(&customer, payment_id).await;
    assert_eq!(status(&ended), "failed", "{ended}");

    let requests = provider.received_requests().await.unwrap();
    assert_eq!(
        requests_to(&requests, "POST", "/transfers").len(),
        1,
        "the submission was sent once"
    );
    assert!(
        !requests_to(&requests, "GET", &format!("/transfers/{payment_id}")).is_empty(),
        "the saga asked for the transfer's status instead"
    );
}
