//! The service: starts the span, writes the context into the call, records the answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use http::HeaderValue;
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, SpanRef, Status, TraceContextExt as _, Tracer as _};
use tower::Service;

use super::error::error_type;
use crate::rpc::call::{OutgoingCall, RpcCall};
use crate::rpc::context::RequestContext;
use crate::rpc::error::RpcError;
use crate::rpc::headers;
use crate::rpc::propagation::inject_into_headers;
use crate::rpc::response::RpcResponse;
use crate::telemetry::Telemetry;

/// The service of [`TraceLayer`](super::TraceLayer).
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    telemetry: Telemetry,
    target: Arc<str>,
}

impl<S> TraceService<S> {
    pub(super) fn new(inner: S, telemetry: Telemetry, target: Arc<str>) -> Self {
        Self {
            inner,
            telemetry,
            target,
        }
    }

    /// The CLIENT span of `call`, child of the caller's context, in a context of its own.
    fn start_span(
        &self,
        caller: &RequestContext,
        template: Option<&'static str>,
        call: &RpcCall,
    ) -> opentelemetry::Context {
        let method = call.method.as_str();
        let name = match template {
            Some(template) => format!("{method} {template}"),
            None => method.to_owned(),
        };
        let mut attributes = Vec::with_capacity(6);
        attributes.push(KeyValue::new("http.request.method", method.to_owned()));
        attributes.push(KeyValue::new("url.full", call.url.as_str().to_owned()));
        attributes.push(KeyValue::new("peer.service", self.target.to_string()));
        if let Some(template) = template {
            attributes.push(KeyValue::new("url.template", template));
        }
        if let Some(host) = call.url.host_str() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        if let Some(port) = call.url.port_or_known_default() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        let tracer = self.telemetry.tracer();
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, caller.otel());
        caller.otel().with_span(span)
    }
}

/// Writes the caller's context into `call`'s headers, with `span` (in `span_cx`) as parent.
fn write_context(span_cx: &opentelemetry::Context, caller: &RequestContext, call: &mut RpcCall) {
    inject_into_headers(span_cx, &mut call.headers);
    if let Some(identity) = caller.identity() {
        identity.write_headers(&mut call.headers);
    }
    if let Ok(value) = HeaderValue::from_str(caller.request_id()) {
        call.headers.insert(headers::REQUEST_ID, value);
    }
    let deadline_ms = u64::try_from(call.timeout.as_millis()).unwrap_or(u64::MAX);
    call.headers
        .insert(headers::DEADLINE_MS, HeaderValue::from(deadline_ms));
}

/// Records how the call ended on its span.
fn record(span: &SpanRef<'_>, result: &Result<RpcResponse, RpcError>, resent: u32) {
    if resent > 0 {
        span.set_attribute(KeyValue::new(
            "http.request.resend_count",
            i64::from(resent),
        ));
    }
    match result {
        Ok(response) => {
            let status = response.status.as_u16();
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            if response.status.is_client_error() || response.status.is_server_error() {
                span.set_attribute(KeyValue::new("error.type", status.to_string()));
                span.set_status(Status::error(format!("HTTP {status}")));
            }
        }
        Err(error) => {
            span.set_attribute(KeyValue::new("error.type", error_type(error)));
            span.set_status(Status::error(error.to_string()));
        }
    }
}

impl<S> Service<OutgoingCall> for TraceService<S>
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

    fn call(&mut self, outgoing: OutgoingCall) -> Self::Future {
        let OutgoingCall {
            context,
            template,
            mut call,
        } = outgoing;
        let span_cx = self.start_span(&context, template, &call);
        write_context(&span_cx, &context, &mut call);
        let resends = call.resends.clone();
        let answer = self.inner.call(call);
        Box::pin(async move {
            let result = answer.await;
            let span = span_cx.span();
            record(&span, &result, resends.load(Ordering::Relaxed));
            span.end();
            result
        })
    }
}
