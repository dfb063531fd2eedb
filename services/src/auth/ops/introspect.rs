//! `POST /introspect {"token"}` (internal: edge asks it for every new token) -> 200 whether the
//! token is active and whom it speaks for (`Introspection`). A bad token is an answer
//! (`{"active": false}`), not an error. Answers: the body's codes only.

use axum::Json;
use axum::extract::State;

use crate::auth::AuthState;
use crate::auth::error::IntrospectError;
use crate::auth::model::{IntrospectBody, Introspection};
use crate::auth::tokens::Claims;
use crate::http_error::ApiJson;

/// The token to check (parsed).
#[derive(Debug)]
pub struct Introspect {
    token: String,
}

impl Introspect {
    /// Reads the token (surrounding spaces ignored).
    pub fn parse(body: IntrospectBody) -> Result<Self, IntrospectError> {
        Ok(Self {
            token: body.token.trim().to_owned(),
        })
    }

    /// Verifies the token's signature and expiry: its claims, or `None`.
    pub async fn apply(self, state: &AuthState) -> Result<Option<Claims>, IntrospectError> {
        Ok(state.signer.verify(&self.token))
    }
}

fn encode(claims: Option<Claims>) -> Json<Introspection> {
    Json(match claims {
        Some(claims) => Introspection {
            active: true,
            scopes: claims.scopes(),
            subject: Some(claims.sub),
            role: Some(claims.role),
            exp: Some(claims.exp),
        },
        None => Introspection::inactive(),
    })
}

/// `POST /introspect`.
pub async fn handle(
    State(state): State<AuthState>,
    ApiJson(body): ApiJson<IntrospectBody>,
) -> Result<Json<Introspection>, IntrospectError> {
    let claims = Introspect::parse(body)?.apply(&state).await?;
    Ok(encode(claims))
}
