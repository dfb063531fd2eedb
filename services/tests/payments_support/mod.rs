//! Test support for the money services: ledger, webhooks and payments on 127.0.0.1:0 with
//! fresh databases (SQLite files or PostgreSQL, see `database_support`), wiremock as the provider, and helpers that speak to them the way
//! edge would (identity headers). Shared by the payments and invariant tests.

#![allow(dead_code)]

#[path = "../webhooks_support/mod.rs"]
mod webhooks_support;

use minibank::service::Service;
use std::time::Duration;

use minibank::app::{Deps, ShutdownHandle};
use minibank::domain::{AccountId, CustomerId, MerchantId};
use minibank::rpc::RpcClient;
use minibank::telemetry::Telemetry;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// How long any wait in these tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// A running payments service.
pub struct PaymentsProcess {
    pub url: String,
    shutdown: ShutdownHandle,
    task: JoinHandle<anyhow::Result<()>>,
}

/// ledger + webhooks + payments.
pub struct Money {
    pub ledger_url: String,
    pub webhooks_url: String,
    pub payments: PaymentsProcess,
    pub settings: minibank::payments::Settings,
    pub http: reqwest::Client,
    _databases: crate::database_support::Databases,
}

impl Money {
    /// Starts the three services against `provider_url`.
    pub async fn start(db: crate::database_support::Databases, provider_url: &str) -> Money {
        Money::start_with(db, provider_url, |_| {}).await
    }

    /// Starts the three services, letting the test adjust payments' settings.
    pub async fn start_with(
        db: crate::database_support::Databases,
        provider_url: &str,
        tweak: impl FnOnce(&mut minibank::payments::Settings),
    ) -> Money {
        let http = RpcClient::shared_http();
        let deps = |name: &str| Deps::new(Telemetry::disabled(name), http.clone());

        let ledger = minibank::ledger::build(
            minibank::ledger::Settings {
                bind: "127.0.0.1:0".parse().unwrap(),
                database_url: db.url("ledger").await,
            },
            deps("ledger"),
        )
        .await
        .unwrap();
        let ledger_url = ledger.base_url();
        tokio::spawn(ledger.run_until_stopped());

        let mut webhook_settings = webhooks_support::test_settings(db.url("webhooks").await);
        webhook_settings.sweep = Duration::from_millis(100);
        let webhooks = minibank::webhooks::build(webhook_settings, deps("webhooks"))
            .await
            .unwrap();
        let webhooks_url = webhooks.base_url();
        tokio::spawn(webhooks.run_until_stopped());

        let mut settings = <minibank::payments::Payments as Service>::for_tests(
            minibank::payments::Settings::new(
                db.url("payments").await,
                &ledger_url,
                &webhooks_url,
                provider_url,
            ),
        );
        // As the in-process platform's default (`PlatformConfig::for_tests`).
        settings.provider_timeout = Duration::from_millis(300);
        tweak(&mut settings);
        let payments = start_payments(&settings, &http).await;
        Money {
            ledger_url,
            webhooks_url,
            payments,
            settings,
            http,
            _databases: db,
        }
    }

    /// Stops payments (in-flight sagas stop where they are) and starts it again on its database.
    pub async fn restart_payments(&mut self) {
        self.payments.shutdown.shutdown();
        let task = &mut self.payments.task;
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("payments stops")
            .expect("payments task")
            .expect("payments ran");
        self.payments = start_payments(&self.settings, &self.http).await;
    }

    /// Starts one more payments replica on the same database and peers (the caller stops it by
    /// dropping it with the test).
    pub async fn start_replica(&self) -> PaymentsProcess {
        start_payments(&self.settings, &self.http).await
    }

    /// POST JSON to a base URL + path, with optional identity and extra headers.
    pub async fn post(
        &self,
        url: &str,
        identity: Option<(&str, &str, &str)>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (u16, Value) {
        let mut request = self.http.post(url).json(&body).timeout(PATIENCE);
        if let Some((subject, role, scopes)) = identity {
            request = request
                .header("x-minibank-subject", subject)
                .header("x-minibank-role", role)
                .header("x-minibank-scopes", scopes);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GET a URL with an optional identity.
    pub async fn get(&self, url: &str, identity: Option<(&str, &str, &str)>) -> (u16, Value) {
        let mut request = self.http.get(url).timeout(PATIENCE);
        if let Some((subject, role, scopes)) = identity {
            request = request
                .header("x-minibank-subject", subject)
                .header("x-minibank-role", role)
                .header("x-minibank-scopes", scopes);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Opens a ledger account for `owner` and tops it up with `funds` (if any).
    pub async fn open_account(
        &self,
        owner: &str,
        kind: &str,
        currency: &str,
        funds: i64,
    ) -> String {
        let account_id = AccountId::generate().to_string();
        let (status, body) = self
            .post(
                &format!("{}/accounts", self.ledger_url),
                None,
                &[],
                json!({"account_id": account_id, "owner_id": owner, "currency": currency, "kind": kind}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        if funds > 0 {
            let (status, body) = self
                .post(
                    &format!("{}/accounts/{account_id}/top-ups", self.ledger_url),
                    None,
                    &[],
                    json!({"operation_id": format!("fund-{account_id}"), "amount": funds, "currency": currency}),
                )
                .await;
            assert_eq!(status, 201, "{body}");
        }
        account_id
    }

    /// A customer with a GBP account holding `funds`: (customer id, account id).
    pub async fn customer(&self, funds: i64) -> (String, String) {
        let customer = CustomerId::generate().to_string();
        let account = self.open_account(&customer, "customer", "GBP", funds).await;
        (customer, account)
    }

    /// A merchant with a GBP settlement account: (merchant id, account id).
    pub async fn merchant(&self) -> (String, String) {
        let merchant = MerchantId::generate().to_string();
        let account = self.open_account(&merchant, "merchant", "GBP", 0).await;
        (merchant, account)
    }

    /// The ledger's view of an account.
    pub async fn account(&self, account_id: &str) -> Value {
        let (status, body) = self
            .get(&format!("{}/accounts/{account_id}", self.ledger_url), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// `POST /v1/payments` as `customer` with `key`.
    pub async fn pay(&self, customer: &str, key: &str, body: Value) -> (u16, Value) {
        self.pay_with_headers(customer, key, &[], body).await
    }

    /// `POST /v1/payments` with extra headers (e.g. a traceparent).
    pub async fn pay_with_headers(
        &self,
        customer: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> (u16, Value) {
        let mut all = vec![("idempotency-key", key)];
        all.extend_from_slice(headers);
        self.post(
            &format!("{}/v1/payments", self.payments.url),
            Some((customer, "customer", "payments:write payments:read")),
            &all,
            body,
        )
        .await
    }

    /// `GET /v1/payments/{id}` as `customer`.
    pub async fn payment(&self, customer: &str, payment_id: &str) -> Value {
        let (status, body) = self
            .get(
                &format!("{}/v1/payments/{payment_id}", self.payments.url),
                Some((customer, "customer", "payments:read")),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until the payment is `settled` or `failed`; returns it.
    pub async fn final_payment(&self, customer: &str, payment_id: &str) -> Value {
        eventually(|| async {
            let payment = self.payment(customer, payment_id).await;
            matches!(payment["status"].as_str(), Some("settled" | "failed")).then_some(payment)
        })
        .await
    }

    /// The ledger audit.
    pub async fn audit(&self) -> Value {
        let (status, body) = self.get(&format!("{}/audit", self.ledger_url), None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Registers a webhook endpoint for `merchant`; returns (endpoint id, secret).
    pub async fn register_endpoint(&self, merchant: &str, url: &str) -> (String, String) {
        let (status, body) = self
            .post(
                &format!("{}/endpoints", self.webhooks_url),
                None,
                &[],
                json!({"merchant_id": merchant, "url": url, "events": ["payment.settled", "payment.failed"]}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        (
            body["endpoint_id"].as_str().unwrap().to_owned(),
            body["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// The merchant's deliveries.
    pub async fn deliveries(&self, merchant: &str) -> Vec<Value> {
        let (status, body) = self
            .get(
                &format!("{}/deliveries?merchant_id={merchant}", self.webhooks_url),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["deliveries"].as_array().cloned().unwrap_or_default()
    }
}

async fn start_payments(
    settings: &minibank::payments::Settings,
    http: &reqwest::Client,
) -> PaymentsProcess {
    let app = minibank::payments::build(
        settings.clone(),
        Deps::new(Telemetry::disabled("payments"), http.clone()),
    )
    .await
    .unwrap();
    let url = app.base_url();
    let shutdown = app.shutdown_handle();
    let task = tokio::spawn(app.run_until_stopped());
    PaymentsProcess {
        url,
        shutdown,
        task,
    }
}

/// Polls `check` until it yields a value, failing after [`PATIENCE`]. The services finish work
/// in background tasks the test cannot join, so it waits on the observable condition.
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A payment body.
pub fn payment_body(merchant: &str, amount: i64) -> Value {
    json!({"merchant_id": merchant, "amount": amount, "currency": "GBP", "reference": "order 42"})
}
