//! `trace-sink`: the harness's OTLP trace sink on its own.
//! Receives OTLP/gRPC and OTLP/HTTP (traces and metrics), keeps them in memory, serves a
//! Jaeger api_v3-shaped query API (plus `/api/sink/metrics/{service}`). Thin: flags, logging, then `TraceSink::start`.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;
use harness::metrics::MetricsStoreConfig;
use harness::receiver::DEFAULT_MAX_REQUEST_BYTES;
use harness::sink::{SinkConfig, TraceSink};
use harness::store::StoreConfig;

/// OTLP trace sink with a Jaeger-style query API.
#[derive(Debug, Parser)]
#[command(name = "trace-sink", version)]
struct Flags {
    /// OTLP/gRPC listen address.
    #[arg(long, env = "TRACE_SINK_GRPC_ADDR", default_value = "127.0.0.1:4317")]
    grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address.
    #[arg(long, env = "TRACE_SINK_HTTP_ADDR", default_value = "127.0.0.1:4318")]
    http_addr: SocketAddr,
    /// Query API listen address.
    #[arg(long, env = "TRACE_SINK_QUERY_ADDR", default_value = "127.0.0.1:16686")]
    query_addr: SocketAddr,
    /// Most spans kept in memory; the oldest traces are evicted beyond it.
    #[arg(long, env = "TRACE_SINK_MAX_SPANS", default_value_t = StoreConfig::DEFAULT_MAX_SPANS)]
    max_spans: usize,
    /// Most bytes of spans kept in memory (estimated); the oldest traces are evicted beyond it.
    #[arg(long, env = "TRACE_SINK_MAX_BYTES", default_value_t = StoreConfig::DEFAULT_MAX_BYTES)]
    max_bytes: usize,
    /// Most metric streams kept (service, instance, metric, attributes); new ones beyond it
    /// are rejected.
    #[arg(long, env = "TRACE_SINK_MAX_METRIC_STREAMS", default_value_t = MetricsStoreConfig::default().max_streams)]
    max_metric_streams: usize,
    /// Largest accepted export request in bytes (compressed or decompressed).
    #[arg(long, env = "TRACE_SINK_MAX_REQUEST_BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let flags = Flags::parse();
    let sink = TraceSink::start(SinkConfig {
        otlp_grpc_addr: flags.grpc_addr,
        otlp_http_addr: flags.http_addr,
        query_addr: flags.query_addr,
        store: StoreConfig {
            max_spans: flags.max_spans,
            max_bytes: flags.max_bytes,
        },
        metrics: MetricsStoreConfig {
            max_streams: flags.max_metric_streams,
        },
        max_request_bytes: flags.max_request_bytes,
    })
    .await?;
    let stop = stop_signal()?;
    // Both lines in one write, and a closed stdout is no reason to stop serving: a reader
    // that keeps only the first line must not make the second fail (a broken pipe).
    let banner = format!(
        "trace-sink: OTLP/gRPC {}  OTLP/HTTP {}  query {}\n\
         trace-sink: waterfalls at {query}/traces (recent) and {query}/trace/<trace_id>\n",
        sink.otlp_grpc_endpoint(),
        sink.otlp_traces_url(),
        sink.query_url(),
        query = sink.query_url()
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    sink.stop_on(stop).await;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what Kubernetes and Docker send on stop).
/// The SIGTERM handler is installed when this is called, not when first polled, so a
/// signal that arrives right after the startup line is not missed.
fn stop_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        let terminated = terminate.recv();
        #[cfg(not(unix))]
        let terminated = std::future::pending::<Option<()>>();
        tokio::select! {
            result = tokio::signal::ctrl_c() => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "cannot listen for Ctrl-C; stopping");
                }
            }
            _ = terminated => {}
        }
        tracing::info!("stopping the trace sink");
    })
}
