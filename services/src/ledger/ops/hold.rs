//! `POST /holds {"operation_id","account_id","amount","currency"}` (internal): reserves funds on
//! an account. 201 hold; 422 `insufficient_funds` when `balance - held` is below the amount,
//! `account_closed`, `currency_mismatch` (each recorded, so a replay refuses again),
//! `operation_id_reused`, the body's codes; 404 `account_not_found` (not recorded).
//!
//! The check and the reservation are one conditional UPDATE (`… WHERE balance - held >= amount`),
//! so two concurrent holds can never both pass the check on the same money.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::domain::{AccountId, Amount, Currency, HoldId, Money, OperationId};
use crate::http_error::ApiJson;
use crate::ledger::LedgerState;
use crate::ledger::error::{AccountRefusal, HoldValues, Invalid, PlaceHoldError};
use crate::ledger::model::{HoldView, Recorded};
use crate::ledger::store::{self, Claim};

type InvalidHold = Invalid<HoldValues>;

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceHoldBody {
    operation_id: String,
    account_id: String,
    amount: serde_json::Value,
    currency: String,
}

/// A parsed hold request.
#[derive(Debug)]
pub struct PlaceHold {
    operation_id: OperationId,
    account_id: AccountId,
    money: Money,
}

impl PlaceHold {
    /// Checks the operation id, the account id and the money.
    pub fn parse(body: PlaceHoldBody) -> Result<Self, PlaceHoldError> {
        let operation_id = OperationId::parse(&body.operation_id)
            .map_err(|e| InvalidHold::value("operation_id", e))?;
        let account_id =
            AccountId::parse(&body.account_id).map_err(|e| InvalidHold::value("account_id", e))?;
        let amount =
            Amount::from_json(&body.amount).map_err(|e| InvalidHold::value("amount", e))?;
        let currency =
            Currency::parse(&body.currency).map_err(|e| InvalidHold::value("currency", e))?;
        Ok(PlaceHold {
            operation_id,
            account_id,
            money: Money::new(amount, currency),
        })
    }

    /// Reserves the money and inserts the hold in one transaction, recording the answer (the
    /// hold, or a refusal of an existing account) under the operation id.
    pub async fn apply(self, state: &LedgerState) -> Result<Recorded, PlaceHoldError> {
        let PlaceHold {
            operation_id,
            account_id,
            money,
        } = self;
        let account_id = account_id.as_str();
        let description = format!("hold {account_id} {money}");
        let mut writer = state.gate.writer(&state.pool).await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        // The hold's id is made here, so the answer is known unless the account refuses: the
        // claim writes it, and only a refusal is recorded over it.
        let hold = HoldView {
            hold_id: HoldId::generate().to_string(),
            account_id: account_id.to_owned(),
            amount: money.minor_units(),
            currency: money.currency().to_string(),
            status: "held".into(),
            to_account_id: None,
        };
        let placed = Recorded::ok(StatusCode::CREATED, &hold)?;
        match store::claim_presuming(&mut tx, &operation_id, &description, Some(&placed)).await? {
            Claim::New => {}
            Claim::Replay(first) => return Ok(first),
            Claim::Reused => return Err(PlaceHoldError::OperationIdReused(operation_id)),
        }
        let result = if store::reserve(&mut tx, account_id, money).await? {
            store::insert_hold(&mut tx, &hold).await?;
            placed
        } else {
            let refused =
                match store::account_refusal(&mut tx, account_id, money.currency()).await? {
                    // Nothing to record for an account that does not exist (yet): the rollback
                    // takes the claim back.
                    Some(refusal @ AccountRefusal::NotFound { .. }) => return Err(refusal.into()),
                    Some(refusal) => Recorded::refused(refusal),
                    None => Recorded::refused(PlaceHoldError::InsufficientFunds {
                        account_id: account_id.to_owned(),
                        money,
                    }),
                };
            store::record(&mut tx, &operation_id, &refused).await?;
            refused
        };
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
    ApiJson(body): ApiJson<PlaceHoldBody>,
) -> Result<Recorded, PlaceHoldError> {
    let answer = PlaceHold::parse(body)?.apply(&state).await?;
    Ok(encode(answer))
}
