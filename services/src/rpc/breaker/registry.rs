//! Every circuit of a platform, by caller, target and replica, so tests and operators can see
//! which are open. Only circuits: whether the balancer keeps a replica in rotation after its
//! health checks is the balancer's own state ([`HealthRegistry`](crate::rpc::HealthRegistry)).

use std::sync::Arc;

use parking_lot::Mutex;

use super::circuit::{CircuitBreaker, CircuitState};

/// The circuits of a platform. Holds them weakly in effect: a circuit only the registry still
/// holds (its client is gone) is forgotten. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CircuitRegistry {
    circuits: Arc<Mutex<Vec<Registered>>>,
}

#[derive(Debug)]
struct Registered {
    caller: String,
    target: String,
    /// The replica's base URL (`http://host:port`), or empty for an unbalanced client.
    address: String,
    breaker: CircuitBreaker,
}

impl CircuitRegistry {
    /// Records `breaker` as the circuit from `caller` to `target`'s replica at `address` (its
    /// base URL; empty for an unbalanced client).
    pub fn register(&self, caller: &str, target: &str, address: &str, breaker: &CircuitBreaker) {
        let mut circuits = self.circuits.lock();
        // Forget circuits only the registry still holds (their clients are gone).
        circuits.retain(|registered| registered.breaker.is_shared());
        circuits.push(Registered {
            caller: caller.to_owned(),
            target: target.to_owned(),
            address: address.to_owned(),
            breaker: breaker.clone(),
        });
    }

    /// The live circuits from `caller` to `target`, one per replica (its base URL, in the
    /// order they were registered) with each one's state; empty if it has no client for it.
    pub fn circuits(&self, caller: &str, target: &str) -> Vec<(String, CircuitState)> {
        self.circuits
            .lock()
            .iter()
            .filter(|r| r.caller == caller && r.target == target && r.breaker.is_shared())
            .map(|r| (r.address.clone(), r.breaker.state()))
            .collect()
    }

    /// The worst state among the live circuits from `caller` to `target` (open, then
    /// half-open, then closed), or `None` if there are none.
    pub fn state(&self, caller: &str, target: &str) -> Option<CircuitState> {
        worst(
            self.circuits(caller, target)
                .into_iter()
                .map(|(_, state)| state),
        )
    }
}

/// The worst of `states`: open, then half-open, then closed; `None` when there are none.
pub fn worst(states: impl IntoIterator<Item = CircuitState>) -> Option<CircuitState> {
    let states: Vec<CircuitState> = states.into_iter().collect();
    [
        CircuitState::Open,
        CircuitState::HalfOpen,
        CircuitState::Closed,
    ]
    .into_iter()
    .find(|state| states.contains(state))
}
