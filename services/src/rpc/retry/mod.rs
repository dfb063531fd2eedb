//! Retries as a policy for `tower::retry`: only idempotent calls, only after failures that say
//! "try again" (never reached, connection lost, 502/503/504), at most `max_retries` times per
//! call, and only while the target's retry budget allows (retries are capped at a share of
//! recent traffic, so retries cannot multiply an outage). Not retried: non-idempotent calls
//! (resending could act twice), timeouts (the deadline is spent), an open circuit (fail fast).
//!
//! The layer has no error of its own: a call that is not retried, or has used its retries,
//! ends with its last attempt's answer; `error.rs` says which answers are worth another try.
//! One exception keeps "never sent" true: when an earlier attempt may have reached the target
//! (its connection dropped mid-call) and the last one never did, the call ends as a lost
//! connection (outcome unknown), never as "unreachable".

mod error;
mod layer;
mod policy;
mod service;

pub use layer::RetryLayer;
pub use policy::{RetryPolicy, RetrySettings};
pub use service::Retry;
