//! Loading a hold, shared by capture and release.

use sqlx::AnyConnection;

use crate::http_error::ApiError;
use crate::ledger::model::HoldView;

/// Loads a hold; 404 `hold_not_found` when there is none.
pub async fn load(conn: &mut AnyConnection, hold_id: &str) -> Result<HoldView, ApiError> {
    let row: Option<(String, String, i64, String, String, Option<String>)> = sqlx::query_as(
        "SELECT hold_id, account_id, amount, currency, status, to_account_id FROM holds WHERE hold_id = $1",
    )
    .bind(hold_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::internal)?;
    let (hold_id, account_id, amount, currency, status, to_account_id) = row.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "hold_not_found",
            format!("hold `{hold_id}` does not exist"),
        )
    })?;
    Ok(HoldView {
        hold_id,
        account_id,
        amount,
        currency,
        status,
        to_account_id,
    })
}

/// 409 `hold_not_active`: the hold was already captured or released by another operation.
pub fn not_active(hold: &HoldView) -> ApiError {
    ApiError::conflict(
        "hold_not_active",
        format!("hold `{}` is already {}", hold.hold_id, hold.status),
    )
}
