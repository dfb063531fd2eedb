//! Active failure detection: every interval, `GET /health/ready` on each replica; one that
//! does not answer 2xx in time is out of rotation until a check passes again.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tower::ServiceExt as _;

use super::service::{Member, RoundRobin, Shared};
use crate::rpc::call::RpcCall;

/// How replicas are health-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChecks {
    /// The path asked (`/health/ready`).
    pub path: String,
    /// Time between two rounds of checks.
    pub interval: Duration,
    /// A check not answered 2xx within this fails.
    pub timeout: Duration,
}

impl Default for HealthChecks {
    /// `/health/ready` every 5 s, 1 s to answer.
    fn default() -> Self {
        Self {
            path: "/health/ready".to_owned(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }
}

impl RoundRobin {
    /// Also health-checks every replica as `checks` says, from a task on the current runtime
    /// that ends when the balancer is dropped.
    pub fn with_health_checks(self, checks: HealthChecks) -> Self {
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(health_loop(shared, checks));
        self
    }
}

/// One round of health checks every `checks.interval`, all replicas at once, until the
/// balancer is gone.
async fn health_loop(shared: Weak<Shared>, checks: HealthChecks) {
    let mut ticks = tokio::time::interval(checks.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(members) = shared.upgrade().map(|shared| shared.members()) else {
            return;
        };
        futures::future::join_all(members.into_iter().map(|member| check(member, &checks))).await;
    }
}

async fn check(member: Member, checks: &HealthChecks) {
    let Ok(url) = member.url.join(&checks.path) else {
        return;
    };
    let call = RpcCall {
        idempotent: true,
        ..RpcCall::new(http::Method::GET, url, checks.timeout)
    };
    let answer = member.parts.probe.oneshot(call).await;
    let healthy = matches!(answer, Ok(response) if response.status.is_success());
    let was = member.parts.healthy.swap(healthy, Ordering::Relaxed);
    if was != healthy {
        tracing::warn!(
            replica = %member.base,
            healthy,
            "replica {} rotation after a health check",
            if healthy { "back in" } else { "taken out of" }
        );
    }
}
