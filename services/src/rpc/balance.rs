//! Load balancing with service discovery and failure detection: a round robin over a target's
//! replicas, whose list comes from a `watch` channel (replicas are added and removed while the
//! caller runs; it follows without a restart). Each replica has its own stack below the
//! balancer (its own circuit breaker), and a replica whose circuit is open is skipped: it is
//! ejected after repeated failures and let back in when its half-open probe succeeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::watch;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceExt as _};

use super::breaker::{CircuitBreaker, CircuitState};
use super::call::RpcCall;
use super::client::{RpcError, RpcResponse};

/// The stack below the balancer for one replica.
pub type ReplicaStack = BoxCloneSyncService<RpcCall, RpcResponse, BoxError>;

/// Builds a replica's stack for its base URL, with its circuit breaker.
pub type MakeReplica = Arc<dyn Fn(&str) -> (ReplicaStack, CircuitBreaker) + Send + Sync>;

/// The live replica base URLs of one target (`http://host:port`), as a discovery source.
pub type Replicas = watch::Receiver<Vec<String>>;

#[derive(Clone)]
struct Member {
    base: String,
    url: reqwest::Url,
    stack: ReplicaStack,
    breaker: CircuitBreaker,
}

/// Round robin over the replicas a [`Replicas`] channel lists, skipping open circuits.
#[derive(Clone)]
pub struct RoundRobin {
    target: Arc<str>,
    replicas: Replicas,
    members: Arc<Mutex<Vec<Member>>>,
    next: Arc<AtomicUsize>,
    make: MakeReplica,
}

impl std::fmt::Debug for RoundRobin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoundRobin")
            .field("target", &self.target)
            .field("replicas", &*self.replicas.borrow())
            .finish_non_exhaustive()
    }
}

impl RoundRobin {
    /// A balancer for `target` over `replicas`, building each replica's stack with `make`.
    pub fn new(target: &str, replicas: Replicas, make: MakeReplica) -> Self {
        Self {
            target: target.into(),
            replicas,
            members: Arc::default(),
            next: Arc::default(),
            make,
        }
    }

    /// The members for the current replica list: kept members keep their stack (circuit,
    /// pooled connections); new replicas get one; removed ones are dropped.
    fn members(&self) -> Vec<Member> {
        let urls = self.replicas.borrow().clone();
        let mut members = self.members.lock();
        let unchanged = members.len() == urls.len()
            && members
                .iter()
                .zip(&urls)
                .all(|(member, url)| member.base == *url);
        if !unchanged {
            let mut next = Vec::with_capacity(urls.len());
            for base in &urls {
                if let Some(kept) = members.iter().find(|m| m.base == *base) {
                    next.push(kept.clone());
                } else if let Ok(url) = reqwest::Url::parse(base) {
                    let (stack, breaker) = (self.make)(base);
                    next.push(Member {
                        base: base.clone(),
                        url,
                        stack,
                        breaker,
                    });
                }
            }
            *members = next;
        }
        members.clone()
    }

    /// The next member in turn whose circuit is not open; if all are open, the next one
    /// (its breaker then fails the call fast).
    fn choose(&self) -> Option<Member> {
        let members = self.members();
        if members.is_empty() {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let healthy = (0..members.len())
            .map(|offset| &members[(start + offset) % members.len()])
            .find(|member| member.breaker.state() != CircuitState::Open);
        Some(healthy.unwrap_or(&members[start % members.len()]).clone())
    }
}

impl Service<RpcCall> for RoundRobin {
    type Response = RpcResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<RpcResponse, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is per replica, and the replica is chosen per call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut call: RpcCall) -> Self::Future {
        let Some(member) = self.choose() else {
            let error = RpcError::Unreachable {
                target: self.target.to_string(),
                message: "no replica is registered".to_owned(),
            };
            return Box::pin(std::future::ready(Err(error.into())));
        };
        // Same path and query, the chosen replica's scheme, host and port.
        let _ = call.url.set_scheme(member.url.scheme());
        let _ = call.url.set_host(member.url.host_str());
        let _ = call.url.set_port(member.url.port());
        Box::pin(member.stack.oneshot(call))
    }
}
