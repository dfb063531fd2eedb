//! `POST /v1/payments` with an `Idempotency-Key` header (customers with `payments:write`):
//! records the payment, runs the saga inside the request and answers with the state reached
//! (201), or with the payment a replayed key names (200).
//!
//! Body: `{"merchant_id","amount","currency","reference"?}`. Answers (see [`CreatePaymentError`]):
//! - same key + same body → the same payment (200); same key + other body → 422
//!   `idempotency_key_reused`; missing key → 400 `missing_idempotency_key`; a key that is not 1
//!   to 255 visible ASCII characters → 400 `invalid_idempotency_key`. Keys are scoped per
//!   customer.
//! - unknown merchant → 422 `unknown_merchant`; no account in the currency (customer's or
//!   merchant's) → 422 `currency_mismatch`; the merchant's account closed → 422
//!   `account_closed`; insufficient funds → 422 `insufficient_funds` (the payment is recorded as
//!   `failed`, nothing held); the customer's account closed → `failed` with that reason.
//! - the ledger unreachable → 503 `ledger_unavailable`; the service stopping mid-saga → 503
//!   `shutting_down` (the payment resumes after the restart).
//!
//! The saga runs in its own task, so a caller hanging up does not abandon a payment half-way.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use tracing::Instrument as _;

use crate::domain::{Amount, Currency, CustomerId, IdempotencyKey, MerchantId, Money, PaymentId};
use crate::http_error::{ApiJson, Internal, InvalidRequest};
use crate::payments::PaymentsState;
use crate::payments::error::{AccessDenied, CreatePaymentError, caller};
use crate::payments::ledger_client::AccountStatus;
use crate::payments::model::PaymentRow;
use crate::payments::saga::state::{FailureReason, Step};
use crate::payments::store;
use crate::rpc::{RequestContext, Role};
use crate::service::Operation;

/// The public operation, with every answer it can give.
pub const OPERATION: Operation = Operation {
    id: "createPayment",
    success: &[200, 201],
    answers: CreatePaymentError::all_answers,
};

/// Longest accepted `reference`.
const MAX_REFERENCE: usize = 140;

/// The request body as it comes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentBody {
    merchant_id: String,
    amount: serde_json::Value,
    currency: String,
    #[serde(default)]
    reference: Option<String>,
}

/// The parsed request: who pays whom how much, under which key.
#[derive(Debug)]
pub struct CreatePayment {
    customer: CustomerId,
    key: IdempotencyKey,
    merchant: MerchantId,
    money: Money,
    reference: String,
}

/// What the request led to.
#[derive(Debug)]
pub enum Created {
    /// A new payment, in the state the saga reached.
    New(PaymentRow),
    /// The payment an earlier request with the same key and body created.
    Replayed(PaymentRow),
}

impl CreatePayment {
    /// Reads the caller, the `Idempotency-Key` header and the body.
    pub fn parse(
        context: &RequestContext,
        headers: &HeaderMap,
        body: CreatePaymentBody,
    ) -> Result<Self, CreatePaymentError> {
        let identity = caller(context, "payments:write")?;
        if identity.role != Role::Customer {
            return Err(
                AccessDenied::Forbidden("only customers can create payments".into()).into(),
            );
        }
        let customer = CustomerId::parse(&identity.subject)
            .map_err(|_| AccessDenied::Forbidden("the caller is not a customer".into()))?;
        let key = headers
            .get("idempotency-key")
            .ok_or(CreatePaymentError::MissingIdempotencyKey)?
            .to_str()
            .ok()
            .and_then(|raw| IdempotencyKey::parse(raw).ok())
            .ok_or(CreatePaymentError::InvalidIdempotencyKey)?;
        let merchant = MerchantId::parse(&body.merchant_id)
            .map_err(|e| InvalidRequest::value("merchant_id", e))?;
        let money = Money::new(
            Amount::from_json(&body.amount).map_err(|e| InvalidRequest::value("amount", e))?,
            Currency::parse(&body.currency).map_err(|e| InvalidRequest::value("currency", e))?,
        );
        let reference = body.reference.unwrap_or_default();
        if reference.chars().count() > MAX_REFERENCE || reference.chars().any(char::is_control) {
            return Err(CreatePaymentError::InvalidReference { max: MAX_REFERENCE });
        }
        Ok(CreatePayment {
            customer,
            key,
            merchant,
            money,
            reference,
        })
    }

    /// Replays the key's payment, or records a new one and drives its saga as far as it goes.
    pub async fn apply(
        self,
        state: &PaymentsState,
        context: &RequestContext,
    ) -> Result<Created, CreatePaymentError> {
        let fingerprint = self.fingerprint();
        let (customer, key) = (self.customer.as_str(), self.key.as_str());
        if let Some(existing) = store::load_by_key(state.pool(), customer, key).await? {
            return replay(existing, &fingerprint);
        }

        let (payer, payee) = self.resolve_accounts(state, context).await?;
        let payment_id = PaymentId::generate();
        // Claimed (and leased) before inserting, so no worker of any replica picks up a payment
        // this request drives.
        let mut claim = state.driver.claim_new(payment_id.as_str()).ok_or_else(|| {
            Internal::from(anyhow::anyhow!("a fresh payment id was already in flight"))
        })?;
        let row = self.row(
            &payment_id,
            payer,
            payee,
            fingerprint.clone(),
            context,
            claim.lease_until(),
        );
        if !store::insert(state.pool(), state.driver.gate(), &row).await? {
            // A concurrent request with the same key won the race.
            let existing = store::load_by_key(state.pool(), customer, key)
                .await?
                .ok_or_else(|| anyhow::anyhow!("idempotency key conflict without a row"))?;
            return replay(existing, &fingerprint);
        }

        let driver = state.driver.clone();
        let stop = state.stop.clone();
        let saga_ctx = context.without_deadline();
        let saga = tokio::spawn(
            async move {
                tokio::select! {
                    result = driver.drive(&saga_ctx, &mut claim, row) => Some(result),
                    () = stop.cancelled() => None,
                }
            }
            .instrument(tracing::Span::current()),
        );
        match saga.await {
            Ok(Some(Ok(row))) => refuse_insufficient_funds(row).map(Created::New),
            Ok(Some(Err(error))) => Err(error.into()),
            Ok(None) => Err(CreatePaymentError::ShuttingDown),
            Err(join) => Err(anyhow::Error::from(join).into()),
        }
    }

    /// What makes two requests "the same" for the idempotency key. Every field before the
    /// reference has a fixed shape, so the concatenation is unambiguous.
    fn fingerprint(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.merchant,
            self.money.minor_units(),
            self.money.currency(),
            self.reference
        )
    }

    /// The new payment's row, leased until `lease_until` by the request that drives it.
    fn row(
        &self,
        payment_id: &PaymentId,
        payer: String,
        payee: String,
        fingerprint: String,
        context: &RequestContext,
        lease_until: i64,
    ) -> PaymentRow {
        let now = crate::db::now_rfc3339();
        let propagated = context.propagated();
        PaymentRow {
            payment_id: payment_id.to_string(),
            customer_id: self.customer.to_string(),
            merchant_id: self.merchant.to_string(),
            payer_account_id: payer,
            payee_account_id: payee,
            amount: self.money.minor_units(),
            currency: self.money.currency().to_string(),
            reference: self.reference.clone(),
            step: Step::HoldPending.as_str().to_owned(),
            failure_reason: None,
            hold_id: None,
            hold_operation_id: format!("{payment_id}:hold"),
            capture_operation_id: format!("{payment_id}:capture"),
            release_operation_id: format!("{payment_id}:release"),
            idempotency_key: self.key.as_str().to_owned(),
            request_fingerprint: fingerprint,
            status_attempts: 0,
            next_attempt_at: lease_until,
            traceparent: Some(propagated.traceparent).filter(|t| !t.is_empty()),
            tracestate: propagated.tracestate,
            baggage: propagated.baggage,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// Finds the payer's account (the customer's, in the currency) and the payee's (the
    /// merchant's settlement account, in the currency).
    async fn resolve_accounts(
        &self,
        state: &PaymentsState,
        context: &RequestContext,
    ) -> Result<(String, String), CreatePaymentError> {
        let ledger = state.driver.ledger();
        let currency = self.money.currency();
        let unavailable = |error: crate::rpc::RpcError| {
            tracing::warn!(error = %error, "ledger lookup failed");
            CreatePaymentError::LedgerUnavailable
        };
        let (payee, payer) = tokio::join!(
            ledger.account_in(context, self.merchant.as_str(), currency),
            ledger.account_in(context, self.customer.as_str(), currency),
        );
        let payee = match payee.map_err(unavailable)? {
            Some(account) if account.status != AccountStatus::Open => {
                return Err(CreatePaymentError::MerchantClosed(self.merchant.clone()));
            }
            Some(account) => account.account_id,
            None => {
                let any = ledger
                    .accounts(context, self.merchant.as_str(), None)
                    .await
                    .map_err(unavailable)?;
                return Err(if any.is_empty() {
                    CreatePaymentError::UnknownMerchant(self.merchant.clone())
                } else {
                    CreatePaymentError::MerchantCurrencyMismatch {
                        merchant: self.merchant.clone(),
                        currency,
                    }
                });
            }
        };
        // A closed payer account is refused by the ledger's hold: the payment is recorded as failed.
        let payer = payer
            .map_err(unavailable)?
            .map(|account| account.account_id)
            .ok_or(CreatePaymentError::PayerCurrencyMismatch(currency))?;
        Ok((payer, payee))
    }
}

/// A request whose key was used before: the same payment, or 422 when the body differs.
fn replay(existing: PaymentRow, fingerprint: &str) -> Result<Created, CreatePaymentError> {
    if existing.request_fingerprint != fingerprint {
        return Err(CreatePaymentError::IdempotencyKeyReused);
    }
    refuse_insufficient_funds(existing).map(Created::Replayed)
}

/// A payment that failed for lack of funds is answered as 422 `insufficient_funds`.
fn refuse_insufficient_funds(row: PaymentRow) -> Result<PaymentRow, CreatePaymentError> {
    if row.failure() == Some(FailureReason::InsufficientFunds) {
        let id = PaymentId::parse(&row.payment_id)
            .map_err(|e| anyhow::anyhow!("stored payment id: {e}"))?;
        return Err(CreatePaymentError::InsufficientFunds(id));
    }
    Ok(row)
}

/// 201 with a new payment, 200 with a replayed one.
fn encode(created: Created) -> impl IntoResponse {
    let (status, row) = match created {
        Created::New(row) => (StatusCode::CREATED, row),
        Created::Replayed(row) => (StatusCode::OK, row),
    };
    (status, axum::Json(row.view()))
}

/// Handler.
pub async fn handle(
    context: RequestContext,
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePaymentBody>,
) -> Result<impl IntoResponse, CreatePaymentError> {
    let created = CreatePayment::parse(&context, &headers, body)?
        .apply(&state, &context)
        .await?;
    Ok(encode(created))
}
