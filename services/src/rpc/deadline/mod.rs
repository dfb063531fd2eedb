//! Deadlines: ends an attempt at the call's deadline (min of the call's timeout and the
//! deadline the caller propagated) with [`Elapsed`]. A layer rather than a timer around the
//! stack, so the circuit breaker above it sees a target that stops answering as a failure, and
//! a hang injected below it ends like a real one.

mod error;
mod layer;
mod service;

pub use error::Elapsed;
pub use layer::DeadlineLayer;
pub use service::DeadlineService;
