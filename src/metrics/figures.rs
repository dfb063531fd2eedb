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
/// The label a test platform puts on request figures: the scenario the request was made for.
pub const SCENARIO_LABEL: &str = "minibank.scenario";

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
    /// The same, of the requests made for each scenario (by [`SCENARIO_LABEL`]; empty when
    /// the platform does not label its figures so).
    pub scenarios: BTreeMap<String, Vec<RouteFigures>>,
    /// Its RPC client's connection pool.
    pub pool: PoolFigures,
}

/// Route figures by method then route, while they are added up.
type Routes = BTreeMap<(String, String), RouteFigures>;

/// Adds `count` requests (`errors` of them failed, `seconds` spent) to `method` `route`.
fn add(routes: &mut Routes, method: &str, route: &str, count: u64, errors: u64, seconds: f64) {
    let entry = routes
        .entry((method.to_owned(), route.to_owned()))
        .or_insert_with(|| RouteFigures {
            method: method.to_owned(),
            route: route.to_owned(),
            requests: 0,
            errors: 0,
            duration_seconds: 0.0,
        });
    entry.requests += count;
    entry.errors += errors;
    entry.duration_seconds += seconds;
}

impl ServiceFigures {
    /// Adds up `streams` (all of one service).
    pub fn from_streams(
        service: &str,
        collected_unix_nanos: u64,
        streams: &[(StreamKey, StreamValue)],
    ) -> Self {
        let mut routes = Routes::new();
        let mut scenarios: BTreeMap<String, Routes> = BTreeMap::new();
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
                    let errors = if failed { *count } else { 0 };
                    if let Some(scenario) = attr(SCENARIO_LABEL) {
                        let served = scenarios.entry(scenario).or_default();
                        add(served, &method, &route, *count, errors, *sum);
                    }
                    add(&mut routes, &method, &route, *count, errors, *sum);
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
            scenarios: scenarios
                .into_iter()
                .map(|(scenario, routes)| (scenario, routes.into_values().collect()))
                .collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: &str, scenario: Option<&str>, count: u64) -> (StreamKey, StreamValue) {
        let mut attributes = BTreeMap::from([
            ("http.request.method".to_owned(), "GET".to_owned()),
            (
                "http.route".to_owned(),
                "/v1/accounts/{account_id}".to_owned(),
            ),
            ("http.response.status_code".to_owned(), status.to_owned()),
        ]);
        if let Some(scenario) = scenario {
            attributes.insert(SCENARIO_LABEL.to_owned(), scenario.to_owned());
        }
        let key = StreamKey {
            service: "edge".into(),
            instance: "1".into(),
            metric: REQUEST_DURATION_METRIC.into(),
            attributes,
        };
        (key, StreamValue::Distribution { count, sum: 0.5 })
    }

    #[test]
    fn each_scenario_has_its_own_figures_and_the_route_adds_them_all_up() {
        let streams = [
            request("200", Some("s1"), 3),
            request("503", Some("s1"), 1),
            request("200", Some("s2"), 5),
            request("200", None, 2),
        ];
        let figures = ServiceFigures::from_streams("edge", 0, &streams);
        let route = figures.route("GET", "/v1/accounts/{account_id}").unwrap();
        assert_eq!((route.requests, route.errors), (11, 1));
        let s1 = &figures.scenarios["s1"][0];
        assert_eq!((s1.requests, s1.errors), (4, 1));
        let s2 = &figures.scenarios["s2"][0];
        assert_eq!((s2.requests, s2.errors), (5, 0));
        assert_eq!(figures.scenarios.len(), 2);
    }
}
