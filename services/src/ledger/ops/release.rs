//! `POST /holds/{hold_id}/release {"operation_id"}`: gives the held money back to the account's
//! available balance; nothing is posted. 200 hold (`released`); 409 `hold_not_active` if it was
//! captured or released by another operation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::hold_row;
use crate::domain::OperationId;
use crate::http_error::{ApiError, ApiJson};
use crate::ledger::LedgerState;
use crate::ledger::store::{self, Recorded};

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    operation_id: OperationId,
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(hold_id): Path<String>,
    ApiJson(request): ApiJson<Release>,
) -> Result<Recorded, ApiError> {
    let description = format!("release {hold_id}");
    let _write = state.gate.enter().await;
    let mut tx = state.pool.begin().await.map_err(ApiError::internal)?;
    if let Some(first) = store::claim(&mut tx, &request.operation_id, &description).await? {
        return Ok(first);
    }
    let mut hold = hold_row::load(&mut tx, &hold_id).await?;
    let result = if hold.status != "held" {
        Recorded::refused(hold_row::not_active(&hold))
    } else {
        let closed = sqlx::query(
            "UPDATE holds SET status = 'released', updated_at = $1 WHERE hold_id = $2 AND status = 'held'",
        )
        .bind(crate::db::now_rfc3339())
        .bind(&hold_id)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?
        .rows_affected();
        if closed == 0 {
            return Err(ApiError::conflict(
                "hold_not_active",
                format!("hold `{hold_id}` was closed concurrently; retry"),
            ));
        }
        sqlx::query("UPDATE accounts SET held = held - $1 WHERE account_id = $2")
            .bind(hold.amount)
            .bind(&hold.account_id)
            .execute(&mut *tx)
            .await
            .map_err(ApiError::internal)?;
        hold.status = "released".into();
        Recorded::ok(StatusCode::OK, &hold)?
    };
    store::record(&mut tx, &request.operation_id, &result).await?;
    tx.commit().await.map_err(ApiError::internal)?;
    Ok(result)
}
