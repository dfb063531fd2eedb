//! What each container is: image, command, labels, network and the environment variables that
//! configure it (services/API.md "Configuration"; the same variables `deploy/k8s` sets).
//! A service's SQLite files live in its container's own file system, so they survive a stop and
//! start and go away with the container; except those of the services that can have replicas
//! ([`REPLICABLE`]), which live in a volume of the run that every replica mounts.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use testcontainers::{ContainerRequest, GenericImage, ImageExt as _, core::Mount};

use super::{images::Images, run::RunId};
use crate::OperatorCredentials;

/// The port every service listens on inside its container.
pub const SERVICE_PORT: u16 = 8080;
/// The collector's OTLP/HTTP port, where services export.
pub const COLLECTOR_HTTP_PORT: u16 = 4318;

/// What every service of one run shares.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    /// The bootstrap operator (given to auth).
    pub operator: OperatorCredentials,
    /// Token signing key (given to auth only).
    pub token_signing_key: String,
    /// The provider stand-in's URL, reachable from the containers.
    pub provider_url: String,
    /// How long payments waits for the provider before asking for the transfer's status.
    pub provider_timeout: Duration,
    /// The services' batch span processor delay.
    pub export_delay: Duration,
    /// The key webhooks seals signing secrets with (32 bytes, base64; given to webhooks only).
    pub webhook_secret_key: String,
    /// webhooks' allow-list: the merchant stand-ins, on the network's gateway, ephemeral ports.
    pub webhook_allowed_destinations: String,
}

/// The port of each service's fault-control endpoint (`MINIBANK_FAULT_CONTROL_BIND`), which
/// the driver turns on: how it injects call faults and reads circuits.
pub const FAULT_CONTROL_PORT: u16 = 8079;

/// How often the services resolve their peers' names again (service discovery by DNS): short,
/// so a replica added or removed is followed within a step.
pub const DNS_REFRESH: Duration = Duration::from_millis(100);

/// The services whose replicas may be added while the platform runs (those without background
/// workers, which would contend over one database); their replicas share one data volume.
pub const REPLICABLE: [&str; 2] = ["ledger", "auth"];

/// `http://<service>:8080`: how the services reach `service` on the run's network. The name is
/// a network alias every replica of the service carries, so it resolves to all of them.
pub fn internal_url(service: &str) -> String {
    format!("http://{service}:{SERVICE_PORT}")
}

/// The Docker volume holding `service`'s SQLite files when its replicas share them
/// ([`REPLICABLE`]); other services keep theirs in the container's own file system.
pub fn data_volume(run: &RunId, service: &str) -> Option<String> {
    REPLICABLE
        .contains(&service)
        .then(|| run.name_of(&format!("{service}-data")))
}

/// Retries and timeouts of every service container, as the in-process platform's for tests:
/// webhook retries in milliseconds, circuits open for 250 ms, retries 5 ms apart, edge
/// health-checks replicas every 50 ms. The analysts' glossary shows them (`crate::timings`).
pub const TIMINGS: [(&str, &str); 5] = [
    ("MINIBANK_WEBHOOK_RETRY_SCHEDULE", "20ms,40ms,80ms"),
    ("MINIBANK_BREAKER_FAILURES", "5"),
    ("MINIBANK_BREAKER_OPEN_FOR", "250ms"),
    ("MINIBANK_RETRY_BACKOFF", "5ms"),
    ("MINIBANK_HEALTH_CHECK_INTERVAL", "50ms"),
];

/// The container of one minibank service: `minibank serve <service>`.
pub fn service(
    images: &Images,
    run: &RunId,
    network: &str,
    service: &str,
    settings: &PlatformSettings,
) -> ContainerRequest<GenericImage> {
    replica(images, run, network, service, 1, settings)
}

/// The container of replica number `ordinal` of a minibank service (1: the one started at
/// boot, named after the service; 2 and up: `<service>-<ordinal>`).
pub fn replica(
    images: &Images,
    run: &RunId,
    network: &str,
    service: &str,
    ordinal: usize,
    settings: &PlatformSettings,
) -> ContainerRequest<GenericImage> {
    let component = match ordinal {
        1 => service.to_owned(),
        n => format!("{service}-{n}"),
    };
    let mut env: Vec<(&str, String)> = vec![
        ("MINIBANK_BIND", format!("0.0.0.0:{SERVICE_PORT}")),
        (
            "MINIBANK_DATABASE_URL",
            format!("sqlite:///data/{service}.db"),
        ),
        ("MINIBANK_AUTH_URL", internal_url("auth")),
        ("MINIBANK_LEDGER_URL", internal_url("ledger")),
        ("MINIBANK_PAYMENTS_URL", internal_url("payments")),
        ("MINIBANK_WEBHOOKS_URL", internal_url("webhooks")),
        ("MINIBANK_PROVIDER_URL", settings.provider_url.clone()),
        (
            "MINIBANK_PROVIDER_TIMEOUT",
            format!("{}ms", settings.provider_timeout.as_millis()),
        ),
        // As the in-process platform for tests: every service's test timings (the same
        // `Service::for_tests` the in-process platform applies), no token cache. Retries and
        // timeouts: [`TIMINGS`], added below.
        ("MINIBANK_TEST_TIMINGS", "true".to_owned()),
        ("MINIBANK_INTROSPECTION_CACHE_TTL", "0s".to_owned()),
        ("MINIBANK_PROPAGATION_PROBE", "false".to_owned()),
        // Peers re-resolved every 100 ms; and the fault-control endpoint on, for this driver only.
        (
            "MINIBANK_DNS_REFRESH",
            format!("{}ms", DNS_REFRESH.as_millis()),
        ),
        (
            "MINIBANK_FAULT_CONTROL_BIND",
            format!("0.0.0.0:{FAULT_CONTROL_PORT}"),
        ),
        ("OTEL_SERVICE_NAME", service.to_owned()),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!(
                "http://{}:{COLLECTOR_HTTP_PORT}",
                run.name_of(crate::COLLECTOR)
            ),
        ),
        // Metrics to the collector too (it forwards them to the sink), collected often so a
        // step reading them waits briefly.
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            format!(
                "http://{}:{COLLECTOR_HTTP_PORT}/v1/metrics",
                run.name_of(crate::COLLECTOR)
            ),
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "200".to_owned()),
        // Scenarios run side by side; each reads the figures of its own requests.
        ("MINIBANK_METRICS_BY_SCENARIO", "true".to_owned()),
        (
            "OTEL_BSP_SCHEDULE_DELAY",
            settings.export_delay.as_millis().to_string(),
        ),
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    env.extend(
        TIMINGS
            .iter()
            .map(|(key, value)| (*key, (*value).to_owned())),
    );
    if service == "auth" {
        env.extend([
            (
                "MINIBANK_TOKEN_SIGNING_KEY",
                settings.token_signing_key.clone(),
            ),
            (
                "MINIBANK_OPERATOR_CLIENT_ID",
                settings.operator.client_id.clone(),
            ),
            (
                "MINIBANK_OPERATOR_CLIENT_SECRET",
                settings.operator.client_secret.clone(),
            ),
        ]);
    }
    if service == "webhooks" {
        env.extend([
            (
                "MINIBANK_WEBHOOK_SECRET_KEY",
                settings.webhook_secret_key.clone(),
            ),
            (
                "MINIBANK_WEBHOOK_ALLOWED_DESTINATIONS",
                settings.webhook_allowed_destinations.clone(),
            ),
        ]);
    }
    let (name, tag) = split_image(&images.minibank);
    let mut request = GenericImage::new(name, tag)
        .with_cmd(["serve", service])
        .with_container_name(run.name_of(&component))
        .with_network(network)
        .with_labels(run.labels())
        .with_label("org.minibank.component", component);
    if let Some(volume) = data_volume(run, service) {
        request = request.with_mount(Mount::volume_mount(volume, "/data"));
    }
    for (key, value) in env {
        request = request.with_env_var(key, value);
    }
    request
}

/// The collector container: OTLP in (gRPC 4317, HTTP 4318) from the services, OTLP/gRPC out to
/// the harness's trace sink at `sink_grpc` (traces and metrics alike: rotel's OTLP exporter
/// sends every signal to its endpoint).
pub fn collector(
    images: &Images,
    run: &RunId,
    network: &str,
    sink_grpc: SocketAddr,
) -> ContainerRequest<GenericImage> {
    let env = HashMap::from([
        ("ROTEL_OTLP_GRPC_ENDPOINT", "0.0.0.0:4317".to_owned()),
        (
            "ROTEL_OTLP_HTTP_ENDPOINT",
            format!("0.0.0.0:{COLLECTOR_HTTP_PORT}"),
        ),
        ("ROTEL_EXPORTER", "otlp".to_owned()),
        (
            "ROTEL_OTLP_EXPORTER_ENDPOINT",
            format!("http://{sink_grpc}"),
        ),
        ("ROTEL_OTLP_EXPORTER_PROTOCOL", "grpc".to_owned()),
        // Forward quickly: a trace settles once no span arrived for a quiet period.
        ("ROTEL_BATCH_TIMEOUT", "50ms".to_owned()),
        ("ROTEL_LOG_FORMAT", "json".to_owned()),
    ]);
    let (name, tag) = split_image(&images.collector);
    let mut request = GenericImage::new(name, tag)
        .with_cmd(["start"])
        .with_container_name(run.name_of(crate::COLLECTOR))
        .with_network(network)
        .with_labels(run.labels())
        .with_label("org.minibank.component", crate::COLLECTOR);
    for (key, value) in env {
        request = request.with_env_var(key, value);
    }
    request
}

fn split_image(image: &str) -> (&str, &str) {
    image.rsplit_once(':').unwrap_or((image, "latest"))
}
