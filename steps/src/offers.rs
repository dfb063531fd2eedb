//! The driver's capabilities as steps reach them: each answers the capability, or the one
//! "capability missing" error ([`drivers::lacks`]) naming the tag a scenario needs.

use drivers::{
    CallFaults, Capability, Driver, MerchantEndpoints, MetricsReader, ProcessFaults,
    ReplicaControl, Restarts,
};

/// Faults in calls between services.
pub(crate) fn call_faults(driver: &dyn Driver) -> anyhow::Result<&dyn CallFaults> {
    driver
        .call_faults()
        .ok_or_else(|| drivers::lacks(driver, Capability::InjectFaults))
}

/// Stopping, freezing, cutting off a service or the collector.
pub(crate) fn process_faults(
    driver: &dyn Driver,
    capability: Capability,
) -> anyhow::Result<&dyn ProcessFaults> {
    driver
        .process_faults()
        .filter(|f| f.offers().contains(&capability))
        .ok_or_else(|| drivers::lacks(driver, capability))
}

/// Replicas.
pub(crate) fn replicas(driver: &dyn Driver) -> anyhow::Result<&dyn ReplicaControl> {
    driver
        .replicas()
        .ok_or_else(|| drivers::lacks(driver, Capability::Replicas))
}

/// Request figures and pool counters.
pub(crate) fn metrics(driver: &dyn Driver) -> anyhow::Result<&dyn MetricsReader> {
    driver
        .metrics()
        .ok_or_else(|| drivers::lacks(driver, Capability::Metrics))
}

/// Restarting a service.
pub(crate) fn restarts(driver: &dyn Driver) -> anyhow::Result<&dyn Restarts> {
    driver
        .restarts()
        .ok_or_else(|| drivers::lacks(driver, Capability::RestartService))
}

/// Merchant endpoints.
pub(crate) fn merchant_endpoints(driver: &dyn Driver) -> anyhow::Result<&dyn MerchantEndpoints> {
    driver
        .merchant_endpoints()
        .ok_or_else(|| drivers::lacks(driver, Capability::MerchantEndpoints))
}
