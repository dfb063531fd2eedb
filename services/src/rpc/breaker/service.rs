//! The service: asks the circuit before each call and tells it how the call went.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::Service;

use super::circuit::{Admission, CircuitBreaker};
use crate::rpc::error::RpcError;
use crate::rpc::response::{RpcResponse, is_failure_status};

/// The service of [`CircuitBreakerLayer`](super::CircuitBreakerLayer).
#[derive(Clone, Debug)]
pub struct CircuitBreakerService<S> {
    inner: S,
    breaker: CircuitBreaker,
}

impl<S> CircuitBreakerService<S> {
    pub(super) fn new(inner: S, breaker: CircuitBreaker) -> Self {
        Self { inner, breaker }
    }
}

impl<S, Req> Service<Req> for CircuitBreakerService<S>
where
    S: Service<Req, Response = RpcResponse, Error = RpcError>,
    S::Future: Send + 'static,
{
    type Response = RpcResponse;
    type Error = RpcError;
    type Future = BoxFuture<'static, Result<RpcResponse, RpcError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let admission = match self.breaker.admit() {
            Ok(admission) => admission,
            Err(open) => return Box::pin(std::future::ready(Err(open.into()))),
        };
        let guard = Recorder {
            breaker: self.breaker.clone(),
            admission: Some(admission),
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let failed = match &result {
                Ok(response) => is_failure_status(response.status),
                Err(_) => true,
            };
            guard.finish(failed);
            result
        })
    }
}

/// Records the call's result once; if the call is dropped unfinished, abandons it instead.
struct Recorder {
    breaker: CircuitBreaker,
    admission: Option<Admission>,
}

impl Recorder {
    fn finish(mut self, failed: bool) {
        if let Some(admission) = self.admission.take() {
            self.breaker.record(&admission, failed);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(admission) = self.admission.take() {
            self.breaker.abandon(&admission);
        }
    }
}
