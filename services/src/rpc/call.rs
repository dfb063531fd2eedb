//! What flows through the RPC stack: at its top an [`OutgoingCall`] (the attempt-to-be plus the
//! caller's context, which only the trace layer reads), below it one [`RpcCall`] per attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bytes::Bytes;
use http::{HeaderMap, Method};

use super::context::RequestContext;

/// A call as the client hands it to the top of the stack. The trace layer takes the context
/// and template off it (to start the CLIENT span and write the context into the headers) and
/// passes the [`RpcCall`] on, so the layers below never carry the caller's context.
#[derive(Clone, Debug)]
pub struct OutgoingCall {
    /// On whose behalf the call is made: trace context, baggage, request id, identity.
    pub context: RequestContext,
    /// The route the path fills in (see [`RpcRequest::template`](super::RpcRequest::template)).
    pub template: Option<&'static str>,
    /// The call itself.
    pub call: RpcCall,
}

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
    /// A call of `method` to `url` without headers or body, due within `timeout` from now.
    pub fn new(method: Method, url: reqwest::Url, timeout: std::time::Duration) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            idempotent: false,
            resends: Arc::default(),
            deadline: tokio::time::Instant::now() + timeout,
            timeout,
        }
    }

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
