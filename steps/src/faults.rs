//! Faults only a driver that runs each service in its own container can make: stopping and
//! starting a service, pausing it, cutting it off the network, and stopping the collector
//! between the services and the trace sink. Each needs its own capability, so on a driver
//! without it the scenario is listed as not run instead of failing.

use std::time::Duration;

use anyhow::Context as _;
use cucumber::{then, when};
use drivers::{COLLECTOR, Fault};
use harness::{
    model::TraceId,
    settle::{Expectation, settle},
};

use crate::{MinibankWorld, params::Service, traces::node_list};

/// How long a trace is watched for spans that should not come (the collector is down).
const MISSING_PATIENCE: Duration = Duration::from_secs(3);

impl MinibankWorld {
    /// Makes `fault` happen, after checking the driver can.
    async fn make(&self, fault: Fault) -> anyhow::Result<()> {
        let driver = self.require(fault.capability())?;
        crate::offers::process_faults(&*driver, fault.capability())?
            .fault(fault)
            .await
    }
}

/// Stops a service's process (gracefully, killed after 10 s); its data is kept.
/// Needs: stop-service
/// Scope: platform
/// Example: When the payments service stops
#[when(expr = "the {service} service stops")]
async fn service_stops(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    world.make(Fault::Stop(service.0)).await
}

/// Starts a stopped service again on its data; the step returns once it is ready.
/// Needs: stop-service
/// Scope: platform
/// Example: When the payments service starts again
#[when(expr = "the {service} service starts again")]
async fn service_starts(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    world.make(Fault::Start(service.0)).await
}

/// Freezes a service: connections to it are accepted, but nothing is answered.
/// Needs: pause-service
/// Scope: platform
/// Example: When the payments service is paused
#[when(expr = "the {service} service is paused")]
async fn service_paused(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    world.make(Fault::Pause(service.0)).await
}

/// Unfreezes a paused service; what it was sent meanwhile is then processed.
/// Needs: pause-service
/// Scope: platform
/// Example: When the payments service resumes
#[when(expr = "the {service} service resumes")]
async fn service_resumes(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    world.make(Fault::Resume(service.0)).await
}

/// Takes a service off the network: its peers can neither resolve nor reach it.
/// Needs: disconnect-service
/// Scope: platform
/// Example: When the payments service is cut off from the network
#[when(expr = "the {service} service is cut off from the network")]
async fn service_disconnected(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    world.make(Fault::Disconnect(service.0)).await
}

/// Puts a service back on the network; the step returns once it is ready.
/// Needs: disconnect-service
/// Scope: platform
/// Example: When the payments service is reconnected
#[when(expr = "the {service} service is reconnected")]
async fn service_reconnected(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    world.make(Fault::Reconnect(service.0)).await
}

/// Stops the OpenTelemetry collector the services export their spans to.
/// Needs: stop-collector
/// Scope: platform
/// Example: When the collector stops
#[when(expr = "the collector stops")]
async fn collector_stops(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.make(Fault::Stop(COLLECTOR.to_owned())).await
}

/// Starts the collector again; the step returns once it accepts spans.
/// Needs: stop-collector
/// Scope: platform
/// Example: When the collector starts again
#[when(expr = "the collector starts again")]
async fn collector_starts(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.make(Fault::Start(COLLECTOR.to_owned())).await
}

/// Checks edge answered the last request with a clean "not reachable" error: 503
/// `upstream_unavailable`, or 504 `upstream_timeout` when a pooled connection to the service's
/// old address went dark; either way naming the service.
/// Example: Then the caller is told payments is unavailable
#[then(expr = "the caller is told {service} is unavailable")]
async fn told_unavailable(world: &mut MinibankWorld, service: Service) -> anyhow::Result<()> {
    let last = world.last()?;
    let code = last.error_code().unwrap_or_default();
    anyhow::ensure!(
        matches!(
            (last.status, code),
            (503, "upstream_unavailable") | (504, "upstream_timeout")
        ),
        "expected 503 upstream_unavailable or 504 upstream_timeout, got {}",
        last.describe()
    );
    let message = last.str_field("message").unwrap_or_default();
    anyhow::ensure!(
        message.contains(&service.0),
        "the error message does not name {}: {}",
        service.0,
        last.describe()
    );
    Ok(())
}

/// Checks the trace check of the last request fails, and says these services' spans are the
/// ones missing (their spans were lost with the collector). Watches the trace for 3 s.
/// Example: Then the trace check reports the spans of edge, payments and ledger missing
#[then(regex = r"^the trace check reports the spans of (.+) missing$")]
async fn trace_check_reports_missing(
    world: &mut MinibankWorld,
    services: String,
) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let last = world.last()?;
    let trace_id = last
        .trace_id()
        .with_context(|| format!("the last answer names no trace: {}", last.describe()))?;
    let trace_id = TraceId::parse(&trace_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    let expected = node_list(&services);
    let (_, quiet) = driver.settle_timing();
    let expectation = Expectation::services(expected.iter().map(String::as_str))
        .within(MISSING_PATIENCE)
        .quiet_for(quiet);
    match settle(driver.traces().as_ref(), &trace_id, &expectation).await {
        Ok(trace) => anyhow::bail!(
            "expected the spans of {} to be missing, but the trace has them:\n{}",
            expected.join(", "),
            harness::render::render_tree(&trace)
        ),
        Err(report) => {
            let missing: Vec<String> = report.missing().into_iter().collect();
            let mut wanted = expected.clone();
            wanted.sort();
            anyhow::ensure!(
                missing == wanted,
                "the trace check named {missing:?} missing, not {wanted:?}:\n{report}"
            );
            Ok(())
        }
    }
}

/// Each fault sentence needs the capability of its fault.
#[cfg(test)]
mod tests {
    use drivers::{COLLECTOR, Capability, Fault};

    #[test]
    fn each_fault_needs_its_own_capability() {
        assert_eq!(
            Fault::Stop("payments".into()).capability(),
            Capability::StopService
        );
        assert_eq!(
            Fault::Start(COLLECTOR.into()).capability(),
            Capability::StopCollector
        );
        assert_eq!(
            Fault::Pause("ledger".into()).capability(),
            Capability::PauseService
        );
        assert_eq!(
            Fault::Reconnect("edge".into()).capability(),
            Capability::DisconnectService
        );
    }
}
