//! `POST /accounts/{id}/close` (internal, operator tooling): closes an account. A closed account
//! takes no new top-ups, holds or captures (422 `account_closed`); open holds can still be
//! captured or released so no saga is stranded. Idempotent: closing a closed account is 200.

use axum::Json;
use axum::extract::{Path, State};

use crate::http_error::ApiError;
use crate::ledger::LedgerState;
use crate::ledger::model::AccountView;
use crate::ledger::store;

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, ApiError> {
    let _write = state.gate.enter().await;
    let mut conn = state.pool.acquire().await.map_err(ApiError::internal)?;
    sqlx::query(
        "UPDATE accounts SET status = 'closed' WHERE account_id = $1 AND kind <> 'funding'",
    )
    .bind(&account_id)
    .execute(&mut *conn)
    .await
    .map_err(ApiError::internal)?;
    store::load_account(&mut conn, &account_id)
        .await?
        .filter(|row| row.kind != "funding")
        .map(|row| Json(AccountView::from(row)))
        .ok_or_else(|| ApiError::not_found(format!("account `{account_id}` not found")))
}
