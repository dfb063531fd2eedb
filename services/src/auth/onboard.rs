//! `POST /customers` and `POST /merchants {"name","currency"}`: onboarding. auth opens the
//! party's ledger account first (idempotent by account id, so a retry is safe), then stores the
//! party with freshly generated, hashed credentials, and shows the secret once.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::AuthState;
use super::credentials::HashedSecret;
use super::domain::{PartyName, new_client_secret, new_id, scopes_for};
use super::store::{ClientRecord, NewParty};
use crate::domain::Currency;
use crate::http_error::{ApiError, ApiJson};
use crate::rpc::{CallOutcome, RequestContext, Role, RpcError};

/// The request body for both routes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardRequest {
    /// Display name.
    pub name: String,
    /// The account's currency.
    pub currency: String,
}

/// `POST /customers`.
pub async fn onboard_customer(
    State(state): State<AuthState>,
    ctx: RequestContext,
    ApiJson(request): ApiJson<OnboardRequest>,
) -> Result<Response, ApiError> {
    let party = onboard(&state, &ctx, &request, Role::Customer).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "customer_id": party.party_id,
            "account_id": party.account_id,
            "client_id": party.client_id,
            "client_secret": party.client_secret,
            "currency": party.currency,
        })),
    )
        .into_response())
}

/// `POST /merchants`.
pub async fn onboard_merchant(
    State(state): State<AuthState>,
    ctx: RequestContext,
    ApiJson(request): ApiJson<OnboardRequest>,
) -> Result<Response, ApiError> {
    let party = onboard(&state, &ctx, &request, Role::Merchant).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "merchant_id": party.party_id,
            "settlement_account_id": party.account_id,
            "client_id": party.client_id,
            "client_secret": party.client_secret,
            "currency": party.currency,
        })),
    )
        .into_response())
}

struct Onboarded {
    party_id: String,
    account_id: String,
    client_id: String,
    client_secret: String,
    currency: &'static str,
}

async fn onboard(
    state: &AuthState,
    ctx: &RequestContext,
    request: &OnboardRequest,
    role: Role,
) -> Result<Onboarded, ApiError> {
    ctx.require_scope("parties:write")?;
    let invalid = |e: super::domain::Invalid| ApiError::unprocessable(e.code, e.message);
    let name = PartyName::parse(&request.name).map_err(invalid)?;
    let currency = Currency::parse(&request.currency)
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let party_id = new_id(match role {
        Role::Merchant => "mer_",
        _ => "cus_",
    });
    let account_id = new_id("acc_");

    open_account(state, ctx, &account_id, &party_id, &currency, role).await?;

    let client_secret = new_client_secret();
    let client = ClientRecord {
        client_id: new_id("cli_"),
        secret: HashedSecret::new(&client_secret),
        role,
        subject: party_id.clone(),
        scopes: scopes_for(role).iter().map(|s| (*s).to_owned()).collect(),
    };
    state
        .store
        .insert_party(&NewParty {
            party_id: &party_id,
            role,
            name: name.as_str(),
            currency: currency.as_str(),
            account_id: &account_id,
            client: &client,
        })
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(party_id = %party_id, account_id = %account_id, role = %role, "party onboarded");
    Ok(Onboarded {
        party_id,
        account_id,
        client_id: client.client_id,
        client_secret,
        currency: currency.as_str(),
    })
}

#[derive(Serialize)]
struct OpenAccount<'a> {
    account_id: &'a str,
    owner_id: &'a str,
    currency: &'a str,
    kind: &'a str,
}

/// Opens the ledger account, retrying once when the outcome is unknown (safe: idempotent by
/// account id). A refusal from the ledger keeps its status and code.
async fn open_account(
    state: &AuthState,
    ctx: &RequestContext,
    account_id: &str,
    owner_id: &str,
    currency: &Currency,
    role: Role,
) -> Result<(), ApiError> {
    let body = OpenAccount {
        account_id,
        owner_id,
        currency: currency.as_str(),
        kind: role.as_str(),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result: Result<serde_json::Value, RpcError> =
            state.ledger.post_json(ctx, "/accounts", &body).await;
        match result {
            Ok(_) => return Ok(()),
            Err(error) if error.outcome() == CallOutcome::Unknown && attempt < 2 => {
                tracing::warn!(%error, "opening the ledger account: outcome unknown, retrying");
            }
            Err(error) => return Err(ledger_error(error)),
        }
    }
}

fn ledger_error(error: RpcError) -> ApiError {
    match &error {
        RpcError::Status {
            status,
            code: Some(code),
            message,
            ..
        } if status.is_client_error() => ApiError::new(*status, code.clone(), message.clone()),
        _ => {
            tracing::warn!(%error, "the ledger could not open the account");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dependency_unavailable",
                "the ledger could not open the account; try again",
            )
        }
    }
}
