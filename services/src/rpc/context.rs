//! The per-request context every handler receives: trace context (with baggage), deadline,
//! request id and the caller's identity as edge established it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::headers;
use super::propagation::PropagatedContext;
use crate::http_error::ApiError;

/// Why a caller may not use an operation: every service's one access refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    /// No identity came with the request (edge forwards one for every authenticated caller).
    #[error("this call needs an authenticated caller")]
    Unauthenticated,
    /// The caller's token lacks the scope the operation needs.
    #[error("this call needs the `{0}` scope")]
    MissingScope(String),
    /// The caller holds the scope but is not a party the operation serves (the reason, in words).
    #[error("{0}")]
    Forbidden(String),
}

crate::error_answers!(AccessDenied {
    Unauthenticated => UNAUTHORIZED "unauthenticated",
    MissingScope => FORBIDDEN "forbidden",
    Forbidden => FORBIDDEN "forbidden",
});

/// Who is calling, as edge learned it from the bearer token (forwarded in `x-minibank-*` headers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Party id (`cus_…`, `mer_…`) or operator client id.
    pub subject: String,
    /// The kind of party.
    pub role: Role,
    /// Granted scopes, e.g. `payments:write`.
    pub scopes: Vec<String>,
}

impl Identity {
    /// True when the identity holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }

    /// Reads the identity headers; `None` when `x-minibank-subject` is absent or any header is
    /// malformed (a caller without a usable identity is unauthenticated, never a crash).
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let subject = text(headers::SUBJECT)?.trim();
        if subject.is_empty() {
            return None;
        }
        let role = text(headers::ROLE)?.parse().ok()?;
        let scopes = text(headers::SCOPES)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Some(Self {
            subject: subject.to_owned(),
            role,
            scopes,
        })
    }

    /// Writes the identity headers (replacing any present).
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let mut set = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        };
        set(headers::SUBJECT, &self.subject);
        set(headers::ROLE, self.role.as_str());
        set(headers::SCOPES, &self.scopes.join(" "));
    }
}

/// The three kinds of party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A paying customer.
    Customer,
    /// A merchant being paid.
    Merchant,
    /// A back-office operator (onboarding, funding, audit).
    Operator,
}

impl Role {
    /// `customer`, `merchant` or `operator`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Merchant => "merchant",
            Role::Operator => "operator",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "customer" => Ok(Role::Customer),
            "merchant" => Ok(Role::Merchant),
            "operator" => Ok(Role::Operator),
            other => anyhow::bail!("`{other}` is not a role (customer, merchant, operator)"),
        }
    }
}

/// Everything a handler needs to know about the request it serves and to make calls on its
/// behalf. Put in the request extensions by the RPC server layer; extract it as a handler argument.
/// Pass it to every [`RpcClient`](super::RpcClient) call so trace, baggage, deadline, request id
/// and identity flow on.
#[derive(Clone, Debug)]
pub struct RequestContext {
    otel: Context,
    deadline: Option<Instant>,
    // Shared, so that a context is cheap to clone: every RPC call hands a clone to its stack.
    request_id: Arc<str>,
    identity: Option<Arc<Identity>>,
}

impl RequestContext {
    /// A context for work that no request started (a background job): a fresh root for `otel`.
    pub fn background(otel: Context) -> Self {
        Self {
            otel,
            deadline: None,
            request_id: uuid::Uuid::new_v4().to_string().into(),
            identity: None,
        }
    }

    /// A context continuing stored trace strings (outbox row → relay → webhook delivery).
    pub fn continuing(propagated: &PropagatedContext) -> Self {
        Self::background(propagated.restore())
    }

    /// The server layer's constructor.
    pub(crate) fn new(
        otel: Context,
        deadline: Option<Instant>,
        request_id: String,
        identity: Option<Identity>,
    ) -> Self {
        Self {
            otel,
            deadline,
            request_id: request_id.into(),
            identity: identity.map(Arc::new),
        }
    }

    /// The OpenTelemetry context (current span + baggage). Start child spans with it as parent.
    pub fn otel(&self) -> &Context {
        &self.otel
    }

    /// The current span's context (trace id, span id, flags).
    pub fn span_context(&self) -> SpanContext {
        self.otel.span().span_context().clone()
    }

    /// The trace id as 32 lowercase hex characters.
    pub fn trace_id(&self) -> String {
        self.otel.span().span_context().trace_id().to_string()
    }

    /// This context as strings, to store beside asynchronous work.
    pub fn propagated(&self) -> PropagatedContext {
        PropagatedContext::capture(&self.otel)
    }

    /// When the caller stops waiting, if it said so.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Time left before the deadline (`None` = no deadline; zero = already passed).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// The request id (`x-request-id`), generated when the caller sent none.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The caller's identity, if edge forwarded one.
    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_deref()
    }

    /// The caller's identity, or 401 `unauthenticated`.
    pub fn require_identity(&self) -> Result<&Identity, AccessDenied> {
        self.identity
            .as_deref()
            .ok_or(AccessDenied::Unauthenticated)
    }

    /// The caller's identity if it holds `scope`; 401 without identity, 403 without the scope.
    pub fn require_scope(&self, scope: &str) -> Result<&Identity, AccessDenied> {
        let identity = self.require_identity()?;
        if identity.has_scope(scope) {
            Ok(identity)
        } else {
            Err(AccessDenied::MissingScope(scope.to_owned()))
        }
    }

    /// The same context with another OpenTelemetry context (e.g. one holding an internal span).
    pub fn with_otel(&self, otel: Context) -> Self {
        Self {
            otel,
            ..self.clone()
        }
    }

    /// The same context with an identity (edge sets it after introspection).
    pub fn with_identity(&self, identity: Option<Identity>) -> Self {
        Self {
            identity: identity.map(Arc::new),
            ..self.clone()
        }
    }

    /// The same context with a deadline no later than `deadline`.
    pub fn with_deadline(&self, deadline: Instant) -> Self {
        let deadline = match self.deadline {
            Some(current) => current.min(deadline),
            None => deadline,
        };
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// The same context without deadline: for work that outlives the request (a saga resuming
    /// in the background must not inherit the caller's patience).
    pub fn without_deadline(&self) -> Self {
        Self {
            deadline: None,
            ..self.clone()
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "RequestContext missing: the route is not behind the RPC server layer"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::http_error::ErrorAnswer;

    #[test]
    fn a_public_route_refuses_no_identity_as_401_and_a_missing_scope_as_403() {
        let context = RequestContext::background(Default::default());
        let refused = context.require_scope("ledger:audit").unwrap_err();
        assert_eq!(refused.answer().status, StatusCode::UNAUTHORIZED);
        let context = context.with_identity(Some(Identity {
            subject: "cus_x".into(),
            role: Role::Customer,
            scopes: vec!["accounts:read".into()],
        }));
        assert!(context.require_scope("accounts:read").is_ok());
        let refused = context.require_scope("ledger:audit").unwrap_err();
        assert_eq!(refused.answer().status, StatusCode::FORBIDDEN);
    }
}
