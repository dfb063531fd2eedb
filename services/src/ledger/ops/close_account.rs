//! `POST /accounts/{id}/close` (internal, operator tooling): closes an account. A closed account
//! takes no new top-ups or holds (422 `account_closed`); open holds can still be captured or
//! released so no saga is stranded. Idempotent: closing a closed account is 200. 404 `not_found`
//! when there is no such account (funding accounts are never closed).

use axum::Json;
use axum::extract::{Path, State};

use crate::ledger::LedgerState;
use crate::ledger::error::CloseAccountError;
use crate::ledger::model::AccountView;
use crate::ledger::store;

/// A parsed request to close an account.
#[derive(Debug)]
pub struct CloseAccount {
    account_id: String,
}

impl CloseAccount {
    /// Any id: one that names no account is answered 404 by `apply`.
    pub fn parse(account_id: String) -> Self {
        CloseAccount { account_id }
    }

    /// Closes it and returns it as it is now.
    pub async fn apply(self, state: &LedgerState) -> Result<AccountView, CloseAccountError> {
        let mut conn = state.gate.writer(&state.pool).await?;
        store::close_account(&mut conn, &self.account_id).await?;
        store::load_account(&mut conn, &self.account_id)
            .await?
            .filter(|row| !row.is_funding())
            .map(AccountView::from)
            .ok_or(CloseAccountError::NotFound {
                account_id: self.account_id,
            })
    }
}

fn encode(account: AccountView) -> Json<AccountView> {
    Json(account)
}

/// Handler (the body, if any, is ignored).
pub async fn handle(
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, CloseAccountError> {
    let account = CloseAccount::parse(account_id).apply(&state).await?;
    Ok(encode(account))
}
