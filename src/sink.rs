//! The trace sink: receiver (OTLP/HTTP + OTLP/gRPC, traces and metrics) + stores + query
//! API, started together. Standalone it listens on the standard ports (4317, 4318, 16686); embedded
//! (in-process driver, `minibank up`) it binds `127.0.0.1:0` and reports the ports.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::{MetricsStore, MetricsStoreConfig};
use crate::receiver::grpc::{GrpcMetricsReceiver, GrpcReceiver};
use crate::receiver::{DEFAULT_MAX_REQUEST_BYTES, http as otlp_http};
use crate::store::{StoreConfig, TraceStore};
use crate::{query, receiver};

/// How long [`RunningSink::shutdown`] lets in-flight requests finish.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// HTTP/2 flow-control windows of the gRPC receiver.
const GRPC_STREAM_WINDOW_BYTES: u32 = 1024 * 1024;
const GRPC_CONNECTION_WINDOW_BYTES: u32 = 4 * 1024 * 1024;

/// Where the sink listens and how big it may grow.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// OTLP/gRPC listen address (standard port 4317).
    pub otlp_grpc_addr: SocketAddr,
    /// OTLP/HTTP listen address (standard port 4318).
    pub otlp_http_addr: SocketAddr,
    /// Query API listen address (Jaeger's port 16686).
    pub query_addr: SocketAddr,
    /// Store limit.
    pub store: StoreConfig,
    /// Metrics store limit.
    pub metrics: MetricsStoreConfig,
    /// Largest accepted export request, compressed or decompressed.
    pub max_request_bytes: usize,
}

impl SinkConfig {
    /// Standard ports on 127.0.0.1: 4317 (gRPC), 4318 (HTTP), 16686 (query).
    pub fn standard() -> Self {
        Self {
            otlp_grpc_addr: SocketAddr::from(([127, 0, 0, 1], 4317)),
            otlp_http_addr: SocketAddr::from(([127, 0, 0, 1], 4318)),
            query_addr: SocketAddr::from(([127, 0, 0, 1], 16686)),
            store: StoreConfig::default(),
            metrics: MetricsStoreConfig::default(),
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
        }
    }

    /// Ephemeral ports on 127.0.0.1, for embedding in tests and drivers.
    pub fn ephemeral() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            otlp_grpc_addr: any,
            otlp_http_addr: any,
            query_addr: any,
            ..Self::standard()
        }
    }

    /// The same config with another span limit.
    pub fn with_max_spans(mut self, max_spans: usize) -> Self {
        self.store.max_spans = max_spans;
        self
    }
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self::ephemeral()
    }
}

/// Why the sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A listener could not bind.
    #[error("cannot bind the {what} listener on {addr}: {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Namespace for [`TraceSink::start`].
pub struct TraceSink;

impl TraceSink {
    /// Binds the three listeners and serves them in background tasks until
    /// [`RunningSink::shutdown`] (or drop, which stops them too).
    pub async fn start(config: SinkConfig) -> Result<RunningSink, SinkError> {
        let bind = |what: &'static str, addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| SinkError::Bind { what, addr, source })
        };
        let grpc_listener = bind("OTLP/gRPC", config.otlp_grpc_addr).await?;
        let http_listener = bind("OTLP/HTTP", config.otlp_http_addr).await?;
        let query_listener = bind("query", config.query_addr).await?;
        let local = |l: &TcpListener, what, addr| {
            l.local_addr()
                .map_err(|source| SinkError::Bind { what, addr, source })
        };
        let grpc_addr = local(&grpc_listener, "OTLP/gRPC", config.otlp_grpc_addr)?;
        let http_addr = local(&http_listener, "OTLP/HTTP", config.otlp_http_addr)?;
        let query_addr = local(&query_listener, "query", config.query_addr)?;

        let store = Arc::new(TraceStore::new(config.store));
        let metrics = Arc::new(MetricsStore::new(config.metrics));
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            // Resolves on `true` or when the sender is dropped.
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let mut tasks = Vec::new();
        let http_app = otlp_http::router(
            Arc::clone(&store),
            Arc::clone(&metrics),
            config.max_request_bytes,
        );
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(http_listener, http_app)
                .with_graceful_shutdown(stopped(rx))
                .await
            {
                tracing::error!(error = %e, "OTLP/HTTP receiver stopped");
            }
        }));
        let query_app = query::router(Arc::clone(&store), Arc::clone(&metrics));
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = axum::serve(query_listener, query_app)
                .with_graceful_shutdown(stopped(rx))
                .await
            {
                tracing::error!(error = %e, "query API stopped");
            }
        }));
        let grpc_service =
            GrpcReceiver::new(Arc::clone(&store)).into_service(config.max_request_bytes);
        let grpc_metrics =
            GrpcMetricsReceiver::new(Arc::clone(&metrics)).into_service(config.max_request_bytes);
        let rx = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(grpc_listener);
            if let Err(e) = tonic::transport::Server::builder()
                // Exporters send batches of tens to hundreds of KiB; HTTP/2's default 64 KiB
                // windows would make each one wait for window updates.
                .initial_stream_window_size(GRPC_STREAM_WINDOW_BYTES)
                .initial_connection_window_size(GRPC_CONNECTION_WINDOW_BYTES)
                .add_service(grpc_service)
                .add_service(grpc_metrics)
                .serve_with_incoming_shutdown(incoming, stopped(rx))
                .await
            {
                tracing::error!(error = %e, "OTLP/gRPC receiver stopped");
            }
        }));
        tracing::info!(%grpc_addr, %http_addr, %query_addr, "trace sink listening");
        Ok(RunningSink {
            grpc_addr,
            http_addr,
            query_addr,
            store,
            metrics,
            stop: stop_tx,
            tasks,
        })
    }
}

/// A started sink. Dropping it stops the servers (without waiting); prefer
/// [`RunningSink::shutdown`], which waits for in-flight requests to finish.
pub struct RunningSink {
    grpc_addr: SocketAddr,
    http_addr: SocketAddr,
    query_addr: SocketAddr,
    store: Arc<TraceStore>,
    metrics: Arc<MetricsStore>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSink")
            .field("otlp_grpc", &self.grpc_addr)
            .field("otlp_http", &self.http_addr)
            .field("query", &self.query_addr)
            .finish()
    }
}

impl RunningSink {
    /// OTLP/HTTP base URL, e.g. `http://127.0.0.1:4318` (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn otlp_http_endpoint(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Full OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`
    /// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub fn otlp_traces_url(&self) -> String {
        format!("http://{}{}", self.http_addr, receiver::http::TRACES_PATH)
    }

    /// Full OTLP/HTTP metrics URL, e.g. `http://127.0.0.1:4318/v1/metrics`
    /// (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub fn otlp_metrics_url(&self) -> String {
        format!("http://{}{}", self.http_addr, receiver::http::METRICS_PATH)
    }

    /// OTLP/gRPC endpoint, e.g. `http://127.0.0.1:4317`.
    pub fn otlp_grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Query API base URL (Jaeger api_v3 shape), e.g. `http://127.0.0.1:16686`.
    pub fn query_url(&self) -> String {
        format!("http://{}", self.query_addr)
    }

    /// The bound OTLP/gRPC address.
    pub fn otlp_grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The bound OTLP/HTTP address.
    pub fn otlp_http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The bound query API address.
    pub fn query_addr(&self) -> SocketAddr {
        self.query_addr
    }

    /// The store every receiver writes into.
    pub fn store(&self) -> Arc<TraceStore> {
        Arc::clone(&self.store)
    }

    /// The metrics store every receiver writes into.
    pub fn metrics(&self) -> Arc<MetricsStore> {
        Arc::clone(&self.metrics)
    }

    /// An in-memory fetcher over [`RunningSink::store`] (notified, never polling).
    pub fn fetcher(&self) -> crate::fetch::InMemoryFetcher {
        crate::fetch::InMemoryFetcher::new(self.store())
    }

    /// Stops accepting connections, lets in-flight requests finish, and waits for the
    /// servers to exit; after [`SHUTDOWN_GRACE`] whatever is still running is aborted, so
    /// a client that never lets go cannot hold shutdown up.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        for mut task in self.tasks.drain(..) {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "trace sink task failed"),
                Err(_) => {
                    tracing::warn!(
                        "trace sink server still busy after the grace period; aborting it"
                    );
                    task.abort();
                }
            }
        }
    }

    /// Serves until `signal` resolves (for the standalone binary: Ctrl-C), then shuts
    /// down gracefully.
    pub async fn stop_on(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.shutdown().await;
    }
}

impl Drop for RunningSink {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
