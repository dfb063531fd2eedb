//! `POST /holds/{hold_id}/capture {"operation_id","to_account_id"}` (internal): the held money
//! moves from the payer to the payee (two postings) and the hold closes. 200 hold (`captured`);
//! 409 `hold_not_active` if it was released or captured by another operation (recorded) or
//! concurrently (not recorded: retry); 422 `currency_mismatch` for a payee in another currency
//! (recorded), `operation_id_reused`, the body's codes; 404 `hold_not_found`,
//! `account_not_found` (not recorded).
//!
//! A payee closed after the hold was placed still receives the capture: a capture settles money
//! the provider has already moved, so refusing it would strand the payment. (New payments to a
//! closed account are refused before any hold, by payments.)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::domain::{AccountId, Currency, Money, OperationId};
use crate::http_error::{ApiJson, Internal};
use crate::ledger::LedgerState;
use crate::ledger::error::{AccountRefusal, Invalid, KeyValues, SettleHoldError};
use crate::ledger::model::Recorded;
use crate::ledger::rules;
use crate::ledger::store::{self, Claim};

type InvalidCapture = Invalid<KeyValues>;

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    operation_id: String,
    to_account_id: String,
}

/// A parsed capture.
#[derive(Debug)]
pub struct Capture {
    hold_id: String,
    operation_id: OperationId,
    payee: AccountId,
}

impl Capture {
    /// Checks the operation id and the payee's id (an unknown hold id is 404 in `apply`).
    pub fn parse(hold_id: String, body: CaptureBody) -> Result<Self, SettleHoldError> {
        Ok(Capture {
            hold_id,
            operation_id: OperationId::parse(&body.operation_id)
                .map_err(|e| InvalidCapture::value("operation_id", e))?,
            payee: AccountId::parse(&body.to_account_id)
                .map_err(|e| InvalidCapture::value("to_account_id", e))?,
        })
    }

    /// Closes the hold, moves the money and writes the postings in one transaction, recording
    /// the answer under the operation id.
    pub async fn apply(self, state: &LedgerState) -> Result<Recorded, SettleHoldError> {
        let Capture {
            hold_id,
            operation_id,
            payee,
        } = self;
        let payee = payee.as_str();
        let description = format!("capture {hold_id} {payee}");
        let mut writer = state.gate.writer(&state.pool).await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        match store::claim(&mut tx, &operation_id, &description).await? {
            Claim::New => {}
            Claim::Replay(first) => return Ok(first),
            Claim::Reused => return Err(SettleHoldError::OperationIdReused(operation_id)),
        }
        // The hold and the payee in one read (one round trip).
        let (mut hold, payee_account) = store::load_hold_and_account(&mut tx, &hold_id, payee)
            .await?
            .ok_or(SettleHoldError::HoldNotFound { hold_id })?;
        let currency = Currency::parse(&hold.currency)
            .map_err(|e| Internal::from(anyhow::anyhow!("stored hold is invalid: {e}")))?;
        let result = if hold.status != "held" {
            Recorded::refused(SettleHoldError::HoldNotActive {
                hold_id: hold.hold_id,
                status: hold.status,
            })
        } else {
            match payee_refusal(payee_account, payee, currency) {
                Some(refusal @ AccountRefusal::NotFound { .. }) => return Err(refusal.into()),
                Some(refusal) => Recorded::refused(refusal),
                None => {
                    if !store::close_hold(&mut tx, &hold.hold_id, "captured", Some(payee)).await? {
                        // Another transaction closed it between our read and write (PostgreSQL
                        // only; SQLite holds the write lock since the claim). Roll back.
                        return Err(SettleHoldError::ClosedConcurrently {
                            hold_id: hold.hold_id,
                        });
                    }
                    // Accounts in id order (see the store's lock order).
                    let mut changes = [
                        (hold.account_id.as_str(), -hold.amount, -hold.amount),
                        (payee, hold.amount, 0),
                    ];
                    changes.sort_by_key(|(account_id, _, _)| *account_id);
                    for (account_id, balance_change, held_change) in changes {
                        store::adjust_account(&mut tx, account_id, balance_change, held_change)
                            .await?;
                    }
                    let money = Money::parse(hold.amount, &hold.currency).map_err(|e| {
                        Internal::from(anyhow::anyhow!("stored hold is invalid: {e}"))
                    })?;
                    let postings = rules::capture(&hold.account_id, payee, money);
                    store::insert_postings(&mut tx, &operation_id, currency, &postings).await?;
                    hold.status = "captured".into();
                    hold.to_account_id = Some(payee.to_owned());
                    Recorded::ok(StatusCode::OK, &hold)?
                }
            }
        };
        store::record(&mut tx, &operation_id, &result).await?;
        tx.commit().await?;
        Ok(result)
    }
}

/// Why `payee` (as loaded: `None` if there is no such account) cannot receive a capture in
/// `currency`: it does not exist (or is a funding account), or holds another currency. A
/// closed payee is accepted (see the module doc). Existence, kind and currency never change,
/// so checking before the writes is safe.
fn payee_refusal(
    account: Option<store::AccountRow>,
    payee: &str,
    currency: Currency,
) -> Option<AccountRefusal> {
    store::refusal_of(account, payee, currency)
        .filter(|refusal| !matches!(refusal, AccountRefusal::Closed { .. }))
}

fn encode(answer: Recorded) -> Recorded {
    answer
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(hold_id): Path<String>,
    ApiJson(body): ApiJson<CaptureBody>,
) -> Result<Recorded, SettleHoldError> {
    let answer = Capture::parse(hold_id, body)?.apply(&state).await?;
    Ok(encode(answer))
}
