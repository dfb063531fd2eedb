//! The shared RPC layer (like Monzo's Typhon): every call between minibank services, and every
//! call out to the provider or a merchant, goes through it, so spans, W3C propagation, deadlines,
//! request ids and identity are handled the same way on every hop.
//!
//! - [`ServerLayer`]: the middleware in front of every service's routes; gives handlers a
//!   [`RequestContext`] (extract it as a handler argument).
//! - [`RpcClient`]: calls a target with a [`RequestContext`]; errors are typed ([`RpcError`])
//!   and say whether the target could have acted ([`CallOutcome`]).
//! - [`PropagatedContext`]: a context as strings, for the outbox and the webhook delivery.
//! - the client's stack ([`build_stack`]): retries with a budget for idempotent calls
//!   ([`RetryPolicy`]), a circuit breaker per target ([`CircuitBreaker`]), fault injection
//!   ([`FaultInjector`]), the shared connection pool ([`RpcCall`] → `Transport`).

pub mod balance;
pub mod breaker;
pub mod call;
mod client;
mod context;
pub mod deadline;
pub mod dns;
pub mod fault;
mod from_env;
pub mod headers;
pub mod pool;
mod propagation;
pub mod retry;
mod server;
pub mod stack;

pub use balance::{HealthChecks, Replicas, RoundRobin};
pub use breaker::{BreakerSettings, CircuitBreaker, CircuitOpen, CircuitRegistry, CircuitState};
pub use call::RpcCall;
pub use client::{CallOutcome, RpcClient, RpcError, RpcRequest, RpcResponse};
pub use context::{Identity, RequestContext, Role};
pub use dns::follow_dns;
pub use fault::{FaultId, FaultInjector, FaultKind, FaultRule};
pub use pool::PoolStats;
pub use propagation::{PropagatedContext, extract_from_headers, inject_into_headers};
pub use retry::{RetryPolicy, RetrySettings};
pub use server::ServerLayer;
pub use stack::{Resilience, RpcStack, build_stack};
