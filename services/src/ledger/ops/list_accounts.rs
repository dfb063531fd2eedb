//! `GET /accounts?owner_id=&currency=`: an owner's accounts (optionally in one currency), so
//! payments can find the payer's and the merchant's accounts.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::domain::{Currency, OwnerId};
use crate::http_error::ApiError;
use crate::ledger::LedgerState;
use crate::ledger::model::AccountView;
use crate::ledger::store::AccountRow;

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    owner_id: String,
    currency: Option<String>,
}

/// Response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccountList {
    /// The matching accounts, oldest first.
    pub accounts: Vec<AccountView>,
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<AccountList>, ApiError> {
    let owner = OwnerId::parse(&query.owner_id)
        .map_err(|e| ApiError::unprocessable("invalid_request", e.to_string()))?;
    let currency = query
        .currency
        .as_deref()
        .map(Currency::parse)
        .transpose()
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let rows: Vec<AccountRow> =
        match currency {
            Some(currency) => sqlx::query_as(
                "SELECT account_id, owner_id, currency, kind, status, balance, held FROM accounts \
             WHERE owner_id = $1 AND currency = $2 ORDER BY account_id",
            )
            .bind(owner.as_str())
            .bind(currency.as_str())
            .fetch_all(&state.pool)
            .await,
            None => sqlx::query_as(
                "SELECT account_id, owner_id, currency, kind, status, balance, held FROM accounts \
             WHERE owner_id = $1 ORDER BY account_id",
            )
            .bind(owner.as_str())
            .fetch_all(&state.pool)
            .await,
        }
        .map_err(ApiError::internal)?;
    Ok(Json(AccountList {
        accounts: rows.into_iter().map(AccountView::from).collect(),
    }))
}
