//! What a caller asks an [`RpcClient`](super::RpcClient) to send: [`RpcRequest`].

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;

use super::error::RpcError;

/// One request to send with [`RpcClient::send`](super::RpcClient::send).
#[derive(Clone, Debug)]
pub struct RpcRequest {
    /// HTTP method.
    pub method: Method,
    /// Path (with query) appended to the base URL, or an absolute `http://…` URL.
    pub path: String,
    /// The route the path fills in (`/holds/{hold_id}/capture`), which only the caller knows:
    /// the client span is named `{method} {template}` and carries it as `url.template`
    /// (OpenTelemetry HTTP client conventions). A `&'static str`, so it is a literal in the
    /// code and cannot carry ids. `None` (an outside URL): the span is named `{method}`.
    pub template: Option<&'static str>,
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
            template: None,
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

    /// Names the route the path fills in (see [`RpcRequest::template`]).
    pub fn template(mut self, template: &'static str) -> Self {
        self.template = Some(template);
        self
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

    /// Whether the call may be sent twice: as set, or as its method says.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent.unwrap_or(matches!(
            self.method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
        ))
    }
}
