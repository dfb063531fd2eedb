//! The bank's figures as every driver that runs the platform reads them: from the metrics the
//! services exported over OTLP into the harness's sink (in-process straight into the embedded
//! sink, in containers through the collector), never from the services' memory, so a step
//! reading them proves the OTLP path.
//!
//! A read is as fresh as the moment it is made: it waits (woken by each export the sink
//! receives, with a deadline) until each service it reads has reported a collection made after
//! that moment, so every request answered before it is counted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::metrics::{MetricsStore, ServiceFigures};

use crate::{PoolUse, RouteMetrics, SERVICES};

/// How long a read waits for a fresh collection (export intervals are 100-200 ms in tests).
const FRESH_WITHIN: Duration = Duration::from_secs(10);

/// `service`'s request count, errors and time per route, as of now: of every request, or of
/// those made for `scenario` (figures the platform labelled with it).
pub(crate) async fn route_metrics(
    store: &MetricsStore,
    service: &str,
    scenario: Option<&str>,
) -> anyhow::Result<Vec<RouteMetrics>> {
    anyhow::ensure!(
        SERVICES.contains(&service),
        "`{service}` is not a minibank service (known: {SERVICES:?})"
    );
    let mut figures = fresh(store, service, now_unix_nanos()).await?;
    let routes = match scenario {
        None => figures.routes,
        Some(scenario) => figures.scenarios.remove(scenario).unwrap_or_default(),
    };
    Ok(routes
        .into_iter()
        .map(|route| RouteMetrics {
            method: route.method,
            route: route.route,
            requests: route.requests,
            errors: route.errors,
            duration: Duration::from_secs_f64(route.duration_seconds.max(0.0)),
        })
        .collect())
}

/// Calls between services and connections opened for them, all services (and replicas)
/// together, as of now.
pub(crate) async fn pool_use(store: &MetricsStore) -> anyhow::Result<PoolUse> {
    let since = now_unix_nanos();
    let mut total = PoolUse {
        calls: 0,
        connections_opened: 0,
    };
    for service in SERVICES {
        let figures = fresh(store, service, since).await?;
        total.calls += figures.pool.calls;
        total.connections_opened += figures.pool.connections_opened;
    }
    Ok(total)
}

async fn fresh(
    store: &MetricsStore,
    service: &str,
    since_unix_nanos: u64,
) -> anyhow::Result<ServiceFigures> {
    let figures = store
        .figures_since(service, since_unix_nanos, FRESH_WITHIN)
        .await?;
    tracing::debug!(
        service,
        lag_ms = (figures
            .collected_unix_nanos
            .saturating_sub(since_unix_nanos))
            / 1_000_000,
        "metrics: waited for a collection after the read started"
    );
    Ok(figures)
}

fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
