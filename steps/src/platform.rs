//! Platform operations: restarting a service while the rest keeps running.

use cucumber::when;
use drivers::Capability;

use crate::{MinibankWorld, params::Service};

/// Stops one service and starts it again on the same database; the step returns once it is back.
/// Needs: restart
/// Scope: platform
/// Example: When the payments service restarts
#[when(expr = "the {service} service restarts")]
async fn restarts(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    let driver = world.require(Capability::RestartService)?;
    crate::offers::restarts(&*driver)?.restart(&service.0).await
}
