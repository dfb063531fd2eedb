//! `POST /holds {"operation_id","account_id","amount","currency"}`: reserves funds on an account.
//! 201 hold; 422 `insufficient_funds` when `balance - held` is below the amount (recorded, so a
//! replay refuses again), 422 `account_closed`, 422 `currency_mismatch`, 404 `account_not_found`.
//!
//! The check and the reservation are one conditional UPDATE (`… WHERE balance - held >= amount`),
//! so two concurrent holds can never both pass the check on the same money.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::domain::{AccountId, Amount, Currency, HoldId, Money, OperationId};
use crate::http_error::{ApiError, ApiJson};
use crate::ledger::LedgerState;
use crate::ledger::model::HoldView;
use crate::ledger::store::{self, Recorded};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceHold {
    operation_id: OperationId,
    account_id: AccountId,
    amount: serde_json::Value,
    currency: String,
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    ApiJson(request): ApiJson<PlaceHold>,
) -> Result<Recorded, ApiError> {
    let amount = Amount::from_json(&request.amount)
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let currency = Currency::parse(&request.currency)
        .map_err(|e| ApiError::unprocessable(e.code(), e.to_string()))?;
    let money = Money::new(amount, currency);
    let account_id = request.account_id.as_str();
    let description = format!("hold {account_id} {money}");

    let _write = state.gate.enter().await;
    let mut tx = state.pool.begin().await.map_err(ApiError::internal)?;
    if let Some(first) = store::claim(&mut tx, &request.operation_id, &description).await? {
        return Ok(first);
    }
    let reserved = sqlx::query(
        "UPDATE accounts SET held = held + $1 \
         WHERE account_id = $2 AND currency = $3 AND status = 'open' AND kind <> 'funding' \
           AND balance - held >= $1",
    )
    .bind(money.minor_units())
    .bind(account_id)
    .bind(currency.as_str())
    .execute(&mut *tx)
    .await
    .map_err(ApiError::internal)?
    .rows_affected();
    let result = if reserved == 0 {
        let refusal = store::account_refusal(&mut tx, account_id, currency.as_str())
            .await?
            .unwrap_or_else(|| {
                ApiError::unprocessable(
                    "insufficient_funds",
                    format!("account `{account_id}` has less than {money} available"),
                )
            });
        if refusal.status == StatusCode::NOT_FOUND {
            return Err(refusal);
        }
        Recorded::refused(refusal)
    } else {
        let hold_id = HoldId::generate();
        let now = crate::db::now_rfc3339();
        sqlx::query(
            "INSERT INTO holds (hold_id, account_id, amount, currency, status, to_account_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'held', NULL, $5, $5)",
        )
        .bind(hold_id.as_str())
        .bind(account_id)
        .bind(money.minor_units())
        .bind(currency.as_str())
        .bind(&now)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
        Recorded::ok(
            StatusCode::CREATED,
            &HoldView {
                hold_id: hold_id.to_string(),
                account_id: account_id.to_owned(),
                amount: money.minor_units(),
                currency: currency.to_string(),
                status: "held".into(),
                to_account_id: None,
            },
        )?
    };
    store::record(&mut tx, &request.operation_id, &result).await?;
    tx.commit().await.map_err(ApiError::internal)?;
    Ok(result)
}
