//! `GET /accounts/{id}` (internal) and `GET /v1/accounts/{id}` (public, owner only: another
//! party's account is 404 like a missing one, so existence is never revealed).

use axum::Json;
use axum::extract::{Path, State};

use crate::http_error::ApiError;
use crate::ledger::LedgerState;
use crate::ledger::model::AccountView;
use crate::ledger::store::load_account;
use crate::rpc::{RequestContext, Role};

async fn find(state: &LedgerState, account_id: &str) -> Result<Option<AccountView>, ApiError> {
    let mut conn = state.pool.acquire().await.map_err(ApiError::internal)?;
    Ok(load_account(&mut conn, account_id)
        .await?
        .filter(|row| row.kind != "funding")
        .map(AccountView::from))
}

fn not_found(account_id: &str) -> ApiError {
    ApiError::not_found(format!("account `{account_id}` not found"))
}

/// Internal handler: any account.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    find(&state, &account_id)
        .await?
        .map(Json)
        .ok_or_else(|| not_found(&account_id))
}

/// Public handler: the owner sees its account; operators see any.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let caller = context.require_scope("accounts:read")?;
    find(&state, &account_id)
        .await?
        .filter(|account| caller.role == Role::Operator || caller.subject == account.owner_id)
        .map(Json)
        .ok_or_else(|| not_found(&account_id))
}
