//! `POST /introspect {"token"}` → whether the token is active and whom it speaks for (for edge).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AuthState;
use crate::http_error::{ApiError, ApiJson};
use crate::rpc::Role;

/// The request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectRequest {
    /// The bearer token.
    pub token: String,
}

/// The response body; only `active` when the token is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntrospectResponse {
    /// True for a token auth signed that has not expired.
    pub active: bool,
    /// Party id or operator client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The holder's role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Granted scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Expiry, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

impl IntrospectResponse {
    /// The answer for a token that is not valid.
    pub fn inactive() -> Self {
        Self {
            active: false,
            subject: None,
            role: None,
            scopes: Vec::new(),
            exp: None,
        }
    }
}

/// Verifies the token's signature and expiry.
pub async fn introspect(
    State(state): State<AuthState>,
    ApiJson(request): ApiJson<IntrospectRequest>,
) -> Result<Json<IntrospectResponse>, ApiError> {
    let answer = match state.signer.verify(request.token.trim()) {
        Some(claims) => IntrospectResponse {
            active: true,
            scopes: claims.scopes(),
            subject: Some(claims.sub),
            role: Some(claims.role),
            exp: Some(claims.exp),
        },
        None => IntrospectResponse::inactive(),
    };
    Ok(Json(answer))
}
