//! The one function that builds the RPC stack of a (caller, target) pair ([`build_stack`]),
//! and the settings it is built from ([`Resilience`]).
//!
//! Errors converge to one type through the stack, [`RpcError`](super::RpcError): each layer
//! converts its own error into it where it makes it, so the layers above match on variants.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tower::util::BoxCloneSyncService;
use tower::{Layer as _, ServiceBuilder};

use super::balance::{
    BalanceLayer, HealthChecks, HealthRegistry, MakeReplica, ReplicaParts, ReplicaStack, Replicas,
};
use super::breaker::{
    BreakerSettings, CircuitBreaker, CircuitBreakerLayer, CircuitRegistry, CircuitState,
};
use super::call::OutgoingCall;
use super::deadline::DeadlineLayer;
use super::error::RpcError;
use super::fault::{FaultInjector, FaultLayer};
use super::pool::PoolStats;
use super::response::RpcResponse;
use super::retry::{RetryLayer, RetrySettings};
use super::trace::TraceLayer;
use super::transport::Transport;
use crate::telemetry::Telemetry;

/// The stack, type-erased: what [`RpcClient`](super::RpcClient) holds.
pub type RpcStack = BoxCloneSyncService<OutgoingCall, RpcResponse, RpcError>;

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
    /// Where every balanced replica's last health check is registered, to be inspected.
    pub health: HealthRegistry,
    /// Counts the calls sent (build the shared client with
    /// [`RpcClient::shared_http_counted`](super::RpcClient::shared_http_counted) on the same
    /// stats to count its connections too).
    pub pool: PoolStats,
    /// Service discovery by DNS: how often a peer's host name is resolved again, its addresses
    /// becoming the replicas a client balances over ([`follow_dns`](super::dns::follow_dns));
    /// `None`: a peer URL is called as it is.
    pub dns_refresh: Option<std::time::Duration>,
}

/// Builds the stack of the service whose telemetry is `telemetry` (the caller) towards
/// `target`, on the shared client `http`: over one replica (the call's own URL) or, given
/// `replicas`, balanced over the replicas they list.
pub fn build_stack(
    http: reqwest::Client,
    telemetry: &Telemetry,
    resilience: &Resilience,
    target: &str,
    replicas: Option<Replicas>,
) -> RpcStack {
    let caller = telemetry.service_name();
    let below_retry: ReplicaStack = match replicas {
        None => replica_stack(http, resilience, caller, target, "").0,
        Some(replicas) => {
            let balance = BalanceLayer::new(target, replicas, resilience.health_checks.clone());
            let (resilience, caller, target) =
                (resilience.clone(), caller.to_owned(), target.to_owned());
            let make: MakeReplica = Arc::new(move |base: &str| {
                replica_parts(http.clone(), &resilience, &caller, &target, base)
            });
            // Below the retry: picks a replica per attempt, skipping those out of rotation
            // (ejected by an open circuit, or failing health checks), following discovery.
            BoxCloneSyncService::new(balance.layer(make))
        }
    };
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            // Outermost: one CLIENT span per call, covering every attempt, and the caller's
            // context (trace, baggage, deadline, request id, identity) written once into the
            // headers that every attempt below resends.
            .layer(TraceLayer::new(telemetry.clone(), target))
            // Below the span: a retry is a new attempt through everything below, so each
            // attempt is balanced afresh (it may reach another replica), judged by that
            // replica's breaker and can meet an injected fault like a real one. The policy
            // retries idempotent calls only, within a budget.
            .layer(RetryLayer::new(resilience.retry))
            // Then the balancer (balanced clients) or the one replica's stack.
            .service(below_retry),
    )
}

/// The stack of one replica at `base` (empty: the call's own URL), below the retry and the
/// balancer, and its circuit (registered in [`Resilience::circuits`]).
fn replica_stack(
    http: reqwest::Client,
    resilience: &Resilience,
    caller: &str,
    target: &str,
    base: &str,
) -> (ReplicaStack, CircuitBreaker) {
    let breaker = CircuitBreaker::new(target, resilience.breaker);
    resilience.circuits.register(caller, target, base, &breaker);
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
    (BoxCloneSyncService::new(stack), breaker)
}

/// What the balancer needs of one replica at `base`: its stack, the stack its health checks
/// use, whether its circuit ejects it, and its health flag (registered in
/// [`Resilience::health`]).
fn replica_parts(
    http: reqwest::Client,
    resilience: &Resilience,
    caller: &str,
    target: &str,
    base: &str,
) -> ReplicaParts {
    let (stack, breaker) = replica_stack(http.clone(), resilience, caller, target, base);
    let healthy = Arc::new(AtomicBool::new(true));
    resilience.health.register(caller, target, base, &healthy);
    // Health checks meet injected faults like calls do, but do not count for the circuit.
    let probe = ServiceBuilder::new()
        .layer(DeadlineLayer::new(target))
        .layer(FaultLayer::new(resilience.faults.clone(), caller, target))
        .service(Transport::new(http, target, resilience.pool.clone()));
    ReplicaParts {
        stack,
        probe: BoxCloneSyncService::new(probe),
        ejected: Arc::new(move || breaker.state() == CircuitState::Open),
        healthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::call::RpcCall;
    use crate::rpc::context::RequestContext;
    use crate::rpc::error::RpcError;
    use crate::rpc::fault::{FaultKind, FaultRule};
    use http::Method;
    use std::time::Duration;
    use tower::ServiceExt as _;

    fn call(timeout: Duration) -> OutgoingCall {
        let url = reqwest::Url::parse("http://127.0.0.1:9/accounts/a1").unwrap();
        OutgoingCall {
            context: RequestContext::background(opentelemetry::Context::new()),
            template: Some("/accounts/{account_id}"),
            call: RpcCall {
                idempotent: true,
                ..RpcCall::new(Method::GET, url, timeout)
            },
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
            scenario: None,
            kind: FaultKind::Hang,
            times: None,
        });
        let stack = build_stack(
            reqwest::Client::new(),
            &Telemetry::disabled("edge"),
            &resilience,
            "ledger",
            None,
        );
        for _ in 0..3 {
            let error = stack
                .clone()
                .oneshot(call(Duration::from_millis(20)))
                .await
                .unwrap_err();
            assert!(matches!(error, RpcError::Timeout { .. }), "{error}");
        }
        assert_eq!(resilience.faults.hits(rule), 3, "timeouts are not retried");
        let started = tokio::time::Instant::now();
        let error = stack
            .clone()
            .oneshot(call(Duration::from_secs(10)))
            .await
            .unwrap_err();
        assert!(matches!(error, RpcError::CircuitOpen { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(1), "failed fast");
        assert_eq!(resilience.faults.hits(rule), 3, "nothing sent while open");
    }
}
