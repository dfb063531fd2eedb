//! An upstream service behind edge: one or more replicas, chosen round robin.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::app::Deps;
use crate::rpc::RpcClient;

/// The replicas of one upstream service.
#[derive(Clone, Debug)]
pub struct Upstream {
    replicas: Arc<[RpcClient]>,
    next: Arc<AtomicUsize>,
}

impl Upstream {
    /// An upstream named `target` (its `peer.service`) over `base_urls` (at least one).
    pub fn new(
        deps: &Deps,
        target: &str,
        base_urls: &[String],
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !base_urls.is_empty(),
            "{target} needs at least one base URL"
        );
        Ok(Self {
            replicas: base_urls
                .iter()
                .map(|url| deps.client(target, url, timeout))
                .collect(),
            next: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// The replica to use for the next call (round robin).
    pub fn pick(&self) -> &RpcClient {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.replicas.len();
        &self.replicas[index]
    }

    /// How many replicas there are.
    pub fn replicas(&self) -> usize {
        self.replicas.len()
    }
}
