//! `POST /accounts/{id}/top-ups {"operation_id","amount","currency"}` (internal) and the public
//! `POST /v1/accounts/{id}/top-ups` (`topUpAccount`, `accounts:fund`; `operation_id` optional,
//! a fresh one when absent): money enters the ledger from the currency's funding account.
//! 201 `{"account_id","balance","available","currency"}`; 404 `account_not_found`; 422
//! `currency_mismatch` or `account_closed` (recorded and replayed), `operation_id_reused`, the
//! body's codes (`invalid_amount`, `invalid_currency`, `invalid_key`, `missing_field`, …).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::domain::{Amount, Currency, Money, OperationId};
use crate::http_error::{ApiJson, Internal, InvalidRequest};
use crate::ledger::LedgerState;
use crate::ledger::error::{AccountRefusal, Invalid, MoneyValues, TopUpError};
use crate::ledger::model::Recorded;
use crate::ledger::rules;
use crate::ledger::store::{self, Claim};
use crate::rpc::RequestContext;
use crate::service::Operation;

/// The public operation, as the contract names it.
pub const OPERATION: Operation = Operation::new::<TopUpError>("topUpAccount", &[201]);

type InvalidTopUp = Invalid<MoneyValues>;

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpBody {
    #[serde(default)]
    operation_id: Option<String>,
    amount: serde_json::Value,
    currency: String,
}

/// A parsed top-up.
#[derive(Debug)]
pub struct TopUp {
    account_id: String,
    operation_id: OperationId,
    money: Money,
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

impl TopUp {
    /// Internal route: the caller (a peer) names the operation.
    pub fn parse(account_id: String, body: TopUpBody) -> Result<Self, TopUpError> {
        let operation_id = body.operation_id.as_deref().ok_or_else(|| {
            InvalidTopUp::from(InvalidRequest::MissingField {
                field: "operation_id".into(),
            })
        })?;
        let operation_id = parse_operation_id(operation_id)?;
        Self::parse_money(account_id, operation_id, &body)
    }

    /// Public route: operators with `accounts:fund`; a missing operation id gets a fresh one.
    pub fn parse_public(
        context: &RequestContext,
        account_id: String,
        body: TopUpBody,
    ) -> Result<Self, TopUpError> {
        context.require_scope("accounts:fund")?;
        let operation_id = match body.operation_id.as_deref() {
            Some(raw) => parse_operation_id(raw)?,
            None => OperationId::generate(),
        };
        Self::parse_money(account_id, operation_id, &body)
    }

    fn parse_money(
        account_id: String,
        operation_id: OperationId,
        body: &TopUpBody,
    ) -> Result<Self, TopUpError> {
        let amount =
            Amount::from_json(&body.amount).map_err(|e| InvalidTopUp::value("amount", e))?;
        let currency =
            Currency::parse(&body.currency).map_err(|e| InvalidTopUp::value("currency", e))?;
        Ok(TopUp {
            account_id,
            operation_id,
            money: Money::new(amount, currency),
        })
    }

    /// Credits the account and debits the funding account in one transaction, recording the
    /// answer (a success or a refusal of an existing account) under the operation id.
    pub async fn apply(self, state: &LedgerState) -> Result<Recorded, TopUpError> {
        let TopUp {
            account_id,
            operation_id,
            money,
        } = self;
        let description = format!("top_up {account_id} {money}");
        let mut writer = state.gate.writer(&state.pool).await?;
        let mut tx = sqlx::Connection::begin(&mut *writer).await?;
        match store::claim(&mut tx, &operation_id, &description).await? {
            Claim::New => {}
            Claim::Replay(first) => return Ok(first),
            Claim::Reused => return Err(TopUpError::OperationIdReused(operation_id)),
        }
        let result = if store::credit_open_account(&mut tx, &account_id, money).await? {
            store::debit_funding(&mut tx, money).await?;
            let postings = rules::top_up(&account_id, money);
            store::insert_postings(&mut tx, &operation_id, money.currency(), &postings).await?;
            let account = store::load_account(&mut tx, &account_id)
                .await?
                .ok_or_else(|| Internal::from(anyhow::anyhow!("account vanished during top-up")))?;
            Recorded::ok(
                StatusCode::CREATED,
                &TopUpResult {
                    available: rules::available(account.balance, account.held),
                    account_id: account.account_id,
                    balance: account.balance,
                    currency: account.currency,
                },
            )?
        } else {
            match store::account_refusal(&mut tx, &account_id, money.currency()).await? {
                // Nothing to record for an account that does not exist (yet).
                Some(refusal @ AccountRefusal::NotFound { .. }) => return Err(refusal.into()),
                Some(refusal) => Recorded::refused(refusal),
                None => {
                    return Err(Internal::from(anyhow::anyhow!(
                        "account `{account_id}` is open in {} yet refused the credit",
                        money.currency()
                    ))
                    .into());
                }
            }
        };
        store::record(&mut tx, &operation_id, &result).await?;
        tx.commit().await?;
        Ok(result)
    }
}

/// The operation id a body names.
fn parse_operation_id(raw: &str) -> Result<OperationId, InvalidTopUp> {
    OperationId::parse(raw).map_err(|e| InvalidTopUp::value("operation_id", e))
}

fn encode(answer: Recorded) -> Recorded {
    answer
}

/// Internal handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<TopUpBody>,
) -> Result<Recorded, TopUpError> {
    let answer = TopUp::parse(account_id, body)?.apply(&state).await?;
    Ok(encode(answer))
}

/// Public handler.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<TopUpBody>,
) -> Result<Recorded, TopUpError> {
    let answer = TopUp::parse_public(&context, account_id, body)?
        .apply(&state)
        .await?;
    Ok(encode(answer))
}
