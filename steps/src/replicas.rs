//! Replicas of a service: starting and stopping them while the platform runs (service
//! discovery), which replica served each request (load balancing, read from the
//! `service.instance.id` of the spans), and a failing replica taken out of rotation and let back
//! in (failure detection). Scenarios using these run `@serial`: replicas are shared by everyone.

use std::collections::BTreeSet;

use cucumber::{given, then, when};
use drivers::{CallFault, CallFaultKind, Capability, CircuitView};
use harness::model::{SpanKind, TraceId};

use crate::{
    MinibankWorld, params::ActorName, traces::settle_connected, wait,
};

/// Starts another ledger replica; edge balances over it from its next call.
/// Needs: replicas
/// Scope: platform
/// Example: Given a second ledger replica is running
/// Example: When a second ledger replica starts
#[given(expr = "a second ledger replica is running")]
#[when(expr = "a second ledger replica starts")]
async fn second_replica(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::Replicas)?;
    crate::offers::replicas(&*driver)?.add_replica("ledger").await
}

/// Stops the replica started last; edge stops choosing it first, then it drains.
/// Needs: replicas
/// Scope: platform
/// Example: When the second ledger replica stops
#[when(expr = "the second ledger replica stops")]
async fn replica_stops(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::Replicas)?;
    crate::offers::replicas(&*driver)?.remove_replica("ledger").await
}

/// Every one of those reads was answered 200, and their traces show the ledger spans of
/// exactly `count` distinct replicas (`service.instance.id`).
/// Example: Then every read succeeded, served by 2 ledger replicas
#[then(regex = r"^every read succeeded, served by (\d+) ledger replicas?$")]
async fn served_by(world: &mut MinibankWorld, count: usize) -> anyhow::Result<()> {
    let driver = world.driver()?;
    let reads = world.reads.clone();
    anyhow::ensure!(!reads.is_empty(), "no balance reads in this scenario");
    let mut instances = BTreeSet::new();
    for (status, trace_id) in &reads {
        anyhow::ensure!(*status == 200, "a read was answered {status}: {reads:?}");
        let trace_id = trace_id
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("a read names no trace"))?;
        let trace_id = TraceId::parse(trace_id).map_err(|e| anyhow::anyhow!("{e}"))?;
        let trace = settle_connected(driver.as_ref(), &trace_id, &["edge", "ledger"]).await?;
        let served: Vec<String> = trace
            .spans_of("ledger")
            .filter(|span| span.kind == SpanKind::Server)
            .filter_map(|span| span.resource.service_instance_id.clone())
            .collect();
        anyhow::ensure!(
            !served.is_empty(),
            "trace {trace_id} has no ledger SERVER span with a service.instance.id"
        );
        instances.extend(served);
    }
    anyhow::ensure!(
        instances.len() == count,
        "{} reads were served by {} ledger replicas, expected {count}: {instances:?}",
        reads.len(),
        instances.len()
    );
    Ok(())
}

/// Every call from edge to the second ledger replica fails with 503 until the ledger recovers.
/// Needs: faults, replicas
/// Scope: platform
/// Example: Given the second ledger replica fails every call
#[given(expr = "the second ledger replica fails every call")]
async fn second_replica_fails(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.require(Capability::Replicas)?;
    world
        .inject(CallFault {
            caller: Some("edge".into()),
            target: "ledger".into(),
            method: None,
            path_contains: None,
            replica: Some(2),
            scenario: None,
            kind: CallFaultKind::Error(503),
            times: None,
        })
        .await
        .map(drop)
}

/// Waits until edge has taken a ledger replica out of rotation: its circuit is open (or
/// half-open: the pause is over and only a probe may go to it), or it failed a health check.
/// Needs: faults
/// Example: Then edge takes the failing ledger replica out of rotation
#[then(expr = "edge takes the failing ledger replica out of rotation")]
async fn ejected(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::InjectFaults)?;
    wait::until(
        "edge to take a ledger replica out of rotation",
        world.patience(),
        || {
            let driver = driver.clone();
            async move {
                let state = crate::offers::call_faults(&*driver)?.circuit("edge", "ledger").await?;
                Ok(if state == CircuitView::Closed {
                    Err("every ledger replica is in rotation".to_owned())
                } else {
                    Ok(())
                })
            }
        },
    )
    .await
}

/// edge's health checks of the second ledger replica fail (it answers 503) until the ledger
/// recovers; the calls it serves are not affected.
/// Needs: faults, replicas
/// Scope: platform
/// Example: When the second ledger replica stops passing its health checks
#[when(expr = "the second ledger replica stops passing its health checks")]
async fn health_fails(world: &mut MinibankWorld) -> anyhow::Result<()> {
    world.require(Capability::Replicas)?;
    world
        .inject(CallFault {
            caller: Some("edge".into()),
            target: "ledger".into(),
            method: Some("GET".into()),
            path_contains: Some("/health/ready".into()),
            replica: Some(2),
            scenario: None,
            kind: CallFaultKind::Error(503),
            times: None,
        })
        .await
        .map(drop)
}

/// Keeps reading the actor's account (each read must succeed) until edge has let the replica
/// back in: its half-open probe succeeded and every circuit from edge to the ledger is closed.
/// Needs: faults
/// Example: Then edge lets the ledger replica back in while Alice keeps reading her balance
#[then(expr = "edge lets the ledger replica back in while {actor} keeps reading her/his/their balance")]
async fn let_back_in(world: &mut MinibankWorld, alias: ActorName) -> anyhow::Result<()> {
    let driver = world.require(Capability::InjectFaults)?;
    let patience = world.patience();
    let world = tokio::sync::Mutex::new(world);
    wait::until("edge to let the ledger replica back in", patience, || {
        let (driver, world, alias) = (driver.clone(), &world, alias.0.clone());
        async move {
            let (status, _) = world.lock().await.read_account(&alias).await?;
            anyhow::ensure!(status == 200, "a read was answered {status}");
            let state = crate::offers::call_faults(&*driver)?.circuit("edge", "ledger").await?;
            Ok(if state == CircuitView::Closed {
                Ok(())
            } else {
                Err(format!("circuit {state:?}"))
            })
        }
    })
    .await
}
