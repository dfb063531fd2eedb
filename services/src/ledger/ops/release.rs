//! `POST /holds/{hold_id}/release {"operation_id"}` (internal): gives the held money back to the
//! account's available balance; nothing is posted. 200 hold (`released`); 409
//! `hold_not_active` if it was captured or released by another operation (recorded) or
//! concurrently (not recorded: retry); 404 `hold_not_found`; 422 `operation_id_reused`, the
//! body's codes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::domain::OperationId;
use crate::http_error::ApiJson;
use crate::ledger::LedgerState;
use crate::ledger::error::{Invalid, KeyValues, SettleHoldError};
use crate::ledger::model::Recorded;
use crate::ledger::store::{self, Claim};

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    operation_id: String,
}

/// A parsed release.
#[derive(Debug)]
pub struct Release {
    hold_id: String,
    operation_id: OperationId,
}

impl Release {
    /// Checks the operation id (an unknown hold id is 404 in `apply`).
    pub fn parse(hold_id: String, body: ReleaseBody) -> Result<Self, SettleHoldError> {
        Ok(Release {
            hold_id,
            operation_id: OperationId::parse(&body.operation_id)
                .map_err(|e| Invalid::<KeyValues>::value("operation_id", e))?,
        })
    }

    /// Closes the hold and frees the money in one transaction, recording the answer under the
    /// operation id.
    pub async fn apply(self, state: &LedgerState) -> Result<Recorded, SettleHoldError> {
        let Release {
            hold_id,
            operation_id,
        } = self;
        let description = format!("release {hold_id}");
        let mut writer = state.gate.writer(&state.pool).await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        match store::claim(&mut tx, &operation_id, &description).await? {
            Claim::New => {}
            Claim::Replay(first) => return Ok(first),
            Claim::Reused => return Err(SettleHoldError::OperationIdReused(operation_id)),
        }
        let mut hold = store::load_hold(&mut tx, &hold_id)
            .await?
            .ok_or(SettleHoldError::HoldNotFound { hold_id })?;
        let result = if hold.status != "held" {
            Recorded::refused(SettleHoldError::HoldNotActive {
                hold_id: hold.hold_id,
                status: hold.status,
            })
        } else {
            if !store::close_hold(&mut tx, &hold.hold_id, "released", None).await? {
                // Closed by another transaction since we read it (PostgreSQL only). Roll back.
                return Err(SettleHoldError::ClosedConcurrently {
                    hold_id: hold.hold_id,
                });
            }
            store::adjust_account(&mut tx, &hold.account_id, 0, -hold.amount).await?;
            hold.status = "released".into();
            Recorded::ok(StatusCode::OK, &hold)?
        };
        store::record(&mut tx, &operation_id, &result).await?;
        tx.commit().await?;
        Ok(result)
    }
}

fn encode(answer: Recorded) -> Recorded {
    answer
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(hold_id): Path<String>,
    ApiJson(body): ApiJson<ReleaseBody>,
) -> Result<Recorded, SettleHoldError> {
    let answer = Release::parse(hold_id, body)?.apply(&state).await?;
    Ok(encode(answer))
}
