//! What flows through the RPC stack ([`RpcCall`]) and its innermost service, the HTTP
//! [`Transport`] on the process's shared `reqwest::Client` (one connection pool per process).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, Method};
use tower::{BoxError, Service};

use super::client::{RpcError, RpcResponse};
use super::pool::PoolStats;

/// One attempt of one call, as the layers of the stack see it. Cheap to clone (the body is
/// reference counted), so the retry layer can resend it.
#[derive(Clone, Debug)]
pub struct RpcCall {
    /// HTTP method.
    pub method: Method,
    /// The full URL.
    pub url: reqwest::Url,
    /// Headers, trace context and deadline already injected.
    pub headers: HeaderMap,
    /// The body, if any.
    pub body: Option<Bytes>,
    /// May this call be sent twice without a second effect (RFC 9110 idempotent methods, or a
    /// call the caller marked idempotent)? Only such calls are retried.
    pub idempotent: bool,
    /// How many times this call was resent (set by the retry policy, read for the span).
    pub resends: Arc<AtomicU32>,
    /// When the caller stops waiting: min(call timeout, propagated deadline) from the start.
    pub deadline: tokio::time::Instant,
    /// The timeout that deadline came from (for the error message).
    pub timeout: std::time::Duration,
}

impl RpcCall {
    /// Path and query, which fault rules match on.
    pub fn path_and_query(&self) -> String {
        match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        }
    }

    /// How many times the call was resent so far.
    pub fn resend_count(&self) -> u32 {
        self.resends.load(Ordering::Relaxed)
    }
}

/// The innermost service: sends the call with `reqwest` and reads the whole answer. Every
/// status is a response; only transport failures are errors ([`RpcError::Unreachable`] when
/// the request never left, [`RpcError::Transport`] when it may have).
#[derive(Clone, Debug)]
pub struct Transport {
    http: reqwest::Client,
    target: Arc<str>,
    pool: PoolStats,
}

impl Transport {
    /// A transport to `target` on the shared client `http`, counting its calls in `pool`.
    pub fn new(http: reqwest::Client, target: &str, pool: PoolStats) -> Self {
        Self {
            http,
            target: target.into(),
            pool,
        }
    }
}

impl Service<RpcCall> for Transport {
    type Response = RpcResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<RpcResponse, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // reqwest queues internally; the pool never refuses a request.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: RpcCall) -> Self::Future {
        self.pool.count_call();
        let mut builder = self
            .http
            .request(call.method, call.url)
            .headers(call.headers);
        if let Some(body) = call.body {
            builder = builder.body(body);
        }
        let target = self.target.clone();
        Box::pin(async move {
            let exchange = async {
                let response = builder.send().await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>(RpcResponse {
                    status,
                    headers,
                    body,
                })
            };
            exchange.await.map_err(|error| {
                let message = error_chain(&error);
                let target = target.to_string();
                let error = if error.is_connect() {
                    RpcError::Unreachable { target, message }
                } else {
                    RpcError::Transport { target, message }
                };
                BoxError::from(error)
            })
        })
    }
}

/// The error and its sources in one line (reqwest's top-level message hides the cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
