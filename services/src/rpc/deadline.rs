//! Timeouts: ends an attempt at the call's deadline (min of the call's timeout and the
//! deadline the caller propagated) with [`RpcError::Timeout`]. A layer rather than a timer
//! around the stack, so the circuit breaker above it sees a target that stops answering as a
//! failure, and a hang injected below it ends like a real one.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::{BoxError, Layer, Service};

use super::call::RpcCall;
use super::client::{RpcError, RpcResponse};

/// Ends attempts at their deadline.
#[derive(Clone, Debug)]
pub struct DeadlineLayer {
    target: Arc<str>,
}

impl DeadlineLayer {
    /// The layer for calls to `target`.
    pub fn new(target: &str) -> Self {
        Self {
            target: target.into(),
        }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService {
            inner,
            target: self.target.clone(),
        }
    }
}

/// The service of [`DeadlineLayer`].
#[derive(Clone, Debug)]
pub struct DeadlineService<S> {
    inner: S,
    target: Arc<str>,
}

impl<S> Service<RpcCall> for DeadlineService<S>
where
    S: Service<RpcCall, Response = RpcResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = RpcResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<RpcResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: RpcCall) -> Self::Future {
        let (deadline, after) = (call.deadline, call.timeout);
        let target = self.target.to_string();
        let attempt = self.inner.call(call);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(result) => result,
                Err(_elapsed) => Err(RpcError::Timeout { target, after }.into()),
            }
        })
    }
}
