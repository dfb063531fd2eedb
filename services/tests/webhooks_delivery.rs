//! webhooks over HTTP, on SQLite and on PostgreSQL (`database_support`): endpoint registration,
//! idempotent event intake, signed delivery, retries on the configured schedule, dead letter
//! after the last try, the merchant's listing, and delivery claims that racing workers respect.

mod database_support;
mod webhooks_support;

use std::sync::Arc;
use std::time::Duration;

use database_support::Databases;

use minibank::app::Deps;
use minibank::db::WriteGate;
use minibank::domain::{EventId, MerchantId, PaymentId};
use minibank::rpc::RpcClient;
use minibank::telemetry::Telemetry;
use minibank::webhooks::delivery::DeliveryWorker;
use minibank::webhooks::destination::DestinationPolicy;
use minibank::webhooks::model::{EventType, WebhookUrl};
use minibank::webhooks::store;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PATIENCE: Duration = Duration::from_secs(15);

struct Webhooks {
    url: String,
    http: reqwest::Client,
    database_url: String,
    settings: minibank::webhooks::Settings,
    /// Stops the service; its task ends once it has.
    shutdown: minibank::app::ShutdownHandle,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn spawn_webhooks(db: &Databases) -> Webhooks {
    spawn_webhooks_with(db, |_| {}).await
}

/// webhooks on a fresh database of `db`'s kind, with millisecond retries.
async fn spawn_webhooks_with(
    db: &Databases,
    adjust: impl FnOnce(&mut minibank::webhooks::Settings),
) -> Webhooks {
    spawn_webhooks_on(db.url("webhooks").await, adjust).await
}

/// webhooks on the database at `database_url`, with millisecond retries, allowed to deliver to
/// 127.0.0.1 on unprivileged ports (the wiremock endpoints).
async fn spawn_webhooks_on(
    database_url: String,
    adjust: impl FnOnce(&mut minibank::webhooks::Settings),
) -> Webhooks {
    let mut settings = webhooks_support::test_settings(database_url.clone());
    settings.delivery_timeout = Duration::from_millis(500);
    adjust(&mut settings);
    let app = minibank::webhooks::build(
        settings.clone(),
        Deps::new(Telemetry::disabled("webhooks"), RpcClient::shared_http()),
    )
    .await
    .unwrap();
    let url = app.base_url();
    let shutdown = app.shutdown_handle();
    let task = tokio::spawn(app.run_until_stopped());
    Webhooks {
        url,
        http: RpcClient::shared_http(),
        database_url,
        settings,
        shutdown,
        task,
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
        self.post_event(event_body(event_id, merchant, event_type))
            .await
    }

    async fn post_event(&self, body: Value) -> (u16, Value) {
        self.send(self.http.post(format!("{}/events", self.url)).json(&body))
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

/// What payments' relay posts to `/events`.
fn event_body(event_id: &str, merchant: &str, event_type: &str) -> Value {
    let payment_id = PaymentId::generate().to_string();
    json!({
        "event_id": event_id,
        "event_type": event_type,
        "merchant_id": merchant,
        "payment_id": payment_id,
        "payload": {"payment_id": payment_id, "status": "settled", "amount": 100},
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    })
}

fn merchant() -> String {
    MerchantId::generate().to_string()
}

fn event_id() -> String {
    EventId::generate().to_string()
}

on_every_database! {
    #[tokio::test]
    async fn registering_an_endpoint_returns_its_secret_once_and_refuses_bad_urls_and_events(db) {
        let webhooks = spawn_webhooks(&db).await;
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
                (status, body["code"].as_str(), body["field"].as_str()),
                (422, Some("invalid_url"), Some("url")),
                "{url}"
            );
        }
        let (status, body) = webhooks
            .register(&m, "https://shop.example/", json!(["payment.refunded"]))
            .await;
        assert_eq!(
            (status, body["code"].as_str(), body["field"].as_str()),
            (422, Some("invalid_events"), Some("events"))
        );
        let customer = minibank::domain::CustomerId::generate().to_string();
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
}

on_every_database! {
    #[tokio::test]
    async fn an_event_is_delivered_signed_once_per_endpoint_even_when_sent_twice(db) {
        let webhooks = spawn_webhooks(&db).await;
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
}

on_every_database! {
    #[tokio::test]
    async fn an_endpoint_not_subscribed_to_the_event_type_gets_nothing(db) {
        let webhooks = spawn_webhooks(&db).await;
        let m = merchant();
        webhooks
            .register(&m, "https://shop.example/hooks", json!(["payment.failed"]))
            .await;
        let (status, body) = webhooks.event(&event_id(), &m, "payment.settled").await;
        assert_eq!((status, body["deliveries"].as_i64()), (202, Some(0)));
        assert!(webhooks.deliveries(&m).await.is_empty());
    }
}

on_every_database! {
    #[tokio::test]
    async fn failed_attempts_are_retried_until_the_endpoint_accepts(db) {
        let webhooks = spawn_webhooks(&db).await;
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
}

on_every_database! {
    #[tokio::test]
    async fn a_delivery_is_dead_lettered_after_the_last_try(db) {
        let webhooks = spawn_webhooks(&db).await;
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
}

on_every_database! {
    #[tokio::test]
    async fn an_unreachable_endpoint_is_retried_and_dead_lettered_with_the_error(db) {
        let webhooks = spawn_webhooks(&db).await;
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
}

on_every_database! {
    #[tokio::test]
    async fn a_dead_endpoint_does_not_hold_up_deliveries_to_other_merchants(db) {
        let webhooks = spawn_webhooks(&db).await;
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
}

on_every_database! {
    /// Without the SQLite write gate (PostgreSQL), copies of one event racing each other still
    /// store it once: one 202, the rest 200 duplicates, one delivery sent.
    #[tokio::test]
    async fn copies_of_an_event_sent_at_once_are_stored_and_delivered_once(db) {
        let webhooks = spawn_webhooks(&db).await;
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&endpoint)
            .await;
        let m = merchant();
        webhooks
            .register(&m, &endpoint.uri(), json!(["payment.settled"]))
            .await;
        let body = event_body(&event_id(), &m, "payment.settled");
        let copies = futures::future::join_all((0..8).map(|_| webhooks.post_event(body.clone()))).await;
        let mut statuses: Vec<u16> = copies.iter().map(|(status, _)| *status).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 202], "{copies:?}");
        let delivered = all_deliveries_reaching(&webhooks, &m, 1, "delivered").await;
        assert_eq!(delivered[0]["attempts"], 1);
        assert_eq!(endpoint.received_requests().await.unwrap().len(), 1);
    }

    /// Regression (PostgreSQL): a trace field holding a NUL character, which PostgreSQL text
    /// cannot store, failed the whole event with 500 (and the relay resent it forever) where
    /// SQLite accepted it. A trace field that could not be sent as its header is now ignored,
    /// as a propagator ignores an unreadable header, on both databases.
    #[tokio::test]
    async fn an_event_whose_trace_fields_cannot_be_headers_is_delivered_without_them(db) {
        let webhooks = spawn_webhooks(&db).await;
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&endpoint)
            .await;
        let m = merchant();
        webhooks
            .register(&m, &endpoint.uri(), json!(["payment.settled"]))
            .await;
        let mut body = event_body(&event_id(), &m, "payment.settled");
        body["tracestate"] = json!("vendor=a\u{0}b");
        body["baggage"] = json!("k=v\nx");
        let (status, answer) = webhooks.post_event(body).await;
        assert_eq!(status, 202, "{answer}");
        webhooks.delivery_reaching(&m, "delivered").await;
        let requests = endpoint.received_requests().await.unwrap();
        assert!(
            requests[0].headers["traceparent"]
                .to_str()
                .unwrap()
                .starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
            "the valid traceparent is still continued"
        );
        assert!(requests[0].headers.get("tracestate").is_none());
        assert!(requests[0].headers.get("baggage").is_none());
    }

    /// The internal routes refuse bad ids and types with the field they are about.
    #[tokio::test]
    async fn internal_requests_with_bad_values_name_the_field(db) {
        let webhooks = spawn_webhooks(&db).await;
        let m = merchant();
        for (field, value, code) in [
            ("event_id", "evt_1", "invalid_id"),
            ("merchant_id", "cus_1", "invalid_id"),
            ("payment_id", "1", "invalid_id"),
            ("event_type", "payment.refunded", "invalid_event_type"),
        ] {
            let mut body = event_body(&event_id(), &m, "payment.settled");
            body[field] = json!(value);
            let (status, answer) = webhooks.post_event(body).await;
            assert_eq!(
                (status, answer["code"].as_str(), answer["field"].as_str()),
                (422, Some(code), Some(field)),
                "{answer}"
            );
        }
        let (status, answer) = webhooks
            .send(webhooks.http.get(format!("{}/deliveries", webhooks.url)))
            .await;
        assert_eq!(
            (status, answer["code"].as_str(), answer["field"].as_str()),
            (422, Some("missing_field"), Some("merchant_id")),
            "{answer}"
        );
        let (status, answer) = webhooks
            .send(
                webhooks
                    .http
                    .post(format!("{}/endpoints", webhooks.url))
                    .json(&json!({"merchant_id": "mer_x", "url": "https://shop.example/"})),
            )
            .await;
        assert_eq!(
            (status, answer["code"].as_str(), answer["field"].as_str()),
            (422, Some("invalid_id"), Some("merchant_id")),
            "{answer}"
        );
    }
}

/// More delivery loops over the same database as `webhooks`, each polling every millisecond and
/// woken every millisecond too, so that reads of due deliveries race each other, the service's
/// own worker and the recording of attempts. Stopped (and awaited) on drop of the token.
struct CompetingWorkers {
    stop: CancellationToken,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

impl CompetingWorkers {
    async fn start(webhooks: &Webhooks, count: usize) -> Self {
        let stop = CancellationToken::new();
        let mut loops = Vec::new();
        for _ in 0..count {
            let pool = minibank::db::connect(&webhooks.database_url).await.unwrap();
            let wake = Arc::new(Notify::new());
            // Millisecond retries and a 500 ms attempt, as the service under test.
            let mut settings = webhooks.settings.clone();
            settings.sweep = Duration::from_millis(1);
            let worker = Arc::new(DeliveryWorker::new(
                pool,
                WriteGate::for_url(&webhooks.database_url),
                Deps::new(Telemetry::disabled("webhooks"), RpcClient::shared_http()),
                &settings,
                wake.clone(),
            ));
            loops.push(tokio::spawn(worker.run(stop.clone())));
            let (stop, wake) = (stop.clone(), wake.clone());
            loops.push(tokio::spawn(async move {
                while !stop.is_cancelled() {
                    wake.notify_one();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }));
        }
        CompetingWorkers { stop, loops }
    }

    async fn stop(self) {
        self.stop.cancel();
        for task in self.loops {
            task.await.unwrap();
        }
    }
}

/// Waits until every delivery of `merchant` (expecting `count`) has `status`.
async fn all_deliveries_reaching(
    webhooks: &Webhooks,
    merchant: &str,
    count: usize,
    status: &str,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let deliveries = webhooks.deliveries(merchant).await;
        if deliveries.len() == count && deliveries.iter().all(|d| d["status"] == status) {
            return deliveries;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not every delivery became {status}: {deliveries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Requests the endpoint received per event id.
async fn requests_per_event(endpoint: &MockServer) -> std::collections::BTreeMap<String, i64> {
    let mut counts = std::collections::BTreeMap::new();
    for request in endpoint.received_requests().await.unwrap() {
        let id = request.headers["minibank-event-id"]
            .to_str()
            .unwrap()
            .to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

/// Recorded attempts per event id.
fn attempts_per_event(deliveries: &[Value]) -> std::collections::BTreeMap<String, i64> {
    deliveries
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap().to_owned(),
                d["attempts"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Four delivery loops race over `events` events to an endpoint answering `status`; every event
/// ends `final_status` after `attempts` recorded attempts, and the merchant received exactly the
/// recorded attempts, never one more.
async fn racing_delivery_loops(
    db: &Databases,
    status: u16,
    events: usize,
    final_status: &str,
    attempts: i64,
) {
    let webhooks = spawn_webhooks_with(db, |s| s.sweep = Duration::from_millis(1)).await;
    let endpoint = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status).set_delay(Duration::from_millis(5)))
        .mount(&endpoint)
        .await;
    let m = merchant();
    webhooks
        .register(&m, &endpoint.uri(), json!(["payment.settled"]))
        .await;
    let competing = CompetingWorkers::start(&webhooks, 4).await;
    for _ in 0..events {
        webhooks.event(&event_id(), &m, "payment.settled").await;
    }
    let finished = all_deliveries_reaching(&webhooks, &m, events, final_status).await;
    competing.stop().await;
    let recorded = attempts_per_event(&finished);
    assert!(recorded.values().all(|a| *a == attempts), "{recorded:?}");
    assert_eq!(
        requests_per_event(&endpoint).await,
        recorded,
        "the merchant received exactly the recorded attempts"
    );
}

on_every_database! {
    /// Regression: a delivery read by one pass while another pass's attempt was in flight or just
    /// recorded was sent again with a stale attempt count (a merchant got 5 requests for 4 recorded
    /// attempts, or a second copy of a delivered event). Every attempt is now claimed first.
    #[tokio::test]
    async fn racing_delivery_loops_send_each_event_exactly_once_when_the_first_try_succeeds(db) {
        racing_delivery_loops(&db, 200, 20, "delivered", 1).await;
    }
}

on_every_database! {
    /// The same race with an endpoint that always fails: the requests received equal the attempts
    /// recorded (1 try + 3 retries) for every event, never one more.
    #[tokio::test]
    async fn racing_delivery_loops_send_each_attempt_once_to_a_failing_endpoint(db) {
        racing_delivery_loops(&db, 500, 2, "dead_lettered", 4).await;
    }
}

on_every_database! {
    /// The claim itself: of many concurrent claims of one attempt exactly one wins; a claimed
    /// delivery is not due until its lease ends (a sender that died mid-send); then it can be
    /// claimed again, and only the current claim can record the attempt.
    #[tokio::test]
    async fn an_attempt_is_claimed_once_and_an_expired_claim_can_be_taken_over(db) {
        let url = db.url("webhooks").await;
        let pool = minibank::db::connect(&url).await.unwrap();
        minibank::db::migrate(&pool, minibank::webhooks::MIGRATIONS)
            .await
            .unwrap();
        let gate = WriteGate::for_url(&url);
        for sql in [
            "INSERT INTO endpoints VALUES ('whe_1', 'mer_1', 'http://127.0.0.1:9/', \
               'payment.settled', 'whsec_1', 'now')",
            "INSERT INTO events VALUES ('evt_1', 'payment.settled', 'mer_1', 'pay_1', '{}', \
               NULL, NULL, NULL, 'now')",
            "INSERT INTO deliveries VALUES ('dlv_1', 'evt_1', 'whe_1', 'mer_1', 'pay_1', \
               'payment.settled', 'pending', 0, 1000, NULL, NULL, 'now', 'now')",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        let now = 2_000;
        let due = store::due(&pool, now, 10).await.unwrap();
        assert_eq!(due.len(), 1);
        let seen = due[0].attempts;

        let claims = (0..16).map(|_| {
            let (pool, gate) = (pool.clone(), gate.clone());
            tokio::spawn(async move { store::claim(&pool, &gate, "dlv_1", seen, now, now + 500).await })
        });
        let mut won = 0;
        for claim in claims {
            won += usize::from(claim.await.unwrap().unwrap());
        }
        assert_eq!(won, 1, "exactly one of the concurrent claims wins");
        assert!(
            store::due(&pool, now + 499, 10).await.unwrap().is_empty(),
            "a claimed delivery is not due while its lease lasts"
        );

        // The first sender died mid-send: once the lease ends the attempt is due again, unchanged.
        let later = now + 500;
        let due = store::due(&pool, later, 10).await.unwrap();
        assert_eq!((due.len(), due[0].attempts), (1, seen));
        assert!(
            store::claim(&pool, &gate, "dlv_1", seen, later, later + 500)
                .await
                .unwrap()
        );
        let result = store::AttemptResult::Delivered { status: 200 };
        assert!(
            !store::record_attempt(&pool, &gate, "dlv_1", seen, now + 500, &result)
                .await
                .unwrap(),
            "the expired claim can no longer record its attempt"
        );
        assert!(
            store::record_attempt(&pool, &gate, "dlv_1", seen, later + 500, &result)
                .await
                .unwrap(),
            "the current claim records it"
        );
        assert!(
            !store::claim(&pool, &gate, "dlv_1", seen, later + 1_000, later + 1_500)
                .await
                .unwrap(),
            "a recorded attempt cannot be claimed again"
        );
        let (status, attempts): (String, i64) =
            sqlx::query_as("SELECT status, attempts FROM deliveries WHERE delivery_id = 'dlv_1'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!((status.as_str(), attempts), ("delivered", 1));
    }
}

on_every_database! {
    #[tokio::test]
    async fn an_inward_destination_is_refused_at_registration_with_its_reason(db) {
        let webhooks = spawn_webhooks_with(&db, |settings| {
            settings.destinations = DestinationPolicy::public_only();
        })
        .await;
        let m = merchant();
        // Strings to judge only: none of these is ever called.
        for (url, reason) in [
            ("http://127.0.0.1:9/hook", "loopback"),
            ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
            ("http://10.0.0.1/x", "private address"),
            ("http://[::1]:80/x", "loopback"),
            ("http://localhost:8080/x", "loopback"),
            ("http://ledger/holds", "platform's own services"),
            ("http://2130706433/", "loopback"),
            ("http://0x7f000001/", "loopback"),
            ("http://[::ffff:a9fe:a9fe]/", "cloud metadata"),
            ("http://[fd00:ec2::254]/", "cloud metadata"),
            ("http://metadata.google.internal/", "cloud metadata"),
            ("http://[fc00::1]/", "unique-local"),
            ("http://169.254.3.4/", "link-local"),
            ("http://0.0.0.0/", "unspecified"),
        ] {
            let (status, body) = webhooks.register(&m, url, json!(["payment.settled"])).await;
            assert_eq!(
                (status, body["code"].as_str(), body["field"].as_str()),
                (422, Some("destination_refused"), Some("url")),
                "{url}: {body}"
            );
            let message = body["message"].as_str().unwrap_or_default();
            assert!(message.contains(reason), "{url}: {message}");
        }
        let (status, body) = webhooks
            .register(&m, "https://shop.example/hooks", json!(["payment.settled"]))
            .await;
        assert_eq!(status, 201, "a public destination is accepted: {body}");
    }
}

on_every_database! {
    /// Secrets at rest: the database holds only sealed secrets. On SQLite the test reads the
    /// files' raw bytes (the database, its WAL and shared memory); on PostgreSQL the column.
    /// Each endpoint id is found in the same bytes, so the reading itself is checked.
    #[tokio::test]
    async fn signing_secrets_are_stored_sealed_never_in_plain_text(db) {
        let webhooks = spawn_webhooks(&db).await;
        let m = merchant();
        let mut registered = Vec::new();
        for n in 0..3 {
            let (status, body) = webhooks
                .register(&m, &format!("https://shop{n}.example/hooks"), json!(["payment.settled"]))
                .await;
            assert_eq!(status, 201, "{body}");
            let secret = body["secret"].as_str().unwrap().to_owned();
            let endpoint_id = body["endpoint_id"].as_str().unwrap().to_owned();
            registered.push((endpoint_id, secret));
        }
        let pool = minibank::db::connect(&webhooks.database_url).await.unwrap();
        let stored: Vec<(String, String)> =
            sqlx::query_as("SELECT endpoint_id, secret FROM endpoints")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(stored.len(), registered.len());
        for (endpoint_id, secret) in &registered {
            let (_, column) = stored.iter().find(|(id, _)| id == endpoint_id).unwrap();
            let hex = secret.trim_start_matches("whsec_");
            assert!(column.starts_with("v1:") && !column.contains(hex), "{column}");
        }
        if db.kind() == "sqlite" {
            pool.close().await;
            let path = webhooks
                .database_url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap()
                .to_owned();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(file) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.extend(file);
                }
            }
            let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            for (endpoint_id, secret) in &registered {
                assert!(contains(endpoint_id), "the files hold the rows ({endpoint_id})");
                let hex = secret.trim_start_matches("whsec_");
                assert!(!contains(hex), "the secret of {endpoint_id} is in the files in plain text");
            }
        }
    }
}

on_every_database! {
    /// The migration path for rows written before sealing: webhooks seals them when it starts,
    /// and deliveries are still signed with the secret the merchant holds.
    #[tokio::test]
    async fn a_secret_stored_in_plain_text_is_sealed_at_start_and_still_signs(db) {
        let database_url = db.url("webhooks").await;
        let pool = minibank::db::connect(&database_url).await.unwrap();
        minibank::db::migrate(&pool, minibank::webhooks::MIGRATIONS).await.unwrap();
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&endpoint)
            .await;
        let m = merchant();
        let secret = "whsec_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        sqlx::query(
            "INSERT INTO endpoints (endpoint_id, merchant_id, url, events, secret, created_at) \
             VALUES ('whe_old', $1, $2, 'payment.settled', $3, '2026-01-01T00:00:00Z')",
        )
        .bind(&m)
        .bind(format!("{}/hooks", endpoint.uri()))
        .bind(secret)
        .execute(&pool)
        .await
        .unwrap();

        let webhooks = spawn_webhooks_on(database_url, |_| {}).await;
        let column: String = sqlx::query_scalar("SELECT secret FROM endpoints")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert!(column.starts_with("v1:") && !column.contains(&secret[6..]), "{column}");

        webhooks.event(&event_id(), &m, "payment.settled").await;
        webhooks.delivery_reaching(&m, "delivered").await;
        let requests = endpoint.received_requests().await.unwrap();
        let request = &requests[0];
        let signature = request.headers.get("minibank-signature").unwrap().to_str().unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        assert_eq!(
            minibank::webhooks::signature::verify(secret, signature, &request.body, now, 300),
            Ok(())
        );
    }
}

on_every_database! {
    /// A destination refused at delivery (here a row stored while the allow-list named it,
    /// before the operator removed it) is dead-lettered at once, naming the reason, and is
    /// never called.
    #[tokio::test]
    async fn a_destination_refused_at_delivery_is_dead_lettered_and_never_called(db) {
        let webhooks = spawn_webhooks_with(&db, |settings| {
            settings.destinations = DestinationPolicy::public_only();
        })
        .await;
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&endpoint)
            .await;
        let m = merchant();
        let pool = minibank::db::connect(&webhooks.database_url).await.unwrap();
        let endpoint_id = minibank::domain::EndpointId::generate();
        store::insert_endpoint(
            &pool,
            &WriteGate::for_url(&webhooks.database_url),
            &store::NewEndpoint {
                endpoint_id: &endpoint_id,
                merchant: &MerchantId::parse(&m).unwrap(),
                url: &WebhookUrl::parse(&format!("{}/hooks", endpoint.uri())).unwrap(),
                events: &[EventType::PaymentSettled],
                sealed_secret: &webhooks.settings.secret_key.seal(endpoint_id.as_str(), "whsec_00"),
            },
        )
        .await
        .unwrap();
        webhooks.event(&event_id(), &m, "payment.settled").await;
        let dead = webhooks.delivery_reaching(&m, "dead_lettered").await;
        assert_eq!(dead["attempts"].as_i64(), Some(1), "{dead}");
        let error = dead["last_error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("destination_refused:") && error.contains("loopback"),
            "{error}"
        );
        assert!(endpoint.received_requests().await.unwrap().is_empty());
    }
}

on_every_database! {
    /// An endpoint cannot send a delivery elsewhere: a redirect is the endpoint's (failed)
    /// answer, never followed.
    #[tokio::test]
    async fn a_redirect_is_not_followed(db) {
        let webhooks = spawn_webhooks(&db).await;
        let elsewhere = MockServer::start().await;
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(307).insert_header("location", format!("{}/x", elsewhere.uri())),
            )
            .mount(&endpoint)
            .await;
        let m = merchant();
        webhooks
            .register(&m, &format!("{}/hooks", endpoint.uri()), json!(["payment.settled"]))
            .await;
        webhooks.event(&event_id(), &m, "payment.settled").await;
        let dead = webhooks.delivery_reaching(&m, "dead_lettered").await;
        assert_eq!(dead["last_response_status"].as_i64(), Some(307), "{dead}");
        assert!(elsewhere.received_requests().await.unwrap().is_empty());
    }
}

on_every_database! {
    /// Regression (found by `drivers/tests/conservation_under_faults.rs`): webhooks stopping
    /// while a delivery was on its way cut the send short and gave its claim back, so the next
    /// start sent the event again although the merchant had it. A stop now lets the send
    /// finish and record its attempt.
    #[tokio::test]
    async fn a_delivery_in_flight_when_webhooks_stops_is_not_sent_again_after_the_restart(db) {
        let webhooks = spawn_webhooks_with(&db, |s| s.delivery_timeout = Duration::from_secs(5)).await;
        let endpoint = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(500)))
            .mount(&endpoint)
            .await;
        let m = merchant();
        webhooks
            .register(&m, &endpoint.uri(), json!(["payment.settled"]))
            .await;
        let event = event_id();
        webhooks.event(&event, &m, "payment.settled").await;
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while endpoint.received_requests().await.unwrap().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the delivery was never sent");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The endpoint has the request and has not answered yet: stop webhooks now.
        webhooks.shutdown.shutdown();
        webhooks.task.await.unwrap().unwrap();

        let again = spawn_webhooks_on(webhooks.database_url.clone(), |_| {}).await;
        let delivered = all_deliveries_reaching(&again, &m, 1, "delivered").await;
        assert_eq!(delivered[0]["attempts"], 1, "{delivered:?}");
        assert_eq!(
            requests_per_event(&endpoint).await,
            std::collections::BTreeMap::from([(event, 1)]),
            "the merchant received the event once"
        );
    }
}
