//! The one function that builds the RPC stack of a (caller, target) pair, and the settings it
//! is built from ([`Resilience`]). The CLIENT span, propagation and the per-call timeout stay
//! in [`RpcClient::send`](super::RpcClient::send), around the whole stack, so one span and one
//! deadline cover every attempt.

use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceBuilder};

use super::breaker::{BreakerSettings, CircuitBreaker, CircuitBreakerLayer, CircuitRegistry};
use super::call::{RpcCall, Transport};
use super::client::RpcResponse;
use super::fault::{FaultInjector, FaultLayer};
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
}

/// Builds the stack from `caller` to `target` on the shared client `http`; returns it with the
/// circuit breaker, whose state the caller may inspect (edge's balancer skips open replicas).
pub fn build_stack(
    http: reqwest::Client,
    resilience: &Resilience,
    caller: &str,
    target: &str,
) -> (RpcStack, CircuitBreaker) {
    let breaker = CircuitBreaker::new(target, resilience.breaker);
    resilience.circuits.register(caller, target, &breaker);
    let stack = ServiceBuilder::new()
        // Outermost: a retry is a new attempt through everything below, so each attempt is
        // judged by the breaker and can meet an injected fault like a real one.
        .layer(tower::retry::RetryLayer::new(RetryPolicy::new(
            resilience.retry,
        )))
        // Below the retry: each attempt counts for (and can be refused by) the circuit; an open
        // circuit's refusal is not retried, so callers fail fast.
        .layer(CircuitBreakerLayer::new(breaker.clone()))
        // Below the breaker: injected failures trip the circuit and cost retries exactly as
        // real ones do; a hang is ended by the call's timeout, which wraps the whole stack.
        .layer(FaultLayer::new(resilience.faults.clone(), caller, target))
        // Innermost: the shared reqwest client, one connection pool for the whole process.
        .service(Transport::new(http, target));
    (BoxCloneSyncService::new(stack), breaker)
}
