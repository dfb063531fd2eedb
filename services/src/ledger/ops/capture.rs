//! `POST /holds/{hold_id}/capture {"operation_id","to_account_id"}`: the held money moves from
//! the payer to the payee (two postings) and the hold closes. 200 hold (`captured`);
//! 409 `hold_not_active` if it was released or captured by another operation; 422
//! `currency_mismatch` for a payee in another currency, 404 `account_not_found`.
//!
//! A payee closed after the hold was placed still receives the capture: a capture settles money
//! the provider has already moved, so refusing it would strand the payment. (New payments to a
//! closed account are refused before any hold, by payments.)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::hold_row;
use crate::domain::{AccountId, Money, OperationId};
use crate::http_error::{ApiError, ApiJson};
use crate::ledger::LedgerState;
use crate::ledger::rules;
use crate::ledger::store::{self, Recorded};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    operation_id: OperationId,
    to_account_id: AccountId,
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(hold_id): Path<String>,
    ApiJson(request): ApiJson<Capture>,
) -> Result<Recorded, ApiError> {
    let payee = request.to_account_id.as_str();
    let description = format!("capture {hold_id} {payee}");
    let _write = state.gate.enter().await;
    let mut tx = state.pool.begin().await.map_err(ApiError::internal)?;
    if let Some(first) = store::claim(&mut tx, &request.operation_id, &description).await? {
        return Ok(first);
    }
    let mut hold = hold_row::load(&mut tx, &hold_id).await?;
    let result = if hold.status != "held" {
        Recorded::refused(hold_row::not_active(&hold))
    } else if let Some(refusal) = payee_refusal(&mut tx, payee, &hold.currency).await? {
        if refusal.status == StatusCode::NOT_FOUND {
            return Err(refusal);
        }
        Recorded::refused(refusal)
    } else {
        // Lock order, the same in every ledger transaction so PostgreSQL never deadlocks: the
        // hold first, then the accounts by id (two opposite captures lock them alike).
        let closed = sqlx::query(
            "UPDATE holds SET status = 'captured', to_account_id = $1, updated_at = $2 \
             WHERE hold_id = $3 AND status = 'held'",
        )
        .bind(payee)
        .bind(crate::db::now_rfc3339())
        .bind(&hold_id)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?
        .rows_affected();
        if closed == 0 {
            // Another transaction closed it between our read and write (PostgreSQL only;
            // SQLite holds the write lock since the claim). Roll everything back.
            return Err(ApiError::conflict(
                "hold_not_active",
                format!("hold `{hold_id}` was closed concurrently; retry"),
            ));
        }
        let mut changes = [
            (hold.account_id.as_str(), -hold.amount, -hold.amount),
            (payee, hold.amount, 0),
        ];
        changes.sort_by_key(|(account_id, _, _)| *account_id);
        for (account_id, balance_change, held_change) in changes {
            sqlx::query(
                "UPDATE accounts SET balance = balance + $1, held = held + $2 WHERE account_id = $3",
            )
            .bind(balance_change)
            .bind(held_change)
            .bind(account_id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        }
        let money = Money::parse(hold.amount, &hold.currency)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored hold is invalid: {e}")))?;
        let postings = rules::capture(&hold.account_id, payee, money);
        store::insert_postings(&mut tx, &request.operation_id, &hold.currency, &postings).await?;
        hold.status = "captured".into();
        hold.to_account_id = Some(payee.to_owned());
        Recorded::ok(StatusCode::OK, &hold)?
    };
    store::record(&mut tx, &request.operation_id, &result).await?;
    tx.commit().await.map_err(ApiError::internal)?;
    Ok(result)
}

/// Why `payee` cannot receive a capture in `currency`: 404 when it does not exist (or is a
/// funding account), 422 `currency_mismatch`. A closed payee is accepted (see the module doc).
/// Existence, kind and currency never change, so checking before the writes is safe.
async fn payee_refusal(
    conn: &mut sqlx::AnyConnection,
    payee: &str,
    currency: &str,
) -> Result<Option<ApiError>, ApiError> {
    let is_funding = store::load_account(conn, payee)
        .await?
        .is_some_and(|account| account.kind == "funding");
    if is_funding {
        return Ok(Some(ApiError::not_found(format!(
            "account `{payee}` not found"
        ))));
    }
    Ok(store::account_refusal(conn, payee, currency)
        .await?
        .filter(|refusal| refusal.code != "account_closed"))
}
