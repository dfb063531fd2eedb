//! Metrics and connection pooling, read through the driver: each service's request count,
//! errors and time per route, and the calls and connections between services, as the services
//! exported them over OTLP to the harness's sink. A scenario notes the figures, acts, and checks
//! the difference. Request figures are its own: the platform labels them with the scenario
//! each request was made for (the `minibank.scenario` baggage member every request of a
//! scenario carries), so scenarios running beside it do not move them. Connections are shared
//! by every scenario (a pooled connection serves whoever calls next), so the pool's counters
//! are the platform's, and the scenarios reading them run `@serial`.
//!
//! Every driver read waits for a collection made after it started; the checks also wait (up to
//! [`FIGURES_DEADLINE`], one fresh read after another, never a sleep) for the counter to reach
//! the expected value before comparing, so an export in flight cannot fail them.

use std::time::{Duration, Instant};

use cucumber::{given, then};
use drivers::{Capability, PoolUse, RouteMetrics};

use crate::{MinibankWorld, params::Method};

/// How long a check waits for a counter to reach the expected value.
const FIGURES_DEADLINE: Duration = Duration::from_secs(10);

fn route<'a>(metrics: &'a [RouteMetrics], method: &str, path: &str) -> Option<&'a RouteMetrics> {
    metrics
        .iter()
        .find(|m| m.method == method && m.route == path)
}

impl MinibankWorld {
    fn noted(&self) -> anyhow::Result<(Vec<RouteMetrics>, PoolUse)> {
        self.noted
            .clone()
            .ok_or_else(|| anyhow::anyhow!("the bank's figures were not noted in this scenario"))
    }
}

/// Notes edge's request metrics for this scenario's requests, and the connection pool's
/// counters, to compare later.
/// Needs: metrics
/// Example: Given the bank's figures are noted
#[given(expr = "the bank's figures are noted")]
async fn note(world: &mut MinibankWorld) -> anyhow::Result<()> {
    let driver = world.require(Capability::Metrics)?;
    let metrics = crate::offers::metrics(&*driver)?
        .route_metrics("edge", Some(world.ns.tag()))
        .await?;
    let pool = crate::offers::metrics(&*driver)?.pool_use().await?;
    world.noted = Some((metrics, pool));
    Ok(())
}

/// Since the figures were noted, edge counted exactly this many of this scenario's requests
/// and 5xx errors on the route, and time spent on them (other scenarios' requests are not
/// counted here).
/// Needs: metrics
/// Example: Then edge counted 4 more requests to GET "/v1/accounts/{account_id}", 1 of them failed
#[then(expr = "edge counted {int} more requests to {method} {string}, {int} of them failed")]
async fn counted(
    world: &mut MinibankWorld,
    requests: u64,
    method: Method,
    path: String,
    errors: u64,
) -> anyhow::Result<()> {
    let driver = world.require(Capability::Metrics)?;
    let (before, _) = world.noted()?;
    let method = method.0.as_str().to_owned();
    let (old_requests, old_errors, old_duration) = route(&before, &method, &path)
        .map_or((0, 0, Default::default()), |m| {
            (m.requests, m.errors, m.duration)
        });
    // Wait on the condition: the route's counter reaching the expected value (or the deadline).
    let started = Instant::now();
    let after = loop {
        let after = crate::offers::metrics(&*driver)?
            .route_metrics("edge", Some(world.ns.tag()))
            .await?;
        let reached =
            route(&after, &method, &path).is_some_and(|m| m.requests - old_requests >= requests);
        if reached || started.elapsed() > FIGURES_DEADLINE {
            break after;
        }
    };
    let now = route(&after, &method, &path).ok_or_else(|| {
        anyhow::anyhow!(
            "within {FIGURES_DEADLINE:?} edge reported no metrics for this scenario's {method} {path} \
             (a platform labels its figures by scenario with MINIBANK_METRICS_BY_SCENARIO=true); it has {after:?}"
        )
    })?;
    anyhow::ensure!(
        now.requests - old_requests == requests && now.errors - old_errors == errors,
        "edge counted {} more requests and {} more errors on {method} {path}, expected {requests} and {errors}",
        now.requests - old_requests,
        now.errors - old_errors
    );
    anyhow::ensure!(
        now.duration > old_duration,
        "edge recorded no time for those requests"
    );
    Ok(())
}

/// Since the figures were noted, at least `calls` calls between services were sent, over at
/// most `connections` newly opened connections: the rest reused pooled ones.
/// Needs: metrics
/// Example: Then at least 40 calls between services went over at most 2 new connections
#[then(expr = "at least {int} calls between services went over at most {int} new connections")]
async fn reused(world: &mut MinibankWorld, calls: u64, connections: u64) -> anyhow::Result<()> {
    let driver = world.require(Capability::Metrics)?;
    let (_, before) = world.noted()?;
    // Wait on the condition: the calls counter reaching the expected value (or the deadline).
    let started = Instant::now();
    let after = loop {
        let after = crate::offers::metrics(&*driver)?.pool_use().await?;
        if after.calls - before.calls >= calls || started.elapsed() > FIGURES_DEADLINE {
            break after;
        }
    };
    let sent = after.calls - before.calls;
    let opened = after.connections_opened - before.connections_opened;
    anyhow::ensure!(
        sent >= calls && opened <= connections,
        "{sent} calls between services opened {opened} connections (expected at least {calls} calls over at most {connections})"
    );
    Ok(())
}
