//! Client side of the RPC layer: [`RpcClient`], one per (calling service, target).
//!
//! Every call, in order: refuses to start when the caller's deadline has passed; starts a CLIENT
//! span (`{method}`, semconv attributes, `peer.service` = target); injects `traceparent`,
//! `tracestate`, `baggage`, the remaining deadline, the request id and the caller's identity;
//! sends with timeout = min(call timeout, deadline left); records the status; maps failures to
//! [`RpcError`], which tells "never reached" from "outcome unknown" (the payment saga needs that).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _, Tracer as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use std::sync::Arc;

use tower::ServiceExt as _;

use super::balance::Replicas;
use super::breaker::CircuitOpen;
use super::call::RpcCall;
use super::context::RequestContext;
use super::headers;
use super::pool::PoolStats;
use super::propagation::inject_into_headers;
use super::stack::{Resilience, RpcStack, build_stack};
use crate::http_error::ErrorBody;
use crate::telemetry::Telemetry;

/// Calls one target service (or external system) on behalf of one calling service.
/// Cheap to clone; all clients of a process should share one `reqwest::Client` (connection pool).
#[derive(Clone)]
pub struct RpcClient {
    telemetry: Telemetry,
    target: String,
    base_url: String,
    timeout: Duration,
    stack: RpcStack,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("target", &self.target)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// One request to send with [`RpcClient::send`].
#[derive(Clone, Debug)]
pub struct RpcRequest {
    /// HTTP method.
    pub method: Method,
    /// Path (with query) appended to the base URL, or an absolute `http://…` URL.
    pub path: String,
    /// Extra headers (e.g. `Idempotency-Key`, `content-type`).
    pub headers: HeaderMap,
    /// The body, if any.
    pub body: Option<Bytes>,
    /// Overrides the client's timeout for this call.
    pub timeout: Option<Duration>,
    /// Whether the call may be retried: `None` = idempotent iff the method is (RFC 9110:
    /// GET, HEAD, OPTIONS, PUT, DELETE); set it for a POST that is idempotent by key.
    pub idempotent: Option<bool>,
}

impl RpcRequest {
    /// A request without body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
            idempotent: None,
        }
    }

    /// A `GET`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// A `POST` with a JSON body.
    pub fn post_json<B: Serialize + ?Sized>(
        path: impl Into<String>,
        body: &B,
    ) -> Result<Self, RpcError> {
        Self::new(Method::POST, path).json(body)
    }

    /// Sets a JSON body and `content-type: application/json`.
    pub fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self, RpcError> {
        let bytes = serde_json::to_vec(body).map_err(|error| RpcError::Encode {
            message: error.to_string(),
        })?;
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Adds a header; invalid names or values are a [`RpcError::Encode`].
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, RpcError> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| RpcError::Encode {
            message: format!("header name {name}: {e}"),
        })?;
        let value = HeaderValue::from_str(value).map_err(|e| RpcError::Encode {
            message: format!("header value for {name}: {e}"),
        })?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Sets this call's timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Says whether this call may be sent twice (see [`RpcRequest::idempotent`]).
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    fn is_idempotent(&self) -> bool {
        self.idempotent.unwrap_or(matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        ))
    }
}

/// A response of any status.
#[derive(Clone, Debug)]
pub struct RpcResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl RpcResponse {
    /// Decodes the body as JSON.
    pub fn json<T: DeserializeOwned>(&self, target: &str) -> Result<T, RpcError> {
        serde_json::from_slice(&self.body).map_err(|error| RpcError::Decode {
            target: target.to_owned(),
            message: error.to_string(),
        })
    }

    /// The `{"code","message"}` error body, if the body is one.
    pub fn error_body(&self) -> Option<ErrorBody> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Was the call's effect possible? What a saga needs to decide between retrying, compensating
/// and asking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// The request never reached the target (connection refused, deadline already passed):
    /// nothing happened there.
    NotReached,
    /// The target may or may not have acted (timeout, 5xx, connection lost mid-call, unreadable
    /// success body): ask before deciding.
    Unknown,
    /// The target answered definitively with a 4xx: it did not act.
    Refused,
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The caller's deadline had passed; the request was not sent.
    #[error("deadline exceeded before calling {target}")]
    DeadlineExceeded {
        /// Target name.
        target: String,
    },
    /// Could not connect (refused, DNS failure): never reached.
    #[error("{target} unreachable: {message}")]
    Unreachable {
        /// Target name.
        target: String,
        /// The transport error.
        message: String,
    },
    /// Sent, but no complete answer within the timeout (or the caller's deadline).
    #[error("{target} did not answer within {after:?}")]
    Timeout {
        /// Target name.
        target: String,
        /// The time waited.
        after: Duration,
    },
    /// The connection failed after the request may have been sent.
    #[error("{target} call failed: {message}")]
    Transport {
        /// Target name.
        target: String,
        /// The transport error.
        message: String,
    },
    /// A non-2xx answer (from `get_json`/`post_json`; `send` returns every status as a response).
    #[error("{target} answered {status}: {}", code.as_deref().unwrap_or("no error code"))]
    Status {
        /// Target name.
        target: String,
        /// The HTTP status.
        status: StatusCode,
        /// The `code` of a `{"code","message"}` body, if any.
        code: Option<String>,
        /// The `message` of such a body, or the raw body.
        message: String,
    },
    /// A 2xx answer whose body was not the expected JSON.
    #[error("{target} answered with an unexpected body: {message}")]
    Decode {
        /// Target name.
        target: String,
        /// The decode error.
        message: String,
    },
    /// The circuit to the target is open: the call failed fast, nothing was sent.
    #[error("{target} is failing; circuit open, not calling it for another {retry_in:?}")]
    CircuitOpen {
        /// Target name.
        target: String,
        /// Until the circuit lets a probe through.
        retry_in: Duration,
    },
    /// The request could not be built (bad header, unserializable body).
    #[error("could not build the request: {message}")]
    Encode {
        /// What was wrong.
        message: String,
    },
}

impl RpcError {
    /// What the failure says about the target's state (see [`CallOutcome`]).
    pub fn outcome(&self) -> CallOutcome {
        match self {
            RpcError::DeadlineExceeded { .. }
            | RpcError::Unreachable { .. }
            | RpcError::CircuitOpen { .. }
            | RpcError::Encode { .. } => CallOutcome::NotReached,
            RpcError::Status { status, .. } if status.is_client_error() => CallOutcome::Refused,
            RpcError::Status { .. }
            | RpcError::Timeout { .. }
            | RpcError::Transport { .. }
            | RpcError::Decode { .. } => CallOutcome::Unknown,
        }
    }

    /// The HTTP status, for [`RpcError::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RpcError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error `code` the target answered, for [`RpcError::Status`].
    pub fn code(&self) -> Option<&str> {
        match self {
            RpcError::Status { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

impl RpcClient {
    /// A client for `target` (its `peer.service` name, e.g. `ledger` or `provider`) at
    /// `base_url`, whose calls give up after `timeout` unless the caller's deadline is sooner.
    pub fn new(
        http: reqwest::Client,
        telemetry: Telemetry,
        target: impl Into<String>,
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        Self::with_resilience(
            http,
            telemetry,
            target,
            base_url,
            timeout,
            &Resilience::default(),
        )
    }

    /// Like [`RpcClient::new`], with these retry, circuit-breaking and fault settings.
    pub fn with_resilience(
        http: reqwest::Client,
        telemetry: Telemetry,
        target: impl Into<String>,
        base_url: impl Into<String>,
        timeout: Duration,
        resilience: &Resilience,
    ) -> Self {
        let target = target.into();
        let stack = build_stack(http, resilience, telemetry.service_name(), &target, None);
        Self {
            telemetry,
            target,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout,
            stack,
        }
    }

    /// A client for `target` balanced over the replicas `replicas` lists, now and as it
    /// changes (service discovery); paths are relative to whichever replica is chosen.
    pub fn balanced(
        http: reqwest::Client,
        telemetry: Telemetry,
        target: impl Into<String>,
        replicas: Replicas,
        timeout: Duration,
        resilience: &Resilience,
    ) -> Self {
        let target = target.into();
        // Paths are joined to this URL, then the balancer puts the chosen replica's address in.
        let base_url = replicas
            .borrow()
            .first()
            .cloned()
            .unwrap_or_else(|| "http://replica.invalid".to_owned());
        let stack = build_stack(
            http,
            resilience,
            telemetry.service_name(),
            &target,
            Some(replicas),
        );
        Self {
            telemetry,
            target,
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
            stack,
        }
    }

    /// The shared HTTP client every `RpcClient` of a process should be built on: connection
    /// pooling, no proxy from the environment (all traffic is loopback or cluster-internal).
    pub fn shared_http() -> reqwest::Client {
        Self::shared_http_counted(&PoolStats::default())
    }

    /// [`RpcClient::shared_http`], counting the connections it opens into `stats` (pass the
    /// same stats in [`Resilience::pool`] so calls are counted too).
    pub fn shared_http_counted(stats: &PoolStats) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .connector_layer(stats.connector_layer())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    }

    /// The target name.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The target's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET path`, expecting 2xx and a JSON body.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        path: &str,
    ) -> Result<T, RpcError> {
        self.call_json(ctx, RpcRequest::get(path)).await
    }

    /// `POST path` with a JSON body, expecting 2xx and a JSON body.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        path: &str,
        body: &B,
    ) -> Result<T, RpcError> {
        self.call_json(ctx, RpcRequest::post_json(path, body)?)
            .await
    }

    /// Sends `request`, expecting 2xx and a JSON body; non-2xx is [`RpcError::Status`].
    pub async fn call_json<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        request: RpcRequest,
    ) -> Result<T, RpcError> {
        let response = self.send(ctx, request).await?;
        if !response.status.is_success() {
            let (code, message) = match response.error_body() {
                Some(body) => (Some(body.code), body.message),
                None => (None, String::from_utf8_lossy(&response.body).into_owned()),
            };
            return Err(RpcError::Status {
                target: self.target.clone(),
                status: response.status,
                code,
                message,
            });
        }
        response.json(&self.target)
    }

    /// Sends `request` and returns the response whatever its status (edge's proxy uses this).
    pub async fn send(
        &self,
        ctx: &RequestContext,
        request: RpcRequest,
    ) -> Result<RpcResponse, RpcError> {
        let mut timeout = request.timeout.unwrap_or(self.timeout);
        if let Some(left) = ctx.remaining() {
            if left.is_zero() {
                return Err(RpcError::DeadlineExceeded {
                    target: self.target.clone(),
                });
            }
            timeout = timeout.min(left);
        }
        let url = if request.path.starts_with("http://") || request.path.starts_with("https://") {
            request.path.clone()
        } else {
            format!("{}{}", self.base_url, request.path)
        };
        let parsed = reqwest::Url::parse(&url).map_err(|error| RpcError::Encode {
            message: format!("`{url}` is not a URL: {error}"),
        })?;

        let tracer = self.telemetry.tracer();
        let mut attributes = vec![
            KeyValue::new("http.request.method", request.method.as_str().to_owned()),
            KeyValue::new("url.full", url.clone()),
            KeyValue::new("peer.service", self.target.clone()),
        ];
        if let Some(host) = parsed.host_str() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
        }
        if let Some(port) = parsed.port_or_known_default() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        let span = tracer
            .span_builder(request.method.as_str().to_owned())
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, ctx.otel());
        let call_cx = ctx.otel().with_span(span);

        let idempotent = request.is_idempotent();
        let mut headers = request.headers;
        inject_into_headers(&call_cx, &mut headers);
        if let Some(identity) = ctx.identity() {
            identity.write_headers(&mut headers);
        }
        if let Ok(value) = HeaderValue::from_str(ctx.request_id()) {
            headers.insert(headers::REQUEST_ID, value);
        }
        headers.insert(
            headers::DEADLINE_MS,
            HeaderValue::from(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
        );
        let call = RpcCall {
            idempotent,
            method: request.method.clone(),
            url: parsed,
            headers,
            body: request.body,
            resends: Arc::default(),
            deadline: tokio::time::Instant::now() + timeout,
            timeout,
        };
        let resends = call.resends.clone();
        // The deadline layer inside the stack ends each attempt at the deadline (so the
        // circuit breaker sees a timeout as a failure); no timer is needed out here.
        let result = self.stack.clone().oneshot(call).await;
        let span = call_cx.span();
        let resent = resends.load(std::sync::atomic::Ordering::Relaxed);
        if resent > 0 {
            span.set_attribute(KeyValue::new(
                "http.request.resend_count",
                i64::from(resent),
            ));
        }
        let outcome = match result {
            Ok(response) => {
                span.set_attribute(KeyValue::new(
                    "http.response.status_code",
                    i64::from(response.status.as_u16()),
                ));
                if response.status.is_client_error() || response.status.is_server_error() {
                    span.set_attribute(KeyValue::new(
                        "error.type",
                        response.status.as_u16().to_string(),
                    ));
                    span.set_status(Status::error(format!("HTTP {}", response.status.as_u16())));
                }
                Ok(response)
            }
            Err(error) => {
                let error = match error.downcast::<RpcError>() {
                    Ok(error) => *error,
                    Err(error) => match error.downcast::<CircuitOpen>() {
                        Ok(open) => RpcError::CircuitOpen {
                            target: open.target,
                            retry_in: open.retry_in,
                        },
                        Err(other) => RpcError::Transport {
                            target: self.target.clone(),
                            message: other.to_string(),
                        },
                    },
                };
                let error_type = match &error {
                    RpcError::Unreachable { .. } => "connect_error",
                    RpcError::Timeout { .. } => "timeout",
                    RpcError::CircuitOpen { .. } => "circuit_open",
                    _ => "transport_error",
                };
                span.set_attribute(KeyValue::new("error.type", error_type));
                span.set_status(Status::error(error.to_string()));
                Err(error)
            }
        };
        span.end();
        outcome
    }
}
