//! The layer: one per replica of a (caller, target) stack.

use tower::Layer;

use super::circuit::CircuitBreaker;
use super::service::CircuitBreakerService;

/// Puts a [`CircuitBreaker`] in front of a service.
#[derive(Clone, Debug)]
pub struct CircuitBreakerLayer {
    breaker: CircuitBreaker,
}

impl CircuitBreakerLayer {
    /// The layer for `breaker` (whose state the caller may keep a clone of).
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self { breaker }
    }
}

impl<S> Layer<S> for CircuitBreakerLayer {
    type Service = CircuitBreakerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService::new(inner, self.breaker.clone())
    }
}
