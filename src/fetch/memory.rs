//! Reads traces straight from a [`TraceStore`] in the same process.

use std::sync::Arc;

use tokio::time::Instant;

use super::{FetchError, TraceFetcher};
use crate::model::{Trace, TraceId};
use crate::store::TraceStore;

/// A fetcher over the in-process store; waiting is notified, never polled.
#[derive(Debug, Clone)]
pub struct InMemoryFetcher {
    store: Arc<TraceStore>,
}

impl InMemoryFetcher {
    /// A fetcher reading `store`.
    pub fn new(store: Arc<TraceStore>) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl TraceFetcher for InMemoryFetcher {
    async fn fetch(&self, trace_id: &TraceId) -> Result<Option<Trace>, FetchError> {
        Ok(self.store.get(trace_id))
    }

    async fn wait_for_more(&self, trace_id: &TraceId, since_count: usize, until: Instant) {
        self.store
            .wait_for_change(trace_id, since_count, until)
            .await;
    }

    fn describe(&self) -> String {
        "the in-process trace store".to_owned()
    }
}
