//! The layer: one per balanced (caller, target) stack. What it wraps is not one service but
//! the recipe for a replica's stack ([`MakeReplica`]), as tower's balancers wrap a discovery
//! of services.

use tower::Layer;

use super::health::HealthChecks;
use super::replicas::{MakeReplica, Replicas};
use super::service::RoundRobin;

/// Balances calls over the replicas a [`Replicas`] channel lists.
#[derive(Clone, Debug)]
pub struct BalanceLayer {
    target: String,
    replicas: Replicas,
    health_checks: Option<HealthChecks>,
}

impl BalanceLayer {
    /// The layer for `target` over `replicas`, health-checking them as `health_checks` says
    /// (`None`: only passive detection).
    pub fn new(target: &str, replicas: Replicas, health_checks: Option<HealthChecks>) -> Self {
        Self {
            target: target.to_owned(),
            replicas,
            health_checks,
        }
    }
}

impl Layer<MakeReplica> for BalanceLayer {
    type Service = RoundRobin;

    fn layer(&self, make: MakeReplica) -> RoundRobin {
        let balancer = RoundRobin::new(&self.target, self.replicas.clone(), make);
        match &self.health_checks {
            Some(checks) => balancer.with_health_checks(checks.clone()),
            None => balancer,
        }
    }
}
