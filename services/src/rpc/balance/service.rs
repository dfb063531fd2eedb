//! The service: a round robin over the replicas discovery lists, skipping those out of
//! rotation.

use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use tower::{Service, ServiceExt as _};

use super::error::NoReplica;
use super::replicas::{MakeReplica, ReplicaParts, Replicas};
use crate::rpc::call::RpcCall;
use crate::rpc::error::RpcError;
use crate::rpc::response::RpcResponse;

/// A replica the balancer calls: its base URL and what it is called through.
#[derive(Clone)]
pub(super) struct Member {
    pub(super) base: String,
    pub(super) url: reqwest::Url,
    pub(super) parts: ReplicaParts,
}

impl Member {
    fn in_rotation(&self) -> bool {
        self.parts.healthy.load(Ordering::Relaxed) && !(self.parts.ejected)()
    }
}

/// What the balancer's clones and its background tasks (discovery, health checks) share.
pub(super) struct Shared {
    target: Arc<str>,
    replicas: Replicas,
    members: Mutex<Vec<Member>>,
    make: MakeReplica,
}

/// Round robin over the replicas a [`Replicas`] channel lists, skipping replicas out of
/// rotation (ejected by its circuit, or failing its health checks).
#[derive(Clone)]
pub struct RoundRobin {
    pub(super) shared: Arc<Shared>,
    next: Arc<AtomicUsize>,
}

impl std::fmt::Debug for RoundRobin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoundRobin")
            .field("target", &self.shared.target)
            .field("replicas", &*self.shared.replicas.borrow())
            .finish_non_exhaustive()
    }
}

impl RoundRobin {
    /// A balancer for `target` over `replicas`, building each replica's stack with `make`.
    /// On a Tokio runtime it follows the list as soon as it changes (so a replica's circuit is
    /// registered, and a removed one forgotten, before the next call); otherwise on each call.
    pub fn new(target: &str, replicas: Replicas, make: MakeReplica) -> Self {
        let follow = replicas.clone();
        let shared = Arc::new(Shared {
            target: target.into(),
            replicas,
            members: Mutex::default(),
            make,
        });
        shared.with_members(|_| ());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(follow_loop(Arc::downgrade(&shared), follow));
        }
        Self {
            shared,
            next: Arc::default(),
        }
    }

    /// The next member in turn that is in rotation; if none is, the next one (its breaker then
    /// fails the call fast, or the call tells whether it is really down).
    fn choose(&self) -> Option<Member> {
        self.shared.with_members(|members| {
            if members.is_empty() {
                return None;
            }
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let healthy = (0..members.len())
                .map(|offset| &members[(start + offset) % members.len()])
                .find(|member| member.in_rotation());
            Some(healthy.unwrap_or(&members[start % members.len()]).clone())
        })
    }
}

/// Rebuilds the members whenever the replica list changes, until the balancer is gone.
async fn follow_loop(shared: Weak<Shared>, mut replicas: Replicas) {
    while replicas.changed().await.is_ok() {
        match shared.upgrade() {
            Some(shared) => shared.with_members(|_| ()),
            None => return,
        }
    }
}

impl Shared {
    /// The members for the current replica list: kept members keep their stack (circuit,
    /// pooled connections); new replicas get one; removed ones are dropped.
    pub(super) fn members(&self) -> Vec<Member> {
        self.with_members(<[Member]>::to_vec)
    }

    /// `f` over the members for the current replica list (see [`Shared::members`]), under the
    /// lock: a call looks at them without cloning them all, and the list is copied only when
    /// it changed.
    fn with_members<R>(&self, f: impl FnOnce(&[Member]) -> R) -> R {
        let mut members = self.members.lock();
        let changed = {
            let urls = self.replicas.borrow();
            let unchanged = members.len() == urls.len()
                && members
                    .iter()
                    .zip(urls.iter())
                    .all(|(member, url)| member.base == *url);
            (!unchanged).then(|| urls.clone())
        };
        if let Some(urls) = changed {
            let mut next = Vec::with_capacity(urls.len());
            for base in &urls {
                if let Some(kept) = members.iter().find(|m| m.base == *base) {
                    next.push(kept.clone());
                } else if let Ok(url) = reqwest::Url::parse(base) {
                    next.push(Member {
                        base: base.clone(),
                        url,
                        parts: (self.make)(base),
                    });
                }
            }
            *members = next;
        }
        f(&members)
    }
}

impl Service<RpcCall> for RoundRobin {
    type Response = RpcResponse;
    type Error = RpcError;
    type Future = BoxFuture<'static, Result<RpcResponse, RpcError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        // Readiness is per replica, and the replica is chosen per call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut call: RpcCall) -> Self::Future {
        let Some(member) = self.choose() else {
            let none = NoReplica {
                target: self.shared.target.clone(),
            };
            return Box::pin(std::future::ready(Err(none.into())));
        };
        // Same path and query, the chosen replica's scheme, host and port (left alone when
        // they are already the replica's: setting a host parses it again).
        let url = &mut call.url;
        if (url.scheme(), url.host_str(), url.port())
            != (
                member.url.scheme(),
                member.url.host_str(),
                member.url.port(),
            )
        {
            let _ = url.set_scheme(member.url.scheme());
            let _ = url.set_host(member.url.host_str());
            let _ = url.set_port(member.url.port());
        }
        Box::pin(member.parts.stack.oneshot(call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::{HeaderMap, StatusCode};
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;
    use tokio::sync::watch;
    use tower::util::BoxCloneSyncService;

    /// Every replica's parts as the balancer made them, by base URL.
    type Made = Arc<Mutex<Vec<(String, ReplicaParts)>>>;

    /// Replicas are mock services answering with their base URL in a header; each replica's
    /// parts are kept so the test can mark one unhealthy.
    fn balancer(replicas: Replicas) -> (RoundRobin, Made) {
        let made = Arc::new(Mutex::new(Vec::<(String, ReplicaParts)>::new()));
        let record = made.clone();
        let make: MakeReplica = Arc::new(move |base: &str| {
            let name = base.to_owned();
            let mock = tower::service_fn(move |call: RpcCall| {
                let served_by = format!("{}", call.url.port().unwrap_or_default());
                let _ = &name;
                async move {
                    let mut headers = HeaderMap::new();
                    headers.insert("served-by", served_by.parse().unwrap());
                    Ok::<_, RpcError>(RpcResponse {
                        status: StatusCode::OK,
                        headers,
                        body: Bytes::new(),
                    })
                }
            });
            let parts = ReplicaParts {
                stack: BoxCloneSyncService::new(mock.clone()),
                probe: BoxCloneSyncService::new(mock),
                ejected: Arc::new(|| false),
                healthy: Arc::new(AtomicBool::new(true)),
            };
            record.lock().push((base.to_owned(), parts.clone()));
            parts
        });
        (RoundRobin::new("ledger", replicas, make), made)
    }

    fn call() -> RpcCall {
        RpcCall {
            method: http::Method::GET,
            url: reqwest::Url::parse("http://placeholder:1/accounts/a1").unwrap(),
            headers: HeaderMap::new(),
            body: None,
            idempotent: true,
            resends: Arc::default(),
            deadline: tokio::time::Instant::now() + Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        }
    }

    async fn served_by(balancer: &RoundRobin, calls: usize) -> Vec<String> {
        let mut ports = Vec::new();
        for _ in 0..calls {
            let answer = balancer.clone().oneshot(call()).await.unwrap();
            ports.push(answer.headers["served-by"].to_str().unwrap().to_owned());
        }
        ports
    }

    /// A replica added to the list gets its stack (and so its registered circuit) without
    /// waiting for a call, so a caller's replicas can be read as soon as discovery changes.
    #[tokio::test]
    async fn follows_a_change_of_the_list_before_any_call() {
        let (tx, rx) = watch::channel(vec!["http://127.0.0.1:1001".to_owned()]);
        let (_balancer, made) = balancer(rx);
        tx.send_modify(|urls| urls.push("http://127.0.0.1:1002".to_owned()));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !made.lock().iter().any(|(base, _)| base.ends_with("1002")) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the added replica got no stack within 5 s"
            );
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn follows_discovery_and_skips_replicas_out_of_rotation() {
        let (tx, rx) = watch::channel(vec!["http://127.0.0.1:1001".to_owned()]);
        let (balancer, made) = balancer(rx);
        assert_eq!(served_by(&balancer, 2).await, ["1001", "1001"]);

        tx.send_modify(|urls| urls.push("http://127.0.0.1:1002".to_owned()));
        let mut spread = served_by(&balancer, 4).await;
        spread.sort();
        assert_eq!(
            spread,
            ["1001", "1001", "1002", "1002"],
            "round robin over both"
        );

        // The second replica fails a health check: out of rotation.
        let second = made
            .lock()
            .iter()
            .find(|(b, _)| b.ends_with("1002"))
            .unwrap()
            .1
            .clone();
        second.healthy.store(false, Ordering::Relaxed);
        assert_eq!(served_by(&balancer, 3).await, ["1001", "1001", "1001"]);
        second.healthy.store(true, Ordering::Relaxed);

        // Removed from discovery: never chosen again.
        tx.send_modify(|urls| urls.retain(|u| !u.ends_with("1001")));
        assert_eq!(served_by(&balancer, 2).await, ["1002", "1002"]);
    }
}
