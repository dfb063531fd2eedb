//! Connection pooling, made visible: every client of a process shares one `reqwest` pool, and
//! [`PoolStats`] counts the calls sent through it and the connections it had to open (a
//! connector layer sees each new connection), so reuse = calls − connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tower::{Layer, Service};

/// Calls sent and connections opened by one shared HTTP client. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct PoolStats {
    calls: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
}

impl PoolStats {
    /// Calls sent so far (every attempt, retries included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Connections opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The connector layer that counts new connections into these stats.
    pub fn connector_layer(&self) -> CountConnectionsLayer {
        CountConnectionsLayer {
            connections: self.connections.clone(),
        }
    }
}

/// Counts connection attempts of the connector it wraps.
#[derive(Clone, Debug)]
pub struct CountConnectionsLayer {
    connections: Arc<AtomicU64>,
}

impl<S> Layer<S> for CountConnectionsLayer {
    type Service = CountConnections<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountConnections {
            inner,
            connections: self.connections.clone(),
        }
    }
}

/// The service of [`CountConnectionsLayer`].
#[derive(Clone, Debug)]
pub struct CountConnections<S> {
    inner: S,
    connections: Arc<AtomicU64>,
}

impl<S, R> Service<R> for CountConnections<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.inner.call(request)
    }
}
