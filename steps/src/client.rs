//! Sending one HTTP request to the platform, traced from the harness.
//!
//! [`send`] is the only place steps touch the network: it starts the trace (see
//! [`crate::telemetry`]), sends the request to edge, exports the root span and returns an
//! [`Exchange`]: everything later steps may want to look at.

use std::{
    sync::LazyLock,
    time::{Duration, SystemTime},
};

use serde_json::Value;

use crate::telemetry::{RootSpan, TraceIds};

static CLIENT: LazyLock<reqwest::Client> = LazyLock::new(|| {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("building the steps' HTTP client")
});

/// The shared HTTP client (connection pool reused by every scenario).
pub(crate) fn http() -> &'static reqwest::Client {
    &CLIENT
}

/// What goes in the request body.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// No body.
    #[default]
    None,
    /// A JSON value, serialised.
    Json(Value),
    /// Text sent as is with `content-type: application/json` (malformed JSON on purpose).
    RawJson(String),
}

/// How the request takes part in tracing.
#[derive(Debug, Clone, Default)]
pub enum Tracing {
    /// The harness starts the trace: a root client span and its `traceparent` (the normal case).
    #[default]
    StartTrace,
    /// Send this `traceparent` value as is and start no span (invalid inbound contexts).
    SendTraceparent(String),
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: reqwest::Method,
    /// Path on edge, starting with `/`.
    pub path: String,
    /// Body.
    pub body: Body,
    /// Extra headers (authorization, idempotency key, ...).
    pub headers: Vec<(String, String)>,
    /// Tracing mode.
    pub tracing: Tracing,
}

impl Request {
    /// A request without body or extra headers.
    pub fn new(method: reqwest::Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            body: Body::None,
            headers: Vec::new(),
            tracing: Tracing::StartTrace,
        }
    }

    /// With a JSON body.
    pub fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    /// With one more header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// With a bearer token.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }
}

/// A request sent and the answer it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Method sent.
    pub method: String,
    /// Path sent.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Response headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Raw response body.
    pub body: String,
    /// The body as JSON, when it is JSON.
    pub json: Option<Value>,
    /// The trace id the harness started (None when a traceparent was forced).
    pub started_trace_id: Option<String>,
    /// The `traceparent` sent, if any.
    pub sent_traceparent: Option<String>,
    /// Why the root span could not be exported, if it could not.
    pub export_error: Option<String>,
}

impl Exchange {
    /// A response header by (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `x-request-id` edge assigned.
    pub fn request_id(&self) -> Option<&str> {
        self.header("x-request-id")
    }

    /// The trace id edge reports in `traceresponse` (`00-<trace>-<span>-<flags>`).
    pub fn traceresponse_trace_id(&self) -> Option<&str> {
        self.header("traceresponse")
            .and_then(|v| v.split('-').nth(1))
    }

    /// The trace this exchange belongs to: the one edge reports, else the one the harness started.
    pub fn trace_id(&self) -> Option<String> {
        self.traceresponse_trace_id()
            .map(str::to_owned)
            .or_else(|| self.started_trace_id.clone())
    }

    /// The error code of an error body (`{"code": ...}`).
    pub fn error_code(&self) -> Option<&str> {
        self.json.as_ref()?.get("code")?.as_str()
    }

    /// A string field of the JSON body.
    pub fn str_field(&self, field: &str) -> Option<&str> {
        self.json.as_ref()?.get(field)?.as_str()
    }

    /// A one-line description for error messages: `POST /v1/payments → 422 {"code":...}`.
    pub fn describe(&self) -> String {
        let body: String = self.body.chars().take(400).collect();
        format!("{} {} → {} {}", self.method, self.path, self.status, body)
    }
}

/// The W3C `baggage` member naming the scenario `namespace` (`minibank.scenario=<namespace>`),
/// which every request a scenario sends carries. Every hop passes baggage on (the saga and the
/// outbox store it with their work), so a fault or behaviour scoped to the scenario finds its
/// requests anywhere behind edge, and only them.
pub fn scenario_baggage(namespace: &str) -> String {
    format!("{}={namespace}", drivers::SCENARIO_BAGGAGE_KEY)
}

/// Sends `request` to `base_url` (edge), traced from the harness; exports the root span to
/// `otlp_url` when given. `namespace` names the scenario: on the root span, and in the
/// request's W3C baggage (`minibank.scenario`), which scoped faults match.
///
/// # Errors
/// Only when no HTTP answer came at all (connection refused, timeout).
pub async fn send(
    base_url: &str,
    otlp_url: Option<&str>,
    namespace: &str,
    request: Request,
) -> anyhow::Result<Exchange> {
    crate::context::count_http_call();
    let url = format!("{}{}", base_url.trim_end_matches('/'), request.path);
    let mut builder = http().request(request.method.clone(), &url);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    if !namespace.is_empty() {
        // A scenario's own `baggage` header stays: W3C Baggage allows several, joined.
        builder = builder.header("baggage", scenario_baggage(namespace));
    }
    builder = match &request.body {
        Body::None => builder,
        Body::Json(value) => builder.json(value),
        Body::RawJson(text) => builder
            .header("content-type", "application/json")
            .body(text.clone()),
    };
    let (ids, sent_traceparent) = match &request.tracing {
        Tracing::StartTrace => {
            let ids = TraceIds::random();
            (Some(ids), Some(ids.traceparent()))
        }
        Tracing::SendTraceparent(value) => (None, Some(value.clone())),
    };
    if let Some(tp) = &sent_traceparent {
        builder = builder.header("traceparent", tp.as_str());
    }
    let start = SystemTime::now();
    let outcome = builder.send().await;
    let end = SystemTime::now();
    let status = outcome.as_ref().ok().map(|r| r.status().as_u16());

    let mut export_error = None;
    if let Some(ids) = ids {
        let span = RootSpan {
            ids,
            method: request.method.to_string(),
            url: url.clone(),
            start,
            end,
            status,
            namespace: namespace.to_owned(),
        };
        match otlp_url {
            Some(otlp) => {
                if let Err(e) = span.export(http(), otlp).await {
                    export_error = Some(e.to_string());
                }
            }
            None => {
                export_error =
                    Some("the driver gives no OTLP URL for the harness's root spans".into())
            }
        }
    }

    let response =
        outcome.map_err(|e| anyhow::anyhow!("{} {url}: no answer: {e}", request.method))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = response
        .text()
        .await
        .map_err(|e| anyhow::anyhow!("{} {url}: reading the body: {e}", request.method))?;
    let json = serde_json::from_str(&body).ok();
    Ok(Exchange {
        method: request.method.to_string(),
        path: request.path,
        status,
        headers,
        body,
        json,
        started_trace_id: ids.map(|i| i.trace_hex()),
        sent_traceparent,
        export_error,
    })
}
