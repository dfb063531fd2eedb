//! Circuit breaking: after `failure_threshold` consecutive failed calls to a target the circuit
//! opens and calls fail at once with [`CircuitOpen`] (nothing is sent) for `open_for`; then one
//! probe call is let through (half-open): its success closes the circuit, its failure opens it
//! again. A failure is a transport error, a timeout, or a 502/503/504 answer; any other answer
//! (4xx included: the target is alive and said no) is a success.
//!
//! Besides the layer, its service and its error: the circuit itself ([`CircuitBreaker`], shared
//! by the layer and whoever watches it) and the [`CircuitRegistry`] where every circuit of a
//! platform is listed for tests and operators.

mod circuit;
mod error;
mod layer;
mod registry;
mod service;

pub use circuit::{BreakerSettings, CircuitBreaker, CircuitState};
pub use error::CircuitOpen;
pub use layer::CircuitBreakerLayer;
pub use registry::{CircuitRegistry, worst};
pub use service::CircuitBreakerService;
