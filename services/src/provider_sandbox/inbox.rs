//! The merchant's side of the sandbox: an inbox that receives webhook deliveries, so a person
//! trying the platform has an endpoint to register without running a server of their own.
//!
//! `POST /merchant-inbox/{name}` keeps the request (the headers a merchant checks and the body)
//! and answers 204; `GET /merchant-inbox/{name}` lists what arrived, oldest first. With
//! `Prefer: wait=N` (RFC 7240, as edge takes it) a GET on an empty inbox is held until the
//! first delivery arrives or N seconds (at most [`MAX_WAIT`]) pass: a script waits for the
//! delivery without polling. It is no merchant: it verifies no signature (it does not know the
//! endpoint's secret) and shows the `minibank-signature` header as received.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::bounded::Bounded;
use super::error::SandboxError;
use crate::edge::prefer_wait::{PREFERENCE_APPLIED, requested_wait};

/// The longest `Prefer: wait` honoured.
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// An inbox name has at most this many characters.
const MAX_NAME_LEN: usize = 64;
/// The request headers an inbox keeps: what a merchant reads to verify, deduplicate and
/// trace a delivery.
const KEPT_HEADERS: [&str; 4] = [
    "content-type",
    "minibank-event-id",
    "minibank-signature",
    "traceparent",
];

/// One request an inbox received.
#[derive(Clone, Debug, Serialize)]
struct Delivery {
    /// RFC 3339, when the sandbox received it.
    received_at: String,
    /// The kept headers that were present.
    headers: Map<String, Value>,
    /// The body as JSON, or as text when it is not JSON.
    body: Value,
}

/// Every inbox: at most `inboxes` of them (the oldest forgotten first), each keeping its
/// `per_inbox` newest deliveries.
#[derive(Clone, Debug)]
pub struct Inboxes {
    kept: Arc<Mutex<Bounded<String, VecDeque<Delivery>>>>,
    per_inbox: usize,
    /// Wakes the GETs waiting for a delivery.
    arrived: Arc<Notify>,
}

impl Inboxes {
    /// At most `inboxes` inboxes of at most `per_inbox` deliveries each.
    pub fn new(inboxes: usize, per_inbox: usize) -> Self {
        Self {
            kept: Arc::new(Mutex::new(Bounded::new(inboxes))),
            per_inbox: per_inbox.max(1),
            arrived: Arc::new(Notify::new()),
        }
    }

    fn keep(&self, name: String, delivery: Delivery) {
        {
            let mut kept = self.kept.lock();
            let inbox = kept.get_or_insert_with(name, VecDeque::new);
            if inbox.len() >= self.per_inbox {
                inbox.pop_front();
            }
            inbox.push_back(delivery);
        }
        self.arrived.notify_waiters();
    }

    fn list(&self, name: &str) -> Vec<Delivery> {
        self.kept
            .lock()
            .get(&name.to_owned())
            .map(|inbox| inbox.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The inbox's deliveries; when there are none, waits up to `wait` for the first.
    async fn list_or_wait(&self, name: &str, wait: Duration) -> Vec<Delivery> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a delivery between the look and the wait wakes it.
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let deliveries = self.list(name);
            if !deliveries.is_empty() {
                return deliveries;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return self.list(name);
            }
        }
    }
}

fn checked_name(name: String) -> Result<String, SandboxError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(allowed) {
        return Err(SandboxError::InvalidInboxName(format!(
            "an inbox name is 1 to {MAX_NAME_LEN} letters, digits, `_` or `-`, not `{name}`"
        )));
    }
    Ok(name)
}

/// `POST /merchant-inbox/{name}`: keeps the delivery, answers 204.
pub async fn receive(
    State(inboxes): State<Inboxes>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, SandboxError> {
    let name = checked_name(name)?;
    let kept_headers = KEPT_HEADERS
        .iter()
        .filter_map(|header| {
            let value = headers.get(*header)?.to_str().ok()?;
            Some(((*header).to_owned(), json!(value)))
        })
        .collect();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    inboxes.keep(
        name,
        Delivery {
            received_at: crate::db::now_rfc3339(),
            headers: kept_headers,
            body,
        },
    );
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /merchant-inbox/{name}`: 200 `{"deliveries":[…]}`, oldest first.
pub async fn list(
    State(inboxes): State<Inboxes>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, SandboxError> {
    let name = checked_name(name)?;
    let wait = requested_wait(&headers).map(|seconds| Duration::from_secs(seconds).min(MAX_WAIT));
    let deliveries = inboxes
        .list_or_wait(&name, wait.unwrap_or(Duration::ZERO))
        .await;
    let mut response = Json(json!({ "deliveries": deliveries })).into_response();
    if let Some(wait) = wait
        && let Ok(value) = HeaderValue::from_str(&format!("wait={}", wait.as_secs()))
    {
        response.headers_mut().insert(PREFERENCE_APPLIED, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(id: &str) -> Delivery {
        Delivery {
            received_at: String::new(),
            headers: Map::new(),
            body: json!({ "id": id }),
        }
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_the_first_delivery_not_by_its_deadline() {
        let inboxes = Inboxes::new(10, 10);
        let reader = tokio::spawn({
            let inboxes = inboxes.clone();
            async move {
                inboxes
                    .list_or_wait("mer_1", Duration::from_secs(3600))
                    .await
            }
        });
        tokio::task::yield_now().await;
        inboxes.keep("mer_1".into(), delivery("evt_1"));
        // Its own deadline is an hour away: only the delivery can have ended the wait.
        let deliveries = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the delivery woke the reader")
            .unwrap();
        assert_eq!(deliveries.len(), 1);
    }

    #[tokio::test]
    async fn a_reader_of_an_inbox_that_stays_empty_gets_nothing_at_its_deadline() {
        let inboxes = Inboxes::new(10, 10);
        inboxes.keep("mer_2".into(), delivery("evt_1"));
        let deliveries = inboxes
            .list_or_wait("mer_1", Duration::from_millis(20))
            .await;
        assert!(
            deliveries.is_empty(),
            "another inbox's delivery does not count"
        );
    }
}
