//! What tests and operators read about a caller's view of a target: each replica's state,
//! joining two separate sources, the circuits ([`CircuitRegistry`](super::CircuitRegistry))
//! and the balancer's health checks ([`HealthRegistry`](super::HealthRegistry)). A replica
//! failing its health checks is out of rotation like one whose circuit is open, and is
//! reported as open.

use super::breaker::{CircuitState, worst};
use super::stack::Resilience;

impl Resilience {
    /// The replicas `caller` calls `target` through right now (base URLs, in the order their
    /// circuits were registered; one empty URL for an unbalanced client), each with its
    /// circuit's state, or open while it fails its health checks. Empty if `caller` has no
    /// client for `target`.
    pub fn replicas(&self, caller: &str, target: &str) -> Vec<(String, CircuitState)> {
        self.circuits
            .circuits(caller, target)
            .into_iter()
            .map(|(address, state)| {
                let failing = self.health.is_healthy(caller, target, &address) == Some(false);
                let state = if failing { CircuitState::Open } else { state };
                (address, state)
            })
            .collect()
    }

    /// The worst state among [`Resilience::replicas`] (open, then half-open, then closed), or
    /// `None` if `caller` has no client for `target`.
    pub fn circuit_state(&self, caller: &str, target: &str) -> Option<CircuitState> {
        worst(
            self.replicas(caller, target)
                .into_iter()
                .map(|(_, state)| state),
        )
    }
}
