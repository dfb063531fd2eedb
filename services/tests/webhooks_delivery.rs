//! webhooks over HTTP: endpoint registration, idempotent event intake, signed delivery, retries
//! on the configured schedule, dead letter after the last try, and the merchant's listing.

use std::time::Duration;

use minibank::app::Deps;
use minibank::ledger::domain::{EventId, MerchantId, PaymentId};
use minibank::rpc::RpcClient;
use minibank::telemetry::Telemetry;
use minibank::webhooks::schedule::RetrySchedule;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PATIENCE: Duration = Duration::from_secs(15);

struct Webhooks {
    url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn spawn_webhooks() -> Webhooks {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = minibank::webhooks::Settings::new(minibank::db::sqlite_url(
        &dir.path().join("webhooks.db"),
    ));
    settings.retry_schedule = RetrySchedule::new(vec![
        Duration::from_millis(20),
        Duration::from_millis(40),
        Duration::from_millis(80),
    ]);
    settings.delivery_timeout = Duration::from_millis(500);
    let app = minibank::webhooks::build(
        settings,
        Deps::new(Telemetry::disabled("webhooks"), RpcClient::shared_http()),
    )
    .await
    .unwrap();
    let url = app.base_url();
    tokio::spawn(app.run_until_stopped());
    Webhooks {
        url,
        http: RpcClient::shared_http(),
        _dir: dir,
    }
}

impl Webhooks {
    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.timeout(PATIENCE).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn register(&self, merchant: &str, url: &str, events: Value) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/v1/webhook-endpoints", self.url))
                .header("x-minibank-subject", merchant)
                .header("x-minibank-role", "merchant")
                .header("x-minibank-scopes", "webhooks:write webhooks:read")
                .json(&json!({"url": url, "events": events})),
        )
        .await
    }

    async fn event(&self, event_id: &str, merchant: &str, event_type: &str) -> (u16, Value) {
        let payment_id = PaymentId::generate().to_string();
        self.send(self.http.post(format!("{}/events", self.url)).json(&json!({
            "event_id": event_id,
            "event_type": event_type,
            "merchant_id": merchant,
            "payment_id": payment_id,
            "payload": {"payment_id": payment_id, "status": "settled", "amount": 100},
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        })))
        .await
    }

    async fn deliveries(&self, merchant: &str) -> Vec<Value> {
        let (status, body) = self
            .send(
                self.http
                    .get(format!("{}/v1/webhook-deliveries", self.url))
                    .header("x-minibank-subject", merchant)
                    .header("x-minibank-role", "merchant")
                    .header("x-minibank-scopes", "webhooks:read"),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the merchant's first delivery has `status`.
    async fn delivery_reaching(&self, merchant: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(found) = self
                .deliveries(merchant)
                .await
                .into_iter()
                .find(|d| d["status"] == status)
            {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no delivery became {status}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn merchant() -> String {
    MerchantId::generate().to_string()
}

fn event_id() -> String {
    EventId::generate().to_string()
}

#[tokio::test]
async fn registering_an_endpoint_returns_its_secret_once_and_refuses_bad_urls_and_events() {
    let webhooks = spawn_webhooks().await;
    let m = merchant();
    let (status, body) = webhooks
        .register(&m, "https://shop.example/hooks", json!(["payment.settled"]))
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["secret"].as_str().unwrap().starts_with("whsec_"));
    assert!(body["endpoint_id"].as_str().unwrap().starts_with("whe_"));
    for url in ["/relative", "ftp://shop.example/", "not a url"] {
        let (status, body) = webhooks.register(&m, url, json!(["payment.settled"])).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalid_url")),
            "{url}"
        );
    }
    let (status, body) = webhooks
        .register(&m, "https://shop.example/", json!(["payment.refunded"]))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_events"))
    );
    let customer = minibank::ledger::domain::CustomerId::generate().to_string();
    let (status, _) = webhooks
        .send(
            webhooks
                .http
                .post(format!("{}/v1/webhook-endpoints", webhooks.url))
                .header("x-minibank-subject", customer)
                .header("x-minibank-role", "customer")
                .header("x-minibank-scopes", "webhooks:write")
                .json(&json!({"url": "https://shop.example/", "events": ["payment.settled"]})),
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_event_is_delivered_signed_once_per_endpoint_even_when_sent_twice() {
    let webhooks = spawn_webhooks().await;
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&endpoint)
        .await;
    let m = merchant();
    let (_, registered) = webhooks
        .register(
            &m,
            &format!("{}/hooks", endpoint.uri()),
            json!(["payment.settled"]),
        )
        .await;
    let secret = registered["secret"].as_str().unwrap();
    let id = event_id();
    let (status, first) = webhooks.event(&id, &m, "payment.settled").await;
    assert_eq!((status, first["deliveries"].as_i64()), (202, Some(1)));
    let (status, again) = webhooks.event(&id, &m, "payment.settled").await;
    assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));

    let delivered = webhooks.delivery_reaching(&m, "delivered").await;
    assert_eq!(
        (
            delivered["attempts"].as_i64(),
            delivered["last_response_status"].as_i64()
        ),
        (Some(1), Some(204))
    );
    let requests = endpoint.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "deduplicated by event id");
    let request = &requests[0];
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(
        minibank::webhooks::signature::verify(
            secret,
            &header("minibank-signature"),
            &request.body,
            now,
            300
        ),
        Ok(())
    );
    assert_eq!(header("minibank-event-id"), id);
    assert!(
        header("traceparent").starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
        "continues the event's trace"
    );
    let body: Value = request.body_json().unwrap();
    assert_eq!(
        (body["id"].as_str(), body["type"].as_str()),
        (Some(id.as_str()), Some("payment.settled"))
    );
    assert_eq!(body["data"]["amount"], 100);
    assert_eq!(webhooks.deliveries(&m).await.len(), 1);
    assert!(
        webhooks.deliveries(&merchant()).await.is_empty(),
        "another merchant sees none of them"
    );
}

#[tokio::test]
async fn an_endpoint_not_subscribed_to_the_event_type_gets_nothing() {
    let webhooks = spawn_webhooks().await;
    let m = merchant();
    webhooks
        .register(&m, "http://127.0.0.1:9/hooks", json!(["payment.failed"]))
        .await;
    let (status, body) = webhooks.event(&event_id(), &m, "payment.settled").await;
    assert_eq!((status, body["deliveries"].as_i64()), (202, Some(0)));
    assert!(webhooks.deliveries(&m).await.is_empty());
}

#[tokio::test]
async fn failed_attempts_are_retried_until_the_endpoint_accepts() {
    let webhooks = spawn_webhooks().await;
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&endpoint)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&endpoint)
        .await;
    let m = merchant();
    webhooks
        .register(&m, &endpoint.uri(), json!(["payment.settled"]))
        .await;
    webhooks.event(&event_id(), &m, "payment.settled").await;
    let delivered = webhooks.delivery_reaching(&m, "delivered").await;
    assert_eq!(delivered["attempts"], 3);
    let requests = endpoint.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    let ids: Vec<_> = requests
        .iter()
        .map(|r| r.headers.get("minibank-event-id").cloned())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "every retry carries the same event id"
    );
}

#[tokio::test]
async fn a_delivery_is_dead_lettered_after_the_last_try() {
    let webhooks = spawn_webhooks().await;
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&endpoint)
        .await;
    let m = merchant();
    webhooks
        .register(&m, &endpoint.uri(), json!(["payment.failed"]))
        .await;
    webhooks.event(&event_id(), &m, "payment.failed").await;
    let dead = webhooks.delivery_reaching(&m, "dead_lettered").await;
    assert_eq!(
        (
            dead["attempts"].as_i64(),
            dead["last_response_status"].as_i64()
        ),
        (Some(4), Some(503))
    );
    assert_eq!(
        endpoint.received_requests().await.unwrap().len(),
        4,
        "1 try + 3 retries, then no more"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_and_dead_lettered_with_the_error() {
    let webhooks = spawn_webhooks().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let m = merchant();
    webhooks
        .register(
            &m,
            &format!("http://{closed}/hooks"),
            json!(["payment.settled"]),
        )
        .await;
    webhooks.event(&event_id(), &m, "payment.settled").await;
    let dead = webhooks.delivery_reaching(&m, "dead_lettered").await;
    assert_eq!(dead["attempts"], 4);
    assert!(
        dead["last_error"].as_str().unwrap().contains("unreachable"),
        "{dead}"
    );
    assert!(dead.get("last_response_status").is_none());
}

#[tokio::test]
async fn a_dead_endpoint_does_not_hold_up_deliveries_to_other_merchants() {
    let webhooks = spawn_webhooks().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let broken = merchant();
    webhooks
        .register(
            &broken,
            &format!("http://{closed}/hooks"),
            json!(["payment.settled"]),
        )
        .await;
    for _ in 0..3 {
        webhooks
            .event(&event_id(), &broken, "payment.settled")
            .await;
    }
    // Enough failures to open the broken endpoint's circuit.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while webhooks
        .deliveries(&broken)
        .await
        .iter()
        .map(|d| d["attempts"].as_i64().unwrap_or(0))
        .sum::<i64>()
        < 5
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the broken endpoint was not tried"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&endpoint)
        .await;
    let healthy = merchant();
    webhooks
        .register(&healthy, &endpoint.uri(), json!(["payment.settled"]))
        .await;
    webhooks
        .event(&event_id(), &healthy, "payment.settled")
        .await;
    let delivered = webhooks.delivery_reaching(&healthy, "delivered").await;
    assert_eq!(delivered["attempts"], 1, "{delivered}");
}
