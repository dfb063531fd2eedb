//! Telemetry: one OpenTelemetry tracer provider per service, and JSON logs.
//!
//! Why not a process-global tracer: the in-process platform runs five services in one process and
//! each must report under its own `service.name`. So every service builds a [`Telemetry`] from its
//! [`TelemetrySettings`] and passes it explicitly (to the RPC server layer and to its RPC clients,
//! which are where spans are made).
//!
//! Export is OTLP/HTTP (protobuf) through a bounded queue that never blocks the request path:
//! when the collector is down or slow, spans are dropped and counted ([`Telemetry::dropped_spans`]).
//!
//! Logs: services only emit `tracing` events; the binary installs the JSON subscriber with
//! [`init_logging`], the in-process test driver installs its own. Request log lines carry
//! `trace_id`, `span_id` and `service` because the RPC server layer enters a `tracing` span with
//! those fields around every request.

mod export;
mod json_logs;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanExporter};

pub use export::ExportStats;
pub use json_logs::JsonLogLayer;
pub use metrics::{
    POOL_CALLS, POOL_CONNECTIONS_OPENED, REQUEST_DURATION, SCENARIO_LABEL, ServiceMetrics,
};

use crate::config::{env_parsed, env_var, parse_bool, parse_duration};

/// How a service's spans are named and exported.
#[derive(Clone, Debug)]
pub struct TelemetrySettings {
    /// `service.name` of every span this service makes (e.g. `payments`).
    pub service_name: String,
    /// `service.instance.id`; distinguishes replicas and restarts. Random UUID by default.
    pub instance_id: String,
    /// Full OTLP/HTTP traces URL (e.g. `http://127.0.0.1:4318/v1/traces`); `None` = do not export.
    pub otlp_traces_endpoint: Option<String>,
    /// How long the exporter waits to batch spans before sending (`OTEL_BSP_SCHEDULE_DELAY`).
    pub export_delay: Duration,
    /// Spans queued for export at most; more are dropped and counted (`OTEL_BSP_MAX_QUEUE_SIZE`).
    pub max_queue_size: usize,
    /// Spans per export request at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub max_batch_size: usize,
    /// One export request may take this long before its spans are dropped (`OTEL_BSP_EXPORT_TIMEOUT`).
    pub export_timeout: Duration,
    /// Full OTLP/HTTP metrics URL (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`); `None` = no
    /// metrics are exported (nor recorded).
    pub otlp_metrics_endpoint: Option<String>,
    /// How often metrics are exported (`OTEL_METRIC_EXPORT_INTERVAL`, milliseconds).
    pub metrics_interval: Duration,
    /// Label request figures with the scenario the request was made for (the
    /// `minibank.scenario` baggage member) (`MINIBANK_METRICS_BY_SCENARIO`): for test
    /// platforms, where scenarios run side by side and each reads the figures of its own
    /// requests. Off by default: in production an unbounded label would only cost.
    pub metrics_by_scenario: bool,
}

impl TelemetrySettings {
    /// Settings for one service, exporting to `otlp_traces_endpoint` (None = no export) with the
    /// given batching delay.
    pub fn new(
        service_name: impl Into<String>,
        otlp_traces_endpoint: Option<String>,
        export_delay: Duration,
    ) -> Self {
        Self {
            service_name: service_name.into(),
            instance_id: uuid::Uuid::new_v4().to_string(),
            otlp_traces_endpoint,
            export_delay,
            max_queue_size: 4096,
            max_batch_size: 512,
            export_timeout: Duration::from_secs(5),
            otlp_metrics_endpoint: None,
            metrics_interval: Duration::from_secs(60),
            metrics_by_scenario: false,
        }
    }

    /// Settings from the standard `OTEL_*` variables, for a process that runs one service:
    /// `OTEL_SERVICE_NAME` (else `default_service_name`), `OTEL_SDK_DISABLED`,
    /// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (full URL) or `OTEL_EXPORTER_OTLP_ENDPOINT` (base URL,
    /// `/v1/traces` is appended), `OTEL_BSP_SCHEDULE_DELAY` / `OTEL_BSP_EXPORT_TIMEOUT` (milliseconds),
    /// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
    /// With no endpoint variable set nothing is exported (minibank does not guess a collector).
    pub fn from_env(default_service_name: &str) -> anyhow::Result<Self> {
        let service_name =
            env_var("OTEL_SERVICE_NAME").unwrap_or_else(|| default_service_name.to_owned());
        let disabled = env_parsed("OTEL_SDK_DISABLED", parse_bool)?.unwrap_or(false);
        let endpoint = if disabled {
            None
        } else {
            env_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
                env_var("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
            })
        };
        let mut settings = Self::new(service_name, endpoint, Duration::from_millis(500));
        if let Some(delay) = env_parsed("OTEL_BSP_SCHEDULE_DELAY", parse_millis)? {
            settings.export_delay = delay;
        }
        if let Some(timeout) = env_parsed("OTEL_BSP_EXPORT_TIMEOUT", parse_millis)? {
            settings.export_timeout = timeout;
        }
        if let Some(size) = env_parsed("OTEL_BSP_MAX_QUEUE_SIZE", parse_count)? {
            settings.max_queue_size = size;
        }
        if let Some(size) = env_parsed("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", parse_count)? {
            settings.max_batch_size = size;
        }
        // Only an explicit metrics endpoint: a traces-only collector must not get metrics.
        if !disabled {
            settings.otlp_metrics_endpoint = env_var("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        }
        if let Some(interval) = env_parsed("OTEL_METRIC_EXPORT_INTERVAL", parse_millis)? {
            settings.metrics_interval = interval;
        }
        settings.metrics_by_scenario =
            env_parsed("MINIBANK_METRICS_BY_SCENARIO", parse_bool)?.unwrap_or(false);
        Ok(settings)
    }
}

/// `OTEL_BSP_*` durations are integer milliseconds by the spec; `50ms`-style is accepted too.
fn parse_millis(text: &str) -> anyhow::Result<Duration> {
    match text.trim().parse::<u64>() {
        Ok(millis) => Ok(Duration::from_millis(millis)),
        Err(_) => parse_duration(text),
    }
}

fn parse_count(text: &str) -> anyhow::Result<usize> {
    let count: usize = text
        .trim()
        .parse()
        .with_context(|| format!("`{text}` is not a count"))?;
    anyhow::ensure!(count > 0, "must be at least 1");
    Ok(count)
}

/// One service's tracing: its tracer provider, its tracer and export statistics. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service_name: String,
    instance_id: String,
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    stats: Arc<ExportStats>,
    control: Option<export::ExportControl>,
    metrics: ServiceMetrics,
}

impl Telemetry {
    /// Builds the tracer provider for one service and, when an endpoint is configured, starts its
    /// OTLP/HTTP export task on the current tokio runtime (an error outside one).
    pub fn init(settings: &TelemetrySettings) -> anyhow::Result<Self> {
        match &settings.otlp_traces_endpoint {
            None => Ok(Self::build(settings)),
            Some(endpoint) => {
                let http = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .context("building the OTLP HTTP client")?;
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(http)
                    // One quick retry for a hiccup; a collector that stays down costs spans (the
                    // bounded queue drops them), never time on the export path.
                    .with_retry_policy(
                        opentelemetry_otlp::RetryPolicy::recommended()
                            .with_max_retries(1)
                            .with_initial_delay(Duration::from_millis(20))
                            .with_max_delay(Duration::from_millis(100))
                            .with_max_jitter(Duration::from_millis(10)),
                    )
                    .with_endpoint(endpoint.clone())
                    .with_timeout(settings.export_timeout)
                    .build()
                    .with_context(|| format!("building the OTLP exporter for {endpoint}"))?;
                Self::with_exporter(settings, exporter)
            }
        }
    }

    /// Like [`Telemetry::init`] but exporting to any [`SpanExporter`] (tests use an in-memory one).
    /// Fails outside a tokio runtime: the export task is spawned on it.
    pub fn with_exporter<E: SpanExporter + 'static>(
        settings: &TelemetrySettings,
        exporter: E,
    ) -> anyhow::Result<Self> {
        let resource = resource_of(settings);
        let stats = Arc::new(ExportStats::default());
        let (processor, control) =
            export::start(exporter, &resource, settings_batch(settings), stats.clone())?;
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_span_processor(processor)
            .build();
        Ok(Self::assemble(settings, provider, stats, Some(control)))
    }

    /// A provider that makes spans (so ids propagate) but exports nothing.
    pub fn disabled(service_name: &str) -> Self {
        Self::build(&TelemetrySettings::new(service_name, None, Duration::ZERO))
    }

    fn build(settings: &TelemetrySettings) -> Self {
        let provider = SdkTracerProvider::builder()
            .with_resource(resource_of(settings))
            .build();
        Self::assemble(settings, provider, Arc::new(ExportStats::default()), None)
    }

    fn assemble(
        settings: &TelemetrySettings,
        provider: SdkTracerProvider,
        stats: Arc<ExportStats>,
        control: Option<export::ExportControl>,
    ) -> Self {
        let tracer = provider.tracer("minibank");
        let metrics = match &settings.otlp_metrics_endpoint {
            Some(endpoint) => {
                ServiceMetrics::exported(endpoint, resource_of(settings), settings.metrics_interval)
                    .map(|metrics| metrics.by_scenario(settings.metrics_by_scenario))
                    .unwrap_or_else(|error| {
                        tracing::warn!(error = format!("{error:#}"), "metrics not exported");
                        ServiceMetrics::disabled()
                    })
            }
            None => ServiceMetrics::disabled(),
        };
        Self {
            inner: Arc::new(Inner {
                metrics,
                service_name: settings.service_name.clone(),
                instance_id: settings.instance_id.clone(),
                provider,
                tracer,
                stats,
                control,
            }),
        }
    }

    /// The tracer every span of this service is started with.
    pub fn tracer(&self) -> &SdkTracer {
        &self.inner.tracer
    }

    /// The provider (for callers that need another tracer scope).
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.inner.provider
    }

    /// `service.name` of this service's spans.
    pub fn service_name(&self) -> &str {
        &self.inner.service_name
    }

    /// `service.instance.id` of this service's spans.
    pub fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// This service's metrics (request histogram, connection-pool counters).
    pub fn metrics(&self) -> &ServiceMetrics {
        &self.inner.metrics
    }

    /// Spans exported and dropped so far.
    pub fn stats(&self) -> &ExportStats {
        &self.inner.stats
    }

    /// Spans dropped so far because the queue was full or the collector failed or was slow.
    pub fn dropped_spans(&self) -> u64 {
        self.inner.stats.dropped()
    }

    /// Exports every span ended so far and waits (at most `timeout`) for that to finish.
    /// Returns false when the export did not finish in time or nothing is exported.
    pub async fn flush(&self, timeout: Duration) -> bool {
        match &self.inner.control {
            Some(control) => control.flush(timeout).await,
            None => false,
        }
    }

    /// Flushes what is queued (bounded by `timeout`) and stops the export task.
    pub async fn shutdown(&self, timeout: Duration) {
        self.inner.metrics.shutdown().await;
        if let Some(control) = &self.inner.control {
            control.flush(timeout).await;
            control.stop();
        }
    }
}

fn resource_of(settings: &TelemetrySettings) -> Resource {
    Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attribute(KeyValue::new(
            "service.instance.id",
            settings.instance_id.clone(),
        ))
        .build()
}

fn settings_batch(settings: &TelemetrySettings) -> export::BatchSettings {
    export::BatchSettings {
        delay: settings.export_delay,
        max_queue_size: settings.max_queue_size,
        max_batch_size: settings.max_batch_size,
        export_timeout: settings.export_timeout,
    }
}

/// Installs the process-wide JSON log subscriber for the `minibank` binary: one JSON object per
/// line on stdout ([`JsonLogLayer`]), with the fields of the enclosing spans at the top level, so
/// request lines carry `trace_id`, `span_id` and `service`. The level comes from `RUST_LOG`
/// (default `info`). Services never call this themselves: the in-process test driver installs
/// its own subscriber.
pub fn init_logging() -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(JsonLogLayer::new(std::io::stdout))
        .try_init()
        .map_err(|err| anyhow::anyhow!("installing the log subscriber: {err}"))
}
