//! What each scenario sent and got, kept for the run's HTML report: every request and its
//! answer (masked: no token or secret is kept), the webhooks its merchants received and, when
//! it failed, the platform's log lines of its failing request as readable one-line records.
//!
//! The World records each request as it is sent ([`ExchangeLog::record`], called from the one
//! place requests are sent); the after-scenario hook files the scenario's evidence under its
//! key ([`file`]); the entry point reads them all once the run is over ([`all`]).

use std::{
    collections::BTreeMap,
    sync::Mutex,
    time::{Duration, SystemTime},
};

use harness::report::mask;

use crate::client::{Body, Exchange, Request};

/// One request as the report shows it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path on edge.
    pub path: String,
    /// The answer's status; `None` when no answer came.
    pub status: Option<u16>,
    /// Why no answer came.
    pub error: Option<String>,
    /// Headers sent, masked.
    pub request_headers: Vec<(String, String)>,
    /// Body sent, masked.
    pub request_body: String,
    /// Body received, masked.
    pub response_body: String,
    /// When it was sent.
    pub sent_at: SystemTime,
    /// How long the answer took.
    pub duration: Duration,
    /// The trace it belongs to.
    pub trace_id: Option<String>,
}

/// A webhook one of the scenario's merchants received.
#[derive(Debug, Clone)]
pub struct RecordedWebhook {
    /// The trace it continued (from its `traceparent`).
    pub trace_id: Option<String>,
    /// Headers, masked.
    pub headers: Vec<(String, String)>,
    /// Body, masked.
    pub body: String,
    /// What the endpoint answered.
    pub answered: u16,
}

/// Everything a finished scenario leaves for the report.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Its requests, in order.
    pub requests: Vec<RecordedRequest>,
    /// Its merchants' webhooks.
    pub webhooks: Vec<RecordedWebhook>,
    /// Readable log lines of its failing request (empty when it passed).
    pub log_lines: Vec<String>,
    /// The trace those log lines belong to.
    pub log_trace_id: Option<String>,
}

/// The requests one scenario sent so far (in its World).
#[derive(Debug, Default)]
pub struct ExchangeLog(Mutex<Vec<RecordedRequest>>);

impl ExchangeLog {
    /// Records `request`, sent at `sent_at`, and what came of it.
    pub(crate) fn record(
        &self,
        request: &Request,
        outcome: &anyhow::Result<Exchange>,
        sent_at: SystemTime,
    ) {
        let duration = SystemTime::now()
            .duration_since(sent_at)
            .unwrap_or_default();
        let mut request_headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), mask::header(n, v)))
            .collect();
        let request_body = match &request.body {
            Body::None => String::new(),
            Body::Json(value) => {
                request_headers.push(("content-type".into(), "application/json".into()));
                let mut value = value.clone();
                mask::json(&mut value);
                serde_json::to_string(&value).unwrap_or_default()
            }
            Body::RawJson(text) => {
                request_headers.push(("content-type".into(), "application/json".into()));
                mask::body(&truncate(text))
            }
        };
        let recorded = match outcome {
            Ok(answer) => RecordedRequest {
                method: answer.method.clone(),
                path: answer.path.clone(),
                status: Some(answer.status),
                error: None,
                request_headers,
                request_body,
                response_body: mask::body(&truncate(&answer.body)),
                sent_at,
                duration,
                trace_id: answer.trace_id(),
            },
            Err(e) => RecordedRequest {
                method: request.method.to_string(),
                path: request.path.clone(),
                status: None,
                error: Some(mask::text(&format!("{e:#}"))),
                request_headers,
                request_body,
                response_body: String::new(),
                sent_at,
                duration,
                trace_id: None,
            },
        };
        lock(&self.0).push(recorded);
    }

    /// The requests so far, leaving the log empty.
    pub(crate) fn take(&self) -> Vec<RecordedRequest> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// Bodies past this size are cut in the report (a body-size-limit scenario sends megabytes).
const MAX_BODY: usize = 16 * 1024;

fn truncate(text: &str) -> String {
    if text.len() <= MAX_BODY {
        return text.to_owned();
    }
    let mut end = MAX_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

static EVIDENCE: Mutex<BTreeMap<String, Evidence>> = Mutex::new(BTreeMap::new());

/// Files a finished scenario's evidence under its key ([`crate::trace_log::scenario_key`]);
/// a retry replaces the earlier attempt's.
pub fn file(key: String, evidence: Evidence) {
    lock(&EVIDENCE).insert(key, evidence);
}

/// Every finished scenario's evidence, by key.
pub fn all() -> BTreeMap<String, Evidence> {
    lock(&EVIDENCE).clone()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The trace id of a `traceparent` header value (`00-<trace>-<span>-<flags>`).
pub(crate) fn trace_of_traceparent(value: &str) -> Option<String> {
    value.split('-').nth(1).map(str::to_owned)
}

/// A finished scenario's evidence: its requests, its merchants' webhooks and, when it
/// `failed`, the last `max_lines` readable log lines of its last request's trace.
pub(crate) async fn gather(
    world: &crate::MinibankWorld,
    failed: bool,
    max_lines: usize,
) -> Evidence {
    let requests = world.exchanges.take();
    let mut webhooks = Vec::new();
    for endpoint in world.actors.values().filter_map(|a| a.endpoint.as_ref()) {
        for hook in endpoint.received().await {
            webhooks.push(RecordedWebhook {
                trace_id: hook
                    .headers
                    .iter()
                    .find(|(n, _)| n == "traceparent")
                    .and_then(|(_, v)| trace_of_traceparent(v)),
                headers: hook
                    .headers
                    .iter()
                    .map(|(n, v)| (n.clone(), mask::header(n, v)))
                    .collect(),
                body: mask::body(&truncate(&String::from_utf8_lossy(&hook.body))),
                answered: hook.answered,
            });
        }
    }
    let mut evidence = Evidence {
        requests,
        webhooks,
        ..Evidence::default()
    };
    if !failed {
        return evidence;
    }
    let trace_id = world
        .last
        .as_ref()
        .and_then(Exchange::trace_id)
        .or_else(|| {
            evidence
                .requests
                .iter()
                .rev()
                .find_map(|r| r.trace_id.clone())
        });
    let (Some(trace_id), Some(logs)) = (
        trace_id,
        world.driver().ok().and_then(|driver| driver.logs()),
    ) else {
        return evidence;
    };
    let lines = logs.lines_mentioning(&trace_id).await;
    evidence.log_lines = lines[lines.len().saturating_sub(max_lines)..]
        .iter()
        .map(harness::report::log_line::readable)
        .collect();
    evidence.log_trace_id = Some(trace_id);
    evidence
}
