//! `POST /tokens {"client_id","client_secret"}` → a short-lived bearer token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::AuthState;
use crate::http_error::{ApiError, ApiJson};
use crate::rpc::Role;

/// The request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
}

/// The response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Granted scopes, space separated.
    pub scope: String,
    /// The holder's role.
    pub role: Role,
    /// The holder: party id or operator client id.
    pub subject: String,
}

/// Checks the credentials and signs a token; wrong id or secret → 401 `invalid_credentials`
/// (the same answer for both, so client ids cannot be probed).
pub async fn issue_token(
    State(state): State<AuthState>,
    ApiJson(request): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let client = state
        .store
        .find_client(request.client_id.trim())
        .await
        .map_err(ApiError::internal)?;
    let client = client
        .filter(|client| client.secret.verify(&request.client_secret))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "the client id or secret is wrong",
            )
        })?;
    let (access_token, claims) = state
        .signer
        .issue(&client.subject, client.role, &client.scopes)
        .map_err(ApiError::internal)?;
    tracing::info!(subject = %client.subject, role = %client.role, "token issued");
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: state.signer.ttl().as_secs(),
        scope: claims.scope,
        role: client.role,
        subject: client.subject,
    }))
}
