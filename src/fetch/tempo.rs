//! Grafana Tempo: `GET {base}/api/v2/traces/{trace_id}` answering
//! `{"trace": {"resourceSpans": [...]}, "status": "complete"}`, 404 when unknown.
//! Tempo may encode ids as base64 and enums as names; [`crate::otlp::json`] reads both.

use std::time::Duration;

use tokio::time::Instant;

use super::{DEFAULT_POLL_INTERVAL, FetchError, TraceFetcher, http};
use crate::model::{Trace, TraceId};

/// Reads traces from Grafana Tempo.
#[derive(Debug, Clone)]
pub struct TempoFetcher {
    base_url: String,
    client: reqwest::Client,
    poll_interval: Duration,
}

impl TempoFetcher {
    /// A fetcher for the Tempo query frontend at `base_url` (e.g. `http://tempo:3200`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            client: reqwest::Client::new(),
            poll_interval: DEFAULT_POLL_INTERVAL,
        }
    }

    /// Uses this HTTP client (timeouts, auth headers such as `X-Scope-OrgID`).
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
        http::join(&self.base_url, &format!("/api/v2/traces/{trace_id}"))
    }
}

#[async_trait::async_trait]
impl TraceFetcher for TempoFetcher {
    async fn fetch(&self, trace_id: &TraceId) -> Result<Option<Trace>, FetchError> {
        http::get_trace(&self.client, &self.trace_url(trace_id), trace_id).await
    }

    async fn wait_for_more(&self, _trace_id: &TraceId, _since_count: usize, until: Instant) {
        http::poll_pause(self.poll_interval, until).await;
    }

    fn describe(&self) -> String {
        format!("tempo at {}", self.base_url)
    }
}
