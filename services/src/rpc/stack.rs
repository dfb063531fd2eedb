//! The one function that builds the RPC stack of a (caller, target) pair, and the settings it
//! is built from ([`Resilience`]). The CLIENT span, propagation and the per-call timeout stay
//! in [`RpcClient::send`](super::RpcClient::send), around the whole stack, so one span and one
//! deadline cover every attempt.

use std::sync::Arc;

use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder};

use super::balance::{MakeReplica, ReplicaStack, Replicas, RoundRobin};
use super::breaker::{BreakerSettings, CircuitBreaker, CircuitBreakerLayer, CircuitRegistry};
use super::call::{RpcCall, Transport};
use super::client::RpcResponse;
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
    /// Counts the calls sent (build the shared client with
    /// [`RpcClient::shared_http_counted`](super::RpcClient::shared_http_counted) on the same
    /// stats to count its connections too).
    pub pool: PoolStats,
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
            let (replica, _breaker) = replica_stack(http, resilience, caller, target);
            BoxCloneSyncService::new(ServiceBuilder::new().layer(retry).service(replica))
        }
        Some(replicas) => {
            let resilience = resilience.clone();
            let (caller, name) = (caller.to_owned(), target.to_owned());
            let make: MakeReplica = Arc::new(move |_base: &str| {
                replica_stack(http.clone(), &resilience, &caller, &name)
            });
            BoxCloneSyncService::new(
                ServiceBuilder::new()
                    .layer(retry)
                    // Below the retry: picks a replica per attempt, skipping those whose
                    // circuit is open (failure detection), following the discovery channel.
                    .service(RoundRobin::new(target, replicas, make)),
            )
        }
    }
}

/// The stack of one replica: what sits below the retry and the balancer.
fn replica_stack(
    http: reqwest::Client,
    resilience: &Resilience,
    caller: &str,
    target: &str,
) -> (ReplicaStack, CircuitBreaker) {
    let breaker = CircuitBreaker::new(target, resilience.breaker);
    resilience.circuits.register(caller, target, &breaker);
    let stack = ServiceBuilder::new()
        // First: each attempt counts for (and can be refused by) this replica's circuit; an
        // open circuit's refusal is not retried, so callers fail fast.
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        // Below the breaker: injected failures trip the circuit and cost retries exactly as
        // real ones do; a hang is ended by the call's timeout, which wraps the whole stack.
        .layer(FaultLayer::new(resilience.faults.clone(), caller, target))
        // Innermost: the shared reqwest client, one connection pool for the whole process.
        .service(Transport::new(http, target, resilience.pool.clone()));
    (BoxCloneSyncService::new(stack), breaker)
}
