//! An upstream service behind edge: one RPC client balanced over its replicas, which come from
//! [`Discovery`] (the in-process platform) or DNS ([`crate::rpc::follow_dns`]) and may change
//! while edge runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::app::Deps;
use crate::rpc::{Replicas, RpcClient};

/// The replica URLs of each upstream, changeable while edge runs (service discovery). The
/// in-process platform adds and removes replicas through it; from the environment it holds
/// the comma-separated lists edge started with. Cheap to clone; clones share the lists.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    channels: Arc<Mutex<HashMap<String, watch::Sender<Vec<String>>>>>,
}

impl Discovery {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn sender(&self, target: &str) -> watch::Sender<Vec<String>> {
        self.channels
            .lock()
            .entry(target.to_owned())
            .or_insert_with(|| watch::Sender::new(Vec::new()))
            .clone()
    }

    /// Replaces `target`'s replicas.
    pub fn set(&self, target: &str, urls: Vec<String>) {
        self.sender(target).send_replace(urls);
    }

    /// Adds a replica of `target` (no effect if listed).
    pub fn add(&self, target: &str, url: &str) {
        self.sender(target).send_if_modified(|urls| {
            let new = !urls.iter().any(|u| u == url);
            if new {
                urls.push(url.to_owned());
            }
            new
        });
    }

    /// Removes a replica of `target`; callers stop choosing it from their next call.
    pub fn remove(&self, target: &str, url: &str) {
        self.sender(target).send_if_modified(|urls| {
            let before = urls.len();
            urls.retain(|u| u != url);
            urls.len() != before
        });
    }

    /// `target`'s replicas now.
    pub fn replicas(&self, target: &str) -> Vec<String> {
        self.sender(target).borrow().clone()
    }

    /// Follows `target`'s replicas.
    pub fn watch(&self, target: &str) -> watch::Receiver<Vec<String>> {
        self.sender(target).subscribe()
    }
}

/// The replicas of one upstream service, behind one balanced client.
#[derive(Clone, Debug)]
pub struct Upstream {
    client: RpcClient,
}

impl Upstream {
    /// An upstream named `target` (its `peer.service`) over the replicas `replicas` lists (at
    /// least one when edge starts), followed as the list changes.
    pub fn new(
        deps: &Deps,
        target: &str,
        replicas: Replicas,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            !replicas.borrow().is_empty(),
            "{target} needs at least one base URL"
        );
        Ok(Self {
            client: deps.balanced_client(target, replicas, timeout),
        })
    }

    /// The client to call it with (it picks a replica per attempt).
    pub fn pick(&self) -> &RpcClient {
        &self.client
    }
}
