//! The innermost service of the stack: [`Transport`] sends an [`RpcCall`] with the process's
//! shared `reqwest::Client` (one connection pool per process) and reads the whole answer.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::Service;

use super::call::RpcCall;
use super::error::RpcError;
use super::pool::PoolStats;
use super::response::RpcResponse;

/// Sends calls to one target. Every status is a response; only transport failures are errors
/// ([`RpcError::Unreachable`] when the request never left, [`RpcError::Transport`] when it may
/// have).
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
    type Error = RpcError;
    type Future = BoxFuture<'static, Result<RpcResponse, RpcError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
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
                if error.is_connect() {
                    RpcError::Unreachable { target, message }
                } else {
                    RpcError::Transport { target, message }
                }
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
