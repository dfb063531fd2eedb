//! Jaeger's api_v3: `GET {base}/api/v3/traces/{trace_id}` answering
//! `{"result": {"resourceSpans": [...]}}` in OTLP JSON, 404 when unknown.

use std::time::Duration;

use tokio::time::Instant;

use super::{DEFAULT_POLL_INTERVAL, FetchError, TraceFetcher, http};
use crate::model::{Trace, TraceId};

/// Reads traces from Jaeger (or from this sink's query API, which has the same shape).
#[derive(Debug, Clone)]
pub struct JaegerFetcher {
    base_url: String,
    client: reqwest::Client,
    poll_interval: Duration,
}

impl JaegerFetcher {
    /// A fetcher for the Jaeger query service at `base_url` (e.g. `http://jaeger:16686`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            client: reqwest::Client::new(),
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Uses this HTTP client (timeouts, auth headers) instead of a default one.
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
        http::join(&self.base_url, &format!("/api/v3/traces/{trace_id}"))
    }
}

#[async_trait::async_trait]
impl TraceFetcher for JaegerFetcher {
    async fn fetch(&self, trace_id: &TraceId) -> Result<Option<Trace>, FetchError> {
        http::get_trace(&self.client, &self.trace_url(trace_id), trace_id).await
    }

    async fn wait_for_more(&self, _trace_id: &TraceId, _since_count: usize, until: Instant) {
        http::poll_pause(self.poll_interval, until).await;
    }

    fn describe(&self) -> String {
        format!("jaeger at {}", self.base_url)
    }
}
