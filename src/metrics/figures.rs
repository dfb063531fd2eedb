//! The figures the harness reads from a service's metric streams: per route, requests, errors
//! and time (from the semconv histogram `http.server.request.duration`), and the RPC client's
//! connection-pool counters. Every instance (replica, restart) of the service is added up.

use std::collections::BTreeMap;

use serde::Serialize;

use super::store::{StreamKey, StreamValue};

/// The OpenTelemetry semconv server request histogram (seconds).
pub const REQUEST_DURATION_METRIC: &str = "http.server.request.duration";
/// Counter of calls the service's RPC client sent (every attempt).
pub const POOL_CALLS_METRIC: &str = "minibank.rpc.client.calls";
/// Counter of connections the service's RPC client opened for them.
pub const POOL_CONNECTIONS_METRIC: &str = "minibank.rpc.client.connections.opened";

/// The route a request is counted under when the semconv `http.route` is absent.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// What one route of one service has served.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteFigures {
    /// `http.request.method`.
    pub method: String,
    /// `http.route`, or [`UNMATCHED_ROUTE`].
    pub route: String,
    /// Requests answered.
    pub requests: u64,
    /// Of which answered 5xx (`http.response.status_code` >= 500, or `error.type` without a
    /// status).
    pub errors: u64,
    /// Time spent answering them, in total, in seconds.
    pub duration_seconds: f64,
}

/// How one service's RPC client used its connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PoolFigures {
    /// Calls sent to other services (every attempt).
    pub calls: u64,
    /// Connections opened for them.
    pub connections_opened: u64,
}

/// A service's figures as the sink holds them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceFigures {
    /// `service.name`.
    pub service: String,
    /// When the newest collection the figures include was made (unix nanoseconds).
    pub collected_unix_nanos: u64,
    /// Per route, by method then route.
    pub routes: Vec<RouteFigures>,
    /// Its RPC client's connection pool.
    pub pool: PoolFigures,
}

impl ServiceFigures {
    /// Adds up `streams` (all of one service).
    pub fn from_streams(
        service: &str,
        collected_unix_nanos: u64,
        streams: &[(StreamKey, StreamValue)],
    ) -> Self {
        let mut routes: BTreeMap<(String, String), RouteFigures> = BTreeMap::new();
        let mut pool = PoolFigures::default();
        for (key, value) in streams {
            match (key.metric.as_str(), value) {
                (REQUEST_DURATION_METRIC, StreamValue::Distribution { count, sum }) => {
                    let attr = |name: &str| key.attributes.get(name).cloned();
                    let method = attr("http.request.method").unwrap_or_else(|| "_OTHER".into());
                    let route = attr("http.route").unwrap_or_else(|| UNMATCHED_ROUTE.into());
                    let failed = match attr("http.response.status_code") {
                        Some(status) => status.parse::<u16>().is_ok_and(|s| s >= 500),
                        None => key.attributes.contains_key("error.type"),
                    };
                    let entry = routes
                        .entry((method.clone(), route.clone()))
                        .or_insert_with(|| RouteFigures {
                            method,
                            route,
                            requests: 0,
                            errors: 0,
                            duration_seconds: 0.0,
                        });
                    entry.requests += count;
                    entry.errors += if failed { *count } else { 0 };
                    entry.duration_seconds += sum;
                }
                (POOL_CALLS_METRIC, StreamValue::Number(n)) => pool.calls += *n as u64,
                (POOL_CONNECTIONS_METRIC, StreamValue::Number(n)) => {
                    pool.connections_opened += *n as u64
                }
                _ => {}
            }
        }
        Self {
            service: service.to_owned(),
            collected_unix_nanos,
            routes: routes.into_values().collect(),
            pool,
        }
    }

    /// The figures of `method` `route`, if it served any request.
    pub fn route(&self, method: &str, route: &str) -> Option<&RouteFigures> {
        self.routes
            .iter()
            .find(|r| r.method == method && r.route == route)
    }
}
