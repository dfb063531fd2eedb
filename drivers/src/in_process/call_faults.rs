//! Mesh control of the in-process driver: the driver's [`CallFault`]s become rules of the
//! platform's [`FaultInjector`], which every RPC client of the platform applies; circuits are
//! read from the platform (metrics come from the trace sink: `crate::metrics`).

use anyhow::Context as _;
use minibank::platform::{RunningPlatform, ServiceName};
use minibank::rpc::{CircuitState, FaultId, FaultInjector, FaultKind, FaultRule};

use crate::{CallFault, CallFaultId, CallFaultKind, CircuitView};

/// Adds `fault` to the platform's rules.
pub(super) fn inject(
    platform: &RunningPlatform,
    faults: &FaultInjector,
    fault: CallFault,
) -> anyhow::Result<CallFaultId> {
    let address = match fault.replica {
        None => None,
        Some(ordinal) => {
            let service: ServiceName = fault.target.parse()?;
            Some(
                platform
                    .replica_address(service, ordinal)
                    .with_context(|| format!("{service} has no replica number {ordinal}"))?,
            )
        }
    };
    let kind = match fault.kind {
        CallFaultKind::Latency(delay) => FaultKind::Latency(delay),
        CallFaultKind::Error(status) => FaultKind::Error(
            http::StatusCode::from_u16(status)
                .with_context(|| format!("{status} is not an HTTP status"))?,
        ),
        CallFaultKind::Drop => FaultKind::Drop,
        CallFaultKind::Hang => FaultKind::Hang,
    };
    let method = fault
        .method
        .map(|m| http::Method::from_bytes(m.to_uppercase().as_bytes()))
        .transpose()
        .context("the fault's method is not an HTTP method")?;
    let FaultId(id) = faults.add(FaultRule {
        caller: fault.caller,
        target: fault.target,
        method,
        path_contains: fault.path_contains,
        address,
        scenario: fault.scenario,
        kind,
        times: fault.times,
    });
    Ok(CallFaultId(id))
}

/// The circuit from `caller` to `target`.
pub(super) fn circuit(
    platform: &RunningPlatform,
    caller: &str,
    target: &str,
) -> anyhow::Result<CircuitView> {
    let caller: ServiceName = caller.parse()?;
    let state = platform
        .circuit(caller, target)
        .with_context(|| format!("{caller} has no client for {target}"))?;
    Ok(match state {
        CircuitState::Closed => CircuitView::Closed,
        CircuitState::Open => CircuitView::Open,
        CircuitState::HalfOpen => CircuitView::HalfOpen,
    })
}
