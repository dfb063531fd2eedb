//! What the HTTP fetchers share: one fetcher type over a backend's URL scheme; GET a URL, 404
//! means "not yet", decode OTLP JSON, poll while waiting for more spans.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::time::Duration;

use tokio::time::Instant;

use super::{DEFAULT_POLL_INTERVAL, FetchError, TraceFetcher};
use crate::model::{Trace, TraceId};
use crate::otlp::decode::decode_resource_spans;
use crate::otlp::json::resource_spans_from_value;

/// What tells one HTTP trace backend from another: its name and where it serves a trace.
pub trait Backend: Debug + Clone + Send + Sync + 'static {
    /// Short name for messages (`jaeger`).
    const NAME: &'static str;
    /// The path of one trace below the base URL.
    fn trace_path(trace_id: &TraceId) -> String;
}

/// Reads traces over HTTP from backend `B` by polling.
#[derive(Debug, Clone)]
pub struct HttpFetcher<B: Backend> {
    base_url: String,
    client: reqwest::Client,
    poll_interval: Duration,
    backend: PhantomData<B>,
}

impl<B: Backend> HttpFetcher<B> {
    /// A fetcher for the backend's query service at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            client: reqwest::Client::new(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            backend: PhantomData,
        }
    }

    /// Uses this HTTP client (timeouts, auth headers such as Tempo's `X-Scope-OrgID`)
    /// instead of a default one.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = client;
        self
    }

    /// Polls every `interval` while waiting for more spans.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    fn trace_url(&self, trace_id: &TraceId) -> String {
        join(&self.base_url, &B::trace_path(trace_id))
    }
}

#[async_trait::async_trait]
impl<B: Backend> TraceFetcher for HttpFetcher<B> {
    async fn fetch(&self, trace_id: &TraceId) -> Result<Option<Trace>, FetchError> {
        get_trace(&self.client, &self.trace_url(trace_id), trace_id).await
    }

    async fn wait_for_more(&self, _trace_id: &TraceId, _since_count: usize, until: Instant) {
        poll_pause(self.poll_interval, until).await;
    }

    fn describe(&self) -> String {
        format!("{} at {}", B::NAME, self.base_url)
    }
}

/// Reads a trace document at `url`; `None` on 404 or when it holds no span of `trace_id`.
async fn get_trace(
    client: &reqwest::Client,
    url: &str,
    trace_id: &TraceId,
) -> Result<Option<Trace>, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_owned(),
        source,
    };
    let response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(transport)?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    let body = response.bytes().await.map_err(transport)?;
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
        });
    }
    let decode = |message: String| FetchError::Decode {
        url: url.to_owned(),
        message,
    };
    // Usually one JSON document; a streaming gateway may send several (`{"result": ...}`
    // per chunk, newline-delimited), so every document's spans are gathered.
    let mut resource_spans = Vec::new();
    for document in serde_json::Deserializer::from_slice(&body).into_iter::<serde_json::Value>() {
        let document = document.map_err(|e| decode(e.to_string()))?;
        resource_spans
            .extend(resource_spans_from_value(document).map_err(|e| decode(e.to_string()))?);
    }
    let decoded = decode_resource_spans(resource_spans);
    let trace = Trace::new(trace_id.clone(), decoded.spans);
    Ok((!trace.is_empty()).then_some(trace))
}

/// Sleeps one poll interval, never past `until`.
async fn poll_pause(interval: Duration, until: Instant) {
    let wake = (Instant::now() + interval).min(until);
    tokio::time::sleep_until(wake).await;
}

/// Joins a base URL and a path without doubling the slash.
fn join(base: &str, path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), path)
}
