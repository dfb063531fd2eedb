//! `POST /accounts/{id}/top-ups {"operation_id","amount","currency"}` (internal; `operation_id`
//! optional on the public `POST /v1/accounts/{id}/top-ups`, operators only): money enters the
//! ledger from the currency's funding account. 201 `{"account_id","balance","available","currency"}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::domain::{Amount, Currency, Money, OperationId};
use crate::http_error::{ApiError, ApiJson};
use crate::ledger::LedgerState;
use crate::ledger::rules;
use crate::ledger::store::{self, Recorded};
use crate::rpc::RequestContext;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    #[serde(default)]
    operation_id: Option<OperationId>,
    amount: serde_json::Value,
    currency: String,
}

/// The response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct TopUpResult {
    /// The account topped up.
    pub account_id: String,
    /// Its balance afterwards.
    pub balance: i64,
    /// Its available balance afterwards.
    pub available: i64,
    /// ISO 4217 code.
    pub currency: String,
}

/// Internal handler (operation id required).
pub async fn handle(
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
    ApiJson(request): ApiJson<TopUp>,
) -> Result<Recorded, ApiError> {
    let operation_id = request
        .operation_id
        .clone()
        .ok_or_else(|| ApiError::unprocessable("invalid_request", "operation_id is required"))?;
    apply(&state, &account_id, operation_id, &request).await
}

/// Public handler: operators with `accounts:fund`; a missing operation id gets a fresh one.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
    ApiJson(request): ApiJson<TopUp>,
) -> Result<Recorded, ApiError> {
    context.require_scope("accounts:fund")?;
    let operation_id = request
        .operation_id
        .clone()
        .unwrap_or_else(OperationId::generate);
    apply(&state, &account_id, operation_id, &request).await
}

/// Parses the money, then applies the top-up in one transaction.
async fn apply(
    state: &LedgerState,
    account_id: &str,
    operation_id: OperationId,
    request: &TopUp,
) -> Result<Recorded, ApiError> {
    let amount = Amount::from_json(&request.amount)
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let currency = Currency::parse(&request.currency)
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let money = Money::new(amount, currency);
    let description = format!("top_up {account_id} {money}");

    let _write = state.gate.enter().await;
    let mut tx = state.pool.begin().await.map_err(ApiError::internal)?;
    if let Some(first) = store::claim(&mut tx, &operation_id, &description).await? {
        return Ok(first);
    }
    let credited = sqlx::query(
        "UPDATE accounts SET balance = balance + $1 \
         WHERE account_id = $2 AND currency = $3 AND status = 'open' AND kind <> 'funding'",
    )
    .bind(money.minor_units())
    .bind(account_id)
    .bind(currency.as_str())
    .execute(&mut *tx)
    .await
    .map_err(ApiError::internal)?
    .rows_affected();
    let result = if credited == 0 {
        let refusal = store::account_refusal(&mut tx, account_id, currency.as_str())
            .await?
            .unwrap_or_else(|| ApiError::not_found(format!("account `{account_id}` not found")));
        if refusal.status == StatusCode::NOT_FOUND {
            // Nothing to record for an account that does not exist (yet).
            return Err(refusal);
        }
        Recorded::refused(refusal)
    } else {
        let funding = rules::funding_account_id(currency);
        sqlx::query(
            "INSERT INTO accounts (account_id, owner_id, currency, kind, status, balance, held, created_at) \
             VALUES ($1, $2, $3, 'funding', 'open', 0, 0, $4) ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(&funding)
        .bind(rules::FUNDING_OWNER)
        .bind(currency.as_str())
        .bind(crate::db::now_rfc3339())
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        sqlx::query("UPDATE accounts SET balance = balance - $1 WHERE account_id = $2")
            .bind(money.minor_units())
            .bind(&funding)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        store::insert_postings(
            &mut tx,
            &operation_id,
            currency.as_str(),
            &rules::top_up(account_id, money),
        )
        .await?;
        let account = store::load_account(&mut tx, account_id)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("account vanished during top-up")))?;
        Recorded::ok(
            StatusCode::CREATED,
            &TopUpResult {
                available: rules::available(account.balance, account.held),
                account_id: account.account_id,
                balance: account.balance,
                currency: account.currency,
            },
        )?
    };
    store::record(&mut tx, &operation_id, &result).await?;
    tx.commit().await.map_err(ApiError::internal)?;
    Ok(result)
}
