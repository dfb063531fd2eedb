//! `POST /tokens {"client_id","client_secret"}` (public: `POST /v1/tokens`) -> 200 a short-lived
//! bearer token. Answers: 401 `invalid_credentials` (the same for an unknown id and a wrong
//! secret, so client ids cannot be probed); the body's codes (400 `malformed_json`, 422
//! `missing_field`, …); 500 `internal_error`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::auth::AuthState;
use crate::auth::error::IssueTokenError;
use crate::auth::store::ClientRecord;
use crate::auth::tokens::Claims;
use crate::http_error::ApiJson;
use crate::rpc::Role;
use crate::service::Operation;

/// The operation as the contract names it.
pub const OPERATION: Operation = Operation::new::<IssueTokenError>("issueToken", &[200]);

/// The request body (wire).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueTokenBody {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
}

/// The answer (wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
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

/// Credentials to check (parsed).
#[derive(Debug)]
pub struct IssueToken {
    client_id: String,
    client_secret: String,
}

/// A signed token and what it says.
#[derive(Debug)]
pub struct Issued {
    token: String,
    claims: Claims,
    client: ClientRecord,
    expires_in: u64,
}

impl IssueToken {
    /// Reads the credentials (the client id is trimmed; the secret is taken as sent).
    pub fn parse(body: IssueTokenBody) -> Result<Self, IssueTokenError> {
        Ok(Self {
            client_id: body.client_id.trim().to_owned(),
            client_secret: body.client_secret,
        })
    }

    /// Checks the secret against the stored hash and signs a token.
    pub async fn apply(self, state: &AuthState) -> Result<Issued, IssueTokenError> {
        let client = state
            .store
            .find_client(&self.client_id)
            .await?
            .filter(|client| client.secret.verify(&self.client_secret))
            .ok_or(IssueTokenError::InvalidCredentials)?;
        let (token, claims) = state
            .signer
            .issue(&client.subject, client.role, &client.scopes)
            .map_err(crate::http_error::Internal::from)?;
        tracing::info!(subject = %client.subject, role = %client.role, "token issued");
        Ok(Issued {
            token,
            claims,
            client,
            expires_in: state.signer.ttl().as_secs(),
        })
    }
}

fn encode(issued: Issued) -> Json<TokenView> {
    Json(TokenView {
        access_token: issued.token,
        token_type: "Bearer".to_owned(),
        expires_in: issued.expires_in,
        scope: issued.claims.scope,
        role: issued.client.role,
        subject: issued.client.subject,
    })
}

/// `POST /tokens`.
pub async fn handle(
    State(state): State<AuthState>,
    ApiJson(body): ApiJson<IssueTokenBody>,
) -> Result<Json<TokenView>, IssueTokenError> {
    let issued = IssueToken::parse(body)?.apply(&state).await?;
    Ok(encode(issued))
}
