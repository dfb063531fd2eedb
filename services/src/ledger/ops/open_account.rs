//! `POST /accounts {"account_id","owner_id","currency","kind"}`: opens an account, idempotently
//! by account id (auth retries onboarding safely). 201 when new, 200 when it already exists with
//! the same owner, currency and kind, 409 `account_exists` when it exists with others.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::domain::{AccountId, Currency, OwnerId};
use crate::http_error::{ApiError, ApiJson};
use crate::ledger::LedgerState;
use crate::ledger::model::AccountView;
use crate::ledger::store::{Recorded, load_account};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccount {
    account_id: AccountId,
    owner_id: OwnerId,
    currency: String,
    kind: AccountKind,
}

/// Who owns the account.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A customer's current account.
    Customer,
    /// A merchant's settlement account.
    Merchant,
}

impl AccountKind {
    fn as_str(self) -> &'static str {
        match self {
            AccountKind::Customer => "customer",
            AccountKind::Merchant => "merchant",
        }
    }
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    ApiJson(request): ApiJson<OpenAccount>,
) -> Result<Recorded, ApiError> {
    let currency = Currency::parse(&request.currency)
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let _write = state.gate.enter().await;
    let mut conn = state.pool.acquire().await.map_err(ApiError::internal)?;
    let inserted = sqlx::query(
        "INSERT INTO accounts (account_id, owner_id, currency, kind, status, balance, held, created_at) \
         VALUES ($1, $2, $3, $4, 'open', 0, 0, $5) ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(request.account_id.as_str())
    .bind(request.owner_id.as_str())
    .bind(currency.as_str())
    .bind(request.kind.as_str())
    .bind(crate::db::now_rfc3339())
    .execute(&mut *conn)
    .await
    .map_err(ApiError::internal)?
    .rows_affected();
    let account = load_account(&mut conn, request.account_id.as_str())
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account vanished after insert")))?;
    if inserted == 0
        && (account.owner_id != request.owner_id.as_str()
            || account.currency != currency.as_str()
            || account.kind != request.kind.as_str())
    {
        return Err(ApiError::conflict(
            "account_exists",
            format!(
                "account `{}` already exists with another owner, currency or kind",
                request.account_id
            ),
        ));
    }
    let status = if inserted == 1 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Recorded::ok(status, &AccountView::from(account))
}
