//! The one function that builds the RPC stack of a (caller, target) pair, and the settings it
//! is built from ([`Resilience`]). The CLIENT span, propagation and the per-call timeout stay
//! in [`RpcClient::send`](super::RpcClient::send), around the whole stack, so one span and one
//! deadline cover every attempt.

use std::sync::Arc;

use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder};

use std::sync::atomic::AtomicBool;

use super::balance::{HealthChecks, MakeReplica, ReplicaParts, Replicas, RoundRobin};
use super::breaker::{BreakerSettings, CircuitBreaker, CircuitBreakerLayer, CircuitRegistry};
use super::call::{RpcCall, Transport};
use super::client::RpcResponse;
use super::deadline::DeadlineLayer;
use super::fault::{FaultInjector, FaultLayer};
use super::pool::PoolStats;
use super::retry::{RetryPolicy, RetrySettings};

/// The stack, type-erased: what [`RpcClient`](super::RpcClient) holds.
pub type RpcStack = BoxCloneSyncService<RpcCall, RpcResponse, BoxError>;

/// How every client of a process retries, breaks circuits, and which faults it injects.
#[derive(Clone, Debug, Default)]
pub struct Resilience {
    /// Circuit breaker thresholds.
    pub breaker: BreakerSettings,
    /// Retry limits and budget.
    pub retry: RetrySettings,
    /// Fault rules (none in production; the in-process driver adds some in tests).
    pub faults: FaultInjector,
    /// Where every client's circuit is registered, to be inspected.
    pub circuits: CircuitRegistry,
    /// Health checks of balanced clients' replicas (`None`: only passive detection).
    pub health_checks: Option<HealthChecks>,
    /// Counts the calls sent (build the shared client with
    /// [`RpcClient::shared_http_counted`](super::RpcClient::shared_http_counted) on the same
    /// stats to count its connections too).
    pub pool: PoolStats,
    /// Service discovery by DNS: how often a peer's host name is resolved again, its addresses
    /// becoming the replicas a client balances over ([`follow_dns`](super::dns::follow_dns));
    /// `None`: a peer URL is called as it is.
    pub dns_refresh: Option<std::time::Duration>,
}

/// Builds the stack from `caller` to `target` on the shared client `http`: over one replica
/// (the call's own URL) or, given `replicas`, balanced over the replicas they list.
pub fn build_stack(
    http: reqwest::Client,
    resilience: &Resilience,
    caller: &str,
    target: &str,
    replicas: Option<Replicas>,
) -> RpcStack {
    // Outermost: a retry is a new attempt through everything below, so each attempt is
    // balanced afresh (it may reach another replica), judged by that replica's breaker and can
    // meet an injected fault like a real one. The policy retries idempotent calls only.
    let retry = tower::retry::RetryLayer::new(RetryPolicy::new(resilience.retry));
    match replicas {
        None => {
            let replica = replica_stack(http, resilience, caller, target, "");
            BoxCloneSyncService::new(ServiceBuilder::new().layer(retry).service(replica.stack))
        }
        Some(replicas) => {
            let checks = resilience.health_checks.clone();
            let resilience = resilience.clone();
            let (caller, name) = (caller.to_owned(), target.to_owned());
            let make: MakeReplica = Arc::new(move |base: &str| {
                replica_stack(http.clone(), &resilience, &caller, &name, base)
            });
            let mut balancer = RoundRobin::new(target, replicas, make);
            if let Some(checks) = checks {
                balancer = balancer.with_health_checks(checks);
            }
            BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(retry)
                    // Below the retry: picks a replica per attempt, skipping those out of
                    // rotation (open circuit, failed health check), following discovery.
                    .service(balancer),
            )
        }
    }
}

/// The stack of one replica at `base` (what sits below the retry and the balancer), and the
/// stack its health checks use.
fn replica_stack(
    http: reqwest::Client,
    resilience: &Resilience,
    caller: &str,
    target: &str,
    base: &str,
) -> ReplicaParts {
    let breaker = CircuitBreaker::new(target, resilience.breaker);
    let healthy = Arc::new(AtomicBool::new(true));
    resilience
        .circuits
        .register(caller, target, base, &breaker, healthy.clone());
    // Health checks meet injected faults like calls do, but do not count for the circuit.
    let probe = ServiceBuilder::new()
        .layer(DeadlineLayer::new(target))
        .layer(FaultLayer::new(resilience.faults.clone(), caller, target))
        .service(Transport::new(
            http.clone(),
            target,
            resilience.pool.clone(),
        ));
    let stack = ServiceBuilder::new()
        // First: each attempt counts for (and can be refused by) this replica's circuit; an
        // open circuit's refusal is not retried, so callers fail fast.
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        // Below the breaker: an attempt not answered by the call's deadline ends as a timeout,
        // which the breaker counts as a failure (a target that hangs trips the circuit).
        .layer(DeadlineLayer::new(target))
        // Below the deadline: injected failures trip the circuit and cost retries exactly as
        // real ones do; an injected hang is ended by the deadline like a real one.
        .layer(FaultLayer::new(resilience.faults.clone(), caller, target))
        // Innermost: the shared reqwest client, one connection pool for the whole process.
        .service(Transport::new(http, target, resilience.pool.clone()));
    ReplicaParts {
        stack: BoxCloneSyncService::new(stack),
        probe: BoxCloneSyncService::new(probe),
        breaker,
        healthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::breaker::CircuitOpen;
    use crate::rpc::client::RpcError;
    use crate::rpc::fault::{FaultKind, FaultRule};
    use http::{HeaderMap, Method};
    use std::time::Duration;
    use tower::ServiceExt as _;

    fn call(timeout: Duration) -> RpcCall {
        RpcCall {
            method: Method::GET,
            url: reqwest::Url::parse("http://127.0.0.1:9/accounts/a1").unwrap(),
            headers: HeaderMap::new(),
            body: None,
            idempotent: true,
            resends: Arc::default(),
            deadline: tokio::time::Instant::now() + timeout,
            timeout,
        }
    }

    /// A target that hangs: each attempt ends at its deadline as a timeout (not retried), the
    /// breaker counts those, and once open the next call fails fast without waiting.
    #[tokio::test]
    async fn a_hanging_target_times_out_then_opens_the_circuit() {
        let resilience = Resilience {
            breaker: BreakerSettings {
                failure_threshold: 3,
                open_for: Duration::from_secs(60),
            },
            ..Resilience::default()
        };
        let rule = resilience.faults.add(FaultRule {
            caller: None,
            target: "ledger".into(),
            method: None,
            path_contains: None,
            address: None,
            kind: FaultKind::Hang,
            times: None,
        });
        let stack = build_stack(reqwest::Client::new(), &resilience, "edge", "ledger", None);
        for _ in 0..3 {
            let error = stack
                .clone()
                .oneshot(call(Duration::from_millis(20)))
                .await
                .unwrap_err();
            assert!(
                matches!(
                    error.downcast_ref::<RpcError>(),
                    Some(RpcError::Timeout { .. })
                ),
                "{error}"
            );
        }
        assert_eq!(resilience.faults.hits(rule), 3, "timeouts are not retried");
        let started = tokio::time::Instant::now();
        let error = stack
            .clone()
            .oneshot(call(Duration::from_secs(10)))
            .await
            .unwrap_err();
        assert!(error.downcast_ref::<CircuitOpen>().is_some(), "{error}");
        assert!(started.elapsed() < Duration::from_secs(1), "failed fast");
        assert_eq!(resilience.faults.hits(rule), 3, "nothing sent while open");
    }
}
