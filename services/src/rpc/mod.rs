//! The shared RPC layer (like Monzo's Typhon): every call between minibank services, and every
//! call out to the provider or a merchant, goes through it, so spans, W3C propagation, deadlines,
//! request ids and identity are handled the same way on every hop.
//!
//! - [`ServerLayer`]: the middleware in front of every service's routes; gives handlers a
//!   [`RequestContext`] (extract it as a handler argument).
//! - [`RpcClient`]: calls a target with a [`RequestContext`]; errors are typed ([`RpcError`])
//!   and say whether the target could have acted ([`CallOutcome`]).
//! - [`PropagatedContext`]: a context as strings, for the outbox and the webhook delivery.

mod client;
mod context;
pub mod headers;
mod propagation;
mod server;

pub use client::{CallOutcome, RpcClient, RpcError, RpcRequest, RpcResponse};
pub use context::{Identity, RequestContext, Role};
pub use propagation::{PropagatedContext, extract_from_headers, inject_into_headers};
pub use server::ServerLayer;
