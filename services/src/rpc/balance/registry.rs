//! Every balanced replica's last health check, by caller, target and replica, so tests and
//! operators can see which replicas the balancer keeps out of rotation. Separate from the
//! [`CircuitRegistry`](crate::rpc::CircuitRegistry): a failed health check opens no circuit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// The health flags of a platform's balanced replicas. A flag only the registry still holds
/// (its balancer is gone) is forgotten. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct HealthRegistry {
    flags: Arc<Mutex<Vec<Registered>>>,
}

#[derive(Debug)]
struct Registered {
    caller: String,
    target: String,
    /// The replica's base URL (`http://host:port`).
    address: String,
    healthy: Arc<AtomicBool>,
}

impl Registered {
    fn live(&self) -> bool {
        Arc::strong_count(&self.healthy) > 1
    }
}

impl HealthRegistry {
    /// Records `healthy` as the health flag of `caller`'s replica of `target` at `address`.
    pub fn register(&self, caller: &str, target: &str, address: &str, healthy: &Arc<AtomicBool>) {
        let mut flags = self.flags.lock();
        flags.retain(Registered::live);
        flags.push(Registered {
            caller: caller.to_owned(),
            target: target.to_owned(),
            address: address.to_owned(),
            healthy: healthy.clone(),
        });
    }

    /// Whether `caller`'s replica of `target` at `address` passed its last health check;
    /// `None` when no balancer of `caller` holds that replica.
    pub fn is_healthy(&self, caller: &str, target: &str, address: &str) -> Option<bool> {
        self.flags
            .lock()
            .iter()
            .rev()
            .find(|r| r.caller == caller && r.target == target && r.address == address && r.live())
            .map(|r| r.healthy.load(Ordering::Relaxed))
    }
}
