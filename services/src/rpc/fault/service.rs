//! The service: looks up a fault for each call and plays it instead of (or before) the call.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderMap, HeaderValue, StatusCode};
use tower::Service;

use super::error::InjectedDrop;
use super::layer::FaultLayer;
use super::rules::FaultKind;
use crate::rpc::call::RpcCall;
use crate::rpc::error::RpcError;
use crate::rpc::response::RpcResponse;

/// The service of [`FaultLayer`].
#[derive(Clone, Debug)]
pub struct FaultService<S> {
    inner: S,
    layer: FaultLayer,
}

impl<S> FaultService<S> {
    pub(super) fn new(inner: S, layer: FaultLayer) -> Self {
        Self { inner, layer }
    }
}

impl<S> Service<RpcCall> for FaultService<S>
where
    S: Service<RpcCall, Response = RpcResponse, Error = RpcError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = RpcResponse;
    type Error = RpcError;
    type Future = BoxFuture<'static, Result<RpcResponse, RpcError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), RpcError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: RpcCall) -> Self::Future {
        let fault = self
            .layer
            .injector
            .take(&self.layer.caller, &self.layer.target, &call);
        match fault {
            None => Box::pin(self.inner.call(call)),
            Some(FaultKind::Latency(delay)) => {
                // The inner service was made ready for this call; keep that instance.
                let clone = self.inner.clone();
                let mut ready = std::mem::replace(&mut self.inner, clone);
                Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    ready.call(call).await
                })
            }
            Some(FaultKind::Error(status)) => Box::pin(std::future::ready(Ok(injected(status)))),
            Some(FaultKind::Drop) => {
                let dropped = InjectedDrop {
                    target: self.layer.target.clone(),
                };
                Box::pin(std::future::ready(Err(dropped.into())))
            }
            Some(FaultKind::Hang) => Box::pin(std::future::pending()),
        }
    }
}

/// The answer an injected error gives in the target's place.
fn injected(status: StatusCode) -> RpcResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    RpcResponse {
        status,
        headers,
        body: Bytes::from_static(
            br#"{"code":"injected_fault","message":"fault injected by the test harness"}"#,
        ),
    }
}
