//! The capabilities a driver may offer besides its core ([`crate::Driver`]), one trait each.
//! A driver offers one by answering `Some(self)` (or a part of itself) from the matching
//! accessor of [`crate::Driver`]; a step that needs it fails with [`crate::lacks`] otherwise.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    CallFault, CallFaultId, Capability, CircuitView, Fault, MerchantEndpoint, PoolUse, RouteMetrics,
};

/// Standing up merchant webhook endpoints the platform can reach.
#[async_trait]
pub trait MerchantEndpoints: Send + Sync {
    /// A fresh endpoint.
    async fn new_merchant_endpoint(&self) -> anyhow::Result<Arc<dyn MerchantEndpoint>>;
}

/// Restarting one service while the rest keeps running.
#[async_trait]
pub trait Restarts: Send + Sync {
    /// Stop `service` and start it again on its data; returns once it is ready.
    async fn restart(&self, service: &str) -> anyhow::Result<()>;
}

/// Faults injected into calls between services, in the shared RPC layer, and the circuits
/// that follow from them.
#[async_trait]
pub trait CallFaults: Send + Sync {
    /// Inject `fault`; it lasts until cleared, or for its `times` calls.
    async fn inject_call_fault(&self, fault: CallFault) -> anyhow::Result<CallFaultId>;
    /// How many calls an injected fault has affected so far.
    async fn call_fault_hits(&self, id: CallFaultId) -> anyhow::Result<u32>;
    /// Stop an injected fault (no error if it expired already).
    async fn clear_call_fault(&self, id: CallFaultId) -> anyhow::Result<()>;
    /// The circuit from `caller` to `target`.
    async fn circuit(&self, caller: &str, target: &str) -> anyhow::Result<CircuitView>;
}

/// Faults to whole processes: a service (or the collector) stopped, frozen or cut off.
#[async_trait]
pub trait ProcessFaults: Send + Sync {
    /// Which of [`Fault::capability`] this driver can make.
    fn offers(&self) -> Vec<Capability>;
    /// Make `fault` happen.
    async fn fault(&self, fault: Fault) -> anyhow::Result<()>;
    /// Undo every fault still in force (a scenario failed before it undid its own), and say
    /// which.
    async fn heal(&self) -> anyhow::Result<Vec<Fault>>;
}

/// Starting and stopping replicas of a service while it runs (edge follows them).
#[async_trait]
pub trait ReplicaControl: Send + Sync {
    /// Start another replica of `service`; edge balances over it from its next call.
    async fn add_replica(&self, service: &str) -> anyhow::Result<()>;
    /// Stop the newest replica [`ReplicaControl::add_replica`] started for `service`.
    async fn remove_replica(&self, service: &str) -> anyhow::Result<()>;
}

/// Each service's request figures and the connection pools' counters, as exported over OTLP.
#[async_trait]
pub trait MetricsReader: Send + Sync {
    /// `service`'s request metrics per route: of every request, or of those made for
    /// `scenario` (a namespace), when the platform labels its figures with their scenario
    /// (test platforms do: `MINIBANK_METRICS_BY_SCENARIO`).
    async fn route_metrics(
        &self,
        service: &str,
        scenario: Option<&str>,
    ) -> anyhow::Result<Vec<RouteMetrics>>;
    /// Calls and connections between services so far.
    async fn pool_use(&self) -> anyhow::Result<PoolUse>;
}
