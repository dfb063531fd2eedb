//! The shared RPC layer (like Monzo's Typhon): every call between minibank services, and every
//! call out to the provider or a merchant, goes through it, so spans, W3C propagation, deadlines,
//! request ids and identity are handled the same way on every hop.
//!
//! Its modules import in one direction (`services/tests/rpc_imports.rs` checks it):
//!
//! | tier | modules | imports |
//! |---|---|---|
//! | types | `call`, `request`, `response`, `error`, `context`, `propagation`, `tracestate` (a leaf), `headers`, `pool` | each other only |
//! | layers | `trace`, `retry`, `balance`, `breaker`, `deadline`, `fault`; `transport` (the innermost service) | types only, never each other |
//! | stack | `stack` ([`build_stack`], [`Resilience`]), `from_env`, `rotation`, `dns` | types and layers |
//! | entry points | `client` ([`RpcClient`]), `server` ([`ServerLayer`]) | anything below |
//!
//! - [`ServerLayer`]: the middleware in front of every service's routes; gives handlers a
//!   [`RequestContext`] (extract it as a handler argument).
//! - [`RpcClient`]: calls a target with a [`RequestContext`]; errors are typed ([`RpcError`])
//!   and say whether the target could have acted ([`CallOutcome`]).
//! - [`PropagatedContext`]: a context as strings, for the outbox and the webhook delivery.
//! - [`TraceState`]: W3C `tracestate` to the letter, the one parser of every hop (edge included).
//! - the client's stack ([`build_stack`], top to bottom): the CLIENT span and propagation
//!   ([`trace`]), retries with a budget for idempotent calls ([`retry`]), the balancer over a
//!   target's replicas ([`balance`]), a circuit breaker per replica ([`breaker`]), the call's
//!   deadline ([`deadline`]), fault injection ([`fault`]), the shared connection pool
//!   ([`Transport`](transport::Transport)). Each layer is a folder of one shape, as tower's
//!   `timeout`: `mod.rs` (what it does, re-exports), `layer.rs`, `service.rs`, `error.rs`.

pub mod balance;
pub mod breaker;
pub mod call;
mod client;
mod context;
pub mod deadline;
pub mod dns;
mod error;
pub mod fault;
mod from_env;
pub mod headers;
pub mod pool;
mod propagation;
mod request;
mod response;
pub mod retry;
mod rotation;
mod server;
pub mod stack;
pub mod trace;
pub mod tracestate;
pub mod transport;

pub use balance::{HealthChecks, HealthRegistry, Replicas, RoundRobin};
pub use breaker::{BreakerSettings, CircuitBreaker, CircuitOpen, CircuitRegistry, CircuitState};
pub use call::{OutgoingCall, RpcCall};
pub use client::RpcClient;
pub use context::{AccessDenied, Identity, RequestContext, Role};
pub use dns::follow_dns;
pub use error::{CallOutcome, RpcError};
pub use fault::{FaultId, FaultInjector, FaultKind, FaultRule, SCENARIO_BAGGAGE_KEY, scenario_of};
pub use pool::PoolStats;
pub use propagation::{
    PropagatedContext, extract_from_headers, inject_into_headers, with_own_member,
};
pub use request::RpcRequest;
pub use response::RpcResponse;
pub use retry::{RetryPolicy, RetrySettings};
pub use server::ServerLayer;
pub use stack::{Resilience, RpcStack, build_stack};
pub use tracestate::{InvalidTraceState, TraceState};
