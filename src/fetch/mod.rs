//! Trace fetchers: one interface over every place a trace can be read from.
//!
//! - [`InMemoryFetcher`]: the sink's own store; `wait_for_more` is woken by the store.
//! - [`JaegerFetcher`]: Jaeger's `GET /api/v3/traces/{id}` (also served by this sink's
//!   query API, so it can read a standalone sink over HTTP).
//! - [`TempoFetcher`]: Grafana Tempo's `GET /api/v2/traces/{id}`.
//!
//! Drivers hold an `Arc<dyn TraceFetcher>`; [`crate::settle`] uses `fetch` and
//! `wait_for_more` to wait until a trace is complete.

mod http;
mod jaeger;
mod memory;
mod tempo;

pub use http::{Backend, HttpFetcher};
pub use jaeger::{Jaeger, JaegerFetcher};
pub use memory::InMemoryFetcher;
pub use tempo::{Tempo, TempoFetcher};

use std::time::Duration;

use tokio::time::Instant;

use crate::model::{Trace, TraceId};

/// How long HTTP fetchers wait between two reads of a remote backend, by default.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The backend could not be reached or the response not read.
    #[error("cannot read {url}: {source}")]
    Transport {
        /// The URL asked.
        url: String,
        /// The client error.
        #[source]
        source: reqwest::Error,
    },
    /// The backend answered with an unexpected status.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The backend answered something that is not OTLP JSON trace data.
    #[error("{url} answered a body that is not an OTLP trace: {message}")]
    Decode {
        /// The URL asked.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// Reads traces from one place. Dyn-compatible: hold it as `Arc<dyn TraceFetcher>`.
#[async_trait::async_trait]
pub trait TraceFetcher: Send + Sync + std::fmt::Debug {
    /// The trace as currently known, or `None` if no span of it is known yet.
    async fn fetch(&self, trace_id: &TraceId) -> Result<Option<Trace>, FetchError>;

    /// Returns when the trace may hold more than `since_count` spans, or at `until`,
    /// whichever comes first. In-memory this is a store notification; remote backends
    /// have no push channel, so HTTP fetchers sleep one poll interval (never past
    /// `until`). Callers always re-`fetch` afterwards.
    async fn wait_for_more(&self, trace_id: &TraceId, since_count: usize, until: Instant);

    /// A short description for error messages, e.g. `jaeger at http://...`.
    fn describe(&self) -> String;
}
