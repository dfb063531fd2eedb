//! The service: races each attempt against its deadline.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::Service;

use super::error::Elapsed;
use crate::rpc::call::RpcCall;
use crate::rpc::error::RpcError;
use crate::rpc::response::RpcResponse;

/// The service of [`DeadlineLayer`](super::DeadlineLayer).
#[derive(Clone, Debug)]
pub struct DeadlineService<S> {
    inner: S,
    target: Arc<str>,
}

impl<S> DeadlineService<S> {
    pub(super) fn new(inner: S, target: Arc<str>) -> Self {
        Self { inner, target }
    }
}

impl<S> Service<RpcCall> for DeadlineService<S>
where
    S: Service<RpcCall, Response = RpcResponse, Error = RpcError>,
    S::Future: Send + 'static,
{
    type Response = RpcResponse;
    type Error = RpcError;
    type Future = BoxFuture<'static, Result<RpcResponse, RpcError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: RpcCall) -> Self::Future {
        let (deadline, after) = (call.deadline, call.timeout);
        let target = self.target.clone();
        let attempt = self.inner.call(call);
        Box::pin(async move {
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(result) => result,
                Err(_elapsed) => Err(Elapsed { target, after }.into()),
            }
        })
    }
}
