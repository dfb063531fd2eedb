//! [`PlatformConfig`]: how the in-process platform runs (addresses, telemetry, the operator,
//! timings). A leaf of the platform: the service seam reads it to derive each service's
//! in-process settings, and [`super::start`] runs with it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{OperatorCredentials, Secret};
use crate::rpc::{
    BreakerSettings, CircuitRegistry, FaultInjector, HealthChecks, HealthRegistry, PoolStats,
    Resilience, RetrySettings,
};
use crate::webhooks::destination::DestinationPolicy;
use crate::webhooks::sealed_secret::SecretKey;

/// How to run the platform.
#[derive(Clone, Debug)]
pub struct PlatformConfig {
    /// One SQLite file per service inside (created if missing).
    pub data_dir: PathBuf,
    /// Where edge listens (`127.0.0.1:0` for an ephemeral port).
    pub edge_addr: SocketAddr,
    /// External bank provider base URL (wiremock in tests).
    pub provider_url: String,
    /// Full OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`; `None` = no export.
    pub otlp_traces_endpoint: Option<String>,
    /// Full OTLP/HTTP metrics URL, e.g. `http://127.0.0.1:4318/v1/metrics`; `None` = no
    /// metrics export.
    pub otlp_metrics_endpoint: Option<String>,
    /// How often every service exports its metrics (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub metrics_interval: Duration,
    /// Label request figures with their scenario (`TelemetrySettings::metrics_by_scenario`).
    pub metrics_by_scenario: bool,
    /// Batch schedule delay of every service's span export (in-process: a few ms).
    pub export_delay: Duration,
    /// The bootstrap operator client.
    pub operator: OperatorCredentials,
    /// Webhook delivery retry schedule.
    pub webhook_retry_schedule: Vec<Duration>,
    /// Where webhooks may deliver: public destinations and these exceptions (for tests: the
    /// merchant stand-ins on `127.0.0.1`, ephemeral ports).
    pub webhook_destinations: DestinationPolicy,
    /// The key webhook signing secrets are sealed with at rest.
    pub webhook_secret_key: SecretKey,
    /// How long one provider call may take before its outcome counts as unknown.
    pub provider_timeout: Duration,
    /// Serve `POST /test` at edge (W3C trace-context test service).
    pub propagation_probe: bool,
    /// HS256 key for auth's tokens.
    pub token_signing_key: Secret,
    /// How long edge reuses a token introspection (zero: ask auth on every request, so every
    /// trace shows the token check).
    pub introspection_cache_ttl: Duration,
    /// Millisecond backoffs and sweeps inside the services (tests), instead of production ones.
    pub test_timings: bool,
    /// Retry, circuit-breaking and fault settings of every RPC client (its fault injector is
    /// the one [`RunningPlatform::faults`] controls).
    pub resilience: Resilience,
}

impl PlatformConfig {
    /// Settings for tests: ephemeral edge port, fresh operator credentials and signing key,
    /// export batched every 5 ms, millisecond retry schedules, short provider timeout, no
    /// introspection cache, a fresh webhook secret key, webhooks allowed to the merchant
    /// stand-ins on loopback ([`DestinationPolicy::loopback_stand_ins`]).
    pub fn for_tests(
        data_dir: impl Into<PathBuf>,
        provider_url: impl Into<String>,
        otlp_traces_endpoint: Option<String>,
    ) -> Self {
        Self {
            data_dir: data_dir.into(),
            edge_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            provider_url: provider_url.into().trim_end_matches('/').to_owned(),
            otlp_traces_endpoint,
            otlp_metrics_endpoint: None,
            // Short, so a step reading the figures waits for a fresh collection briefly.
            metrics_interval: Duration::from_millis(100),
            // Scenarios run side by side; each reads the figures of its own requests.
            metrics_by_scenario: true,
            export_delay: Duration::from_millis(5),
            operator: OperatorCredentials::generate(),
            webhook_retry_schedule: vec![
                Duration::from_millis(20),
                Duration::from_millis(40),
                Duration::from_millis(80),
            ],
            webhook_destinations: DestinationPolicy::loopback_stand_ins(),
            webhook_secret_key: SecretKey::generate().0,
            provider_timeout: Duration::from_millis(300),
            propagation_probe: false,
            token_signing_key: Secret::new(hex::encode(rand::random::<[u8; 32]>())),
            introspection_cache_ttl: Duration::ZERO,
            test_timings: true,
            resilience: Resilience {
                // Short enough that a scenario waits for recovery in milliseconds; five
                // consecutive failures so that one slow provider answer cannot open it.
                breaker: BreakerSettings {
                    failure_threshold: 5,
                    open_for: Duration::from_millis(250),
                },
                retry: RetrySettings {
                    backoff: Duration::from_millis(5),
                    ..RetrySettings::default()
                },
                faults: FaultInjector::new(),
                circuits: CircuitRegistry::default(),
                health: HealthRegistry::default(),
                pool: PoolStats::default(),
                // Edge checks its upstreams' replicas every 50 ms: a replica that stops
                // answering is out of rotation within a scenario step.
                health_checks: Some(HealthChecks {
                    path: "/health/ready".to_owned(),
                    interval: Duration::from_millis(50),
                    timeout: Duration::from_millis(200),
                }),
                // Replicas come from `Discovery` here, and every peer URL is an address.
                dns_refresh: None,
            },
        }
    }
}
