//! auth on its own: its own SQLite file in a temp dir, wiremock as the ledger.

mod foundation_support;

use std::time::Duration;

use foundation_support::{http, run};
use minibank::app::Deps;
use minibank::auth::{self, OperatorCredentials};
use minibank::config::Secret;
use minibank::db::sqlite_url;
use minibank::rpc::RpcClient;
use minibank::telemetry::Telemetry;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Auth {
    url: String,
    ledger: MockServer,
    operator: OperatorCredentials,
    _dir: tempfile::TempDir,
}

async fn start_auth() -> Auth {
    let ledger = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let operator = OperatorCredentials::generate();
    let settings = auth::Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: sqlite_url(&dir.path().join("auth.db")),
        ledger_url: ledger.uri(),
        signing_key: Secret::new("test-signing-key-test-signing-key-0123"),
        token_ttl: Duration::from_secs(60),
        operator: operator.clone(),
        ledger_timeout: Duration::from_secs(2),
    };
    let deps = Deps::new(Telemetry::disabled("auth"), RpcClient::shared_http());
    let app = auth::build(settings, deps).await.unwrap();
    Auth {
        url: run(app).url,
        ledger,
        operator,
        _dir: dir,
    }
}

async fn post(url: String, body: Value, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = http().post(url).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

const OPERATOR_IDENTITY: [(&str, &str); 3] = [
    ("x-minibank-subject", "op_test"),
    ("x-minibank-role", "operator"),
    ("x-minibank-scopes", "parties:write accounts:fund"),
];

async fn ledger_accepts_accounts(ledger: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/accounts"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"status": "open"})))
        .mount(ledger)
        .await;
}

#[tokio::test]
async fn the_operator_gets_a_token_whose_introspection_shows_its_role_and_scopes() {
    let auth = start_auth().await;
    let (status, token) = post(
        format!("{}/tokens", auth.url),
        json!({"client_id": auth.operator.client_id, "client_secret": auth.operator.client_secret.expose()}),
        &[],
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["role"], "operator");
    assert_eq!(token["subject"], auth.operator.client_id.as_str());
    assert_eq!(token["expires_in"], 60);
    assert!(token["scope"].as_str().unwrap().contains("parties:write"));

    let (status, answer) = post(
        format!("{}/introspect", auth.url),
        json!({"token": token["access_token"]}),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["active"], true);
    assert_eq!(answer["role"], "operator");
    assert!(
        answer["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("ledger:audit"))
    );
}

#[tokio::test]
async fn a_wrong_secret_or_an_unknown_client_is_401_invalid_credentials() {
    let auth = start_auth().await;
    for body in [
        json!({"client_id": auth.operator.client_id, "client_secret": "wrong-secret"}),
        json!({"client_id": "cli_nobody", "client_secret": "whatever"}),
    ] {
        let (status, error) = post(format!("{}/tokens", auth.url), body, &[]).await;
        assert_eq!(status, 401);
        assert_eq!(error["code"], "invalid_credentials");
    }
}

#[tokio::test]
async fn a_garbage_token_is_inactive() {
    let auth = start_auth().await;
    let (status, answer) = post(
        format!("{}/introspect", auth.url),
        json!({"token": "not.a.token"}),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer, json!({"active": false}));
}

#[tokio::test]
async fn an_unknown_field_in_a_token_request_is_refused_naming_the_field() {
    let auth = start_auth().await;
    let (status, error) = post(
        format!("{}/tokens", auth.url),
        json!({"client_id": "a", "client_secret": "b", "grant_type": "password"}),
        &[],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error["code"], "unknown_field");
    assert_eq!(error["field"], "grant_type");
    assert!(error["message"].as_str().unwrap().contains("grant_type"));
}

#[tokio::test]
async fn onboarding_a_customer_opens_the_ledger_account_first_and_returns_working_credentials() {
    let auth = start_auth().await;
    ledger_accepts_accounts(&auth.ledger).await;
    let (status, customer) = post(
        format!("{}/customers", auth.url),
        json!({"name": "Ada Lovelace", "currency": "GBP"}),
        &OPERATOR_IDENTITY,
    )
    .await;
    assert_eq!(status, 201, "{customer}");
    let customer_id = customer["customer_id"].as_str().unwrap();
    assert!(customer_id.starts_with("cus_"));
    assert_eq!(customer["currency"], "GBP");

    let opened: Value = auth.ledger.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        opened,
        json!({"account_id": customer["account_id"], "owner_id": customer_id, "currency": "GBP", "kind": "customer"})
    );

    let (status, token) = post(
        format!("{}/tokens", auth.url),
        json!({"client_id": customer["client_id"], "client_secret": customer["client_secret"]}),
        &[],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(token["role"], "customer");
    assert_eq!(token["subject"], customer_id);
    assert!(token["scope"].as_str().unwrap().contains("payments:write"));
}

#[tokio::test]
async fn onboarding_a_merchant_answers_its_settlement_account() {
    let auth = start_auth().await;
    ledger_accepts_accounts(&auth.ledger).await;
    let (status, merchant) = post(
        format!("{}/merchants", auth.url),
        json!({"name": "Tea Shop", "currency": "EUR"}),
        &OPERATOR_IDENTITY,
    )
    .await;
    assert_eq!(status, 201, "{merchant}");
    assert!(
        merchant["merchant_id"]
            .as_str()
            .unwrap()
            .starts_with("mer_")
    );
    assert!(
        merchant["settlement_account_id"]
            .as_str()
            .unwrap()
            .starts_with("acc_")
    );
}

#[tokio::test]
async fn onboarding_needs_an_identity_with_the_parties_write_scope() {
    let auth = start_auth().await;
    ledger_accepts_accounts(&auth.ledger).await;
    let body = json!({"name": "Eve", "currency": "GBP"});
    let (status, error) = post(format!("{}/customers", auth.url), body.clone(), &[]).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let customer = [
        ("x-minibank-subject", "cus_x"),
        ("x-minibank-role", "customer"),
        ("x-minibank-scopes", "payments:write"),
    ];
    let (status, error) = post(format!("{}/customers", auth.url), body, &customer).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
    assert!(auth.ledger.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_unknown_currency_is_refused_before_the_ledger_is_called() {
    let auth = start_auth().await;
    let (status, error) = post(
        format!("{}/customers", auth.url),
        json!({"name": "Ada", "currency": "XXX"}),
        &OPERATOR_IDENTITY,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("invalid_currency"))
    );
    assert!(auth.ledger.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_ledger_is_down_onboarding_is_503_and_can_be_retried() {
    let auth = start_auth().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&auth.ledger)
        .await;
    let (status, error) = post(
        format!("{}/customers", auth.url),
        json!({"name": "Ada", "currency": "GBP"}),
        &OPERATOR_IDENTITY,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (503, Some("dependency_unavailable"))
    );
    // One retry of the idempotent account opening, with the same account id.
    let calls = auth.ledger.received_requests().await.unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0].body_json::<Value>().unwrap()["account_id"],
        calls[1].body_json::<Value>().unwrap()["account_id"]
    );
}
