//! Two payments replicas on one database never drive the same payment at once: each due
//! payment is leased in its row before a replica drives it. The provider here counts how many
//! status queries for one transfer are in flight at the same moment; without the lease both
//! replicas' workers pick up the same due payments and that count reaches two.

#[macro_use]
mod database_support;
mod payments_support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use payments_support::{Money, eventually, payment_body};
use serde_json::{Value, json};

/// Status queries answered "unknown" (500) per transfer before it is reported accepted.
const UNKNOWN_ANSWERS: usize = 3;
/// How long one status query takes: long enough for a second driver to overlap it.
const QUERY_TIME: Duration = Duration::from_millis(150);

/// What the provider saw, per transfer id.
#[derive(Default)]
struct Seen {
    submits: HashMap<String, usize>,
    queries: HashMap<String, usize>,
    in_flight: HashMap<String, usize>,
    /// The most status queries for one transfer that were in flight at once.
    most_at_once: usize,
}

type Shared = Arc<Mutex<Seen>>;

/// A provider whose submits always time out in effect (500: outcome unknown), and whose status
/// queries are slow, "unknown" a few times, then accepted.
async fn provider() -> (String, Shared) {
    async fn submit(State(seen): State<Shared>, Json(body): Json<Value>) -> StatusCode {
        let id = body["transfer_id"].as_str().unwrap_or_default().to_owned();
        *seen.lock().unwrap().submits.entry(id).or_default() += 1;
        StatusCode::INTERNAL_SERVER_ERROR
    }
    async fn status(
        State(seen): State<Shared>,
        Path(id): Path<String>,
    ) -> (StatusCode, Json<Value>) {
        let answered_before = {
            let mut seen = seen.lock().unwrap();
            let now = {
                let in_flight = seen.in_flight.entry(id.clone()).or_default();
                *in_flight += 1;
                *in_flight
            };
            seen.most_at_once = seen.most_at_once.max(now);
            let queries = seen.queries.entry(id.clone()).or_default();
            *queries += 1;
            *queries - 1
        };
        tokio::time::sleep(QUERY_TIME).await;
        *seen.lock().unwrap().in_flight.get_mut(&id).unwrap() -= 1;
        if answered_before < UNKNOWN_ANSWERS {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})))
        } else {
            (StatusCode::OK, Json(json!({"status": "accepted"})))
        }
    }
    let seen = Shared::default();
    let app = axum::Router::new()
        .route("/transfers", post(submit))
        .route("/transfers/{id}", get(status))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

on_every_database! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_replicas_never_drive_the_same_payment_at_once(db) {
        let (provider_url, seen) = provider().await;
        let money = Money::start(db, &provider_url).await;
        let replica = money.start_replica().await;
        let (merchant, payee) = money.merchant().await;
        let payments = 6;
        let mut ids = Vec::new();
        for n in 0..payments {
            let (customer, _) = money.customer(1_000).await;
            // Half the payments are created through each replica.
            let base = if n % 2 == 0 { &money.payments.url } else { &replica.url };
            let (code, payment) = money
                .post(
                    &format!("{base}/v1/payments"),
                    Some((&customer, "customer", "payments:write")),
                    &[("idempotency-key", "k-replicas")],
                    payment_body(&merchant, 100),
                )
                .await;
            assert_eq!(code, 201, "{payment}");
            ids.push((customer, payment["payment_id"].as_str().unwrap().to_owned()));
        }
        for (customer, id) in &ids {
            let settled = money.final_payment(customer, id).await;
            assert_eq!(settled["status"], "settled", "{settled}");
        }
        // Every transfer was settled by status queries driven by one replica at a time.
        {
            let seen = seen.lock().unwrap();
            for (_, id) in &ids {
                assert_eq!(seen.submits.get(id), Some(&1), "{id} submitted exactly once");
                assert!(
                    seen.queries.get(id) >= Some(&(UNKNOWN_ANSWERS + 1)),
                    "{id} was settled by its status queries"
                );
            }
            assert_eq!(seen.most_at_once, 1, "two drivers queried one transfer at once");
        }
        assert_eq!(money.account(&payee).await["balance"], 100 * payments);
        eventually(|| async { (money.audit().await["balanced"] == true).then_some(()) }).await;
        drop(replica);
    }
}
