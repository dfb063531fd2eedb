//! `POST /v1/payments` with an `Idempotency-Key` header (customers with `payments:write`):
//! records the payment, runs the saga inside the request and answers with the state reached.
//!
//! - same key + same body → the same payment (200); same key + other body → 422
//!   `idempotency_key_reused`; missing key → 400 `missing_idempotency_key`. Keys are scoped per
//!   customer.
//! - unknown merchant → 422 `unknown_merchant`; no account in the currency (customer's or
//!   merchant's) → 422 `currency_mismatch`; the merchant's account closed → 422
//!   `account_closed`; insufficient funds → 422 `insufficient_funds` (the payment is recorded as
//!   `failed`, nothing held); the customer's account closed → `failed` with that reason.
//!
//! The saga runs in its own task, so a caller hanging up does not abandon a payment half-way.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tracing::Instrument as _;

use crate::domain::{Amount, Currency, CustomerId, IdempotencyKey, MerchantId, Money, PaymentId};
use crate::http_error::{ApiError, ApiJson};
use crate::payments::PaymentsState;
use crate::payments::model::PaymentRow;
use crate::payments::saga::state::{FailureReason, Step};
use crate::payments::store;
use crate::rpc::{RequestContext, Role};

/// Longest accepted `reference`.
const MAX_REFERENCE: usize = 140;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    merchant_id: String,
    amount: serde_json::Value,
    currency: String,
    #[serde(default)]
    reference: Option<String>,
}

/// The parsed request.
struct Parsed {
    merchant: MerchantId,
    money: Money,
    reference: String,
}

impl Parsed {
    fn parse(body: CreatePayment) -> Result<Self, ApiError> {
        let unprocessable =
            |e: crate::domain::DomainError| ApiError::unprocessable(e.code(), e.to_string());
        let merchant = MerchantId::parse(&body.merchant_id)
            .map_err(|e| ApiError::unprocessable("invalid_request", e.to_string()))?;
        let money = Money::new(
            Amount::from_json(&body.amount).map_err(unprocessable)?,
            Currency::parse(&body.currency).map_err(unprocessable)?,
        );
        let reference = body.reference.unwrap_or_default();
        if reference.chars().count() > MAX_REFERENCE || reference.chars().any(char::is_control) {
            return Err(ApiError::unprocessable(
                "invalid_request",
                format!("reference must be at most {MAX_REFERENCE} printable characters"),
            ));
        }
        Ok(Parsed {
            merchant,
            money,
            reference,
        })
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
}

/// Handler.
pub async fn handle(
    context: RequestContext,
    State(state): State<PaymentsState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreatePayment>,
) -> Result<Response, ApiError> {
    let caller = context.require_scope("payments:write")?;
    if caller.role != Role::Customer {
        return Err(ApiError::forbidden("only customers can create payments"));
    }
    let customer = CustomerId::parse(&caller.subject)
        .map_err(|_| ApiError::forbidden("the caller is not a customer"))?;
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_idempotency_key",
                "POST /v1/payments needs an Idempotency-Key header",
            )
        })?
        .to_str()
        .ok()
        .and_then(|raw| IdempotencyKey::parse(raw).ok())
        .ok_or_else(|| {
            ApiError::invalid_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
        })?;
    let request = Parsed::parse(body)?;
    let fingerprint = request.fingerprint();

    if let Some(existing) = store::load_by_key(state.pool(), customer.as_str(), key.as_str())
        .await
        .map_err(ApiError::internal)?
    {
        return replay(existing, &fingerprint);
    }

    let (payer, payee) = resolve_accounts(&state, &context, &customer, &request).await?;
    let payment_id = PaymentId::generate();
    let now = crate::db::now_rfc3339();
    let propagated = context.propagated();
    let row = PaymentRow {
        payment_id: payment_id.to_string(),
        customer_id: customer.to_string(),
        merchant_id: request.merchant.to_string(),
        payer_account_id: payer,
        payee_account_id: payee,
        amount: request.money.minor_units(),
        currency: request.money.currency().to_string(),
        reference: request.reference.clone(),
        step: Step::HoldPending.as_str().to_owned(),
        failure_reason: None,
        hold_id: None,
        hold_operation_id: format!("{payment_id}:hold"),
        capture_operation_id: format!("{payment_id}:capture"),
        release_operation_id: format!("{payment_id}:release"),
        idempotency_key: key.as_str().to_owned(),
        request_fingerprint: fingerprint.clone(),
        status_attempts: 0,
        next_attempt_at: store::now_ms(),
        traceparent: Some(propagated.traceparent).filter(|t| !t.is_empty()),
        tracestate: propagated.tracestate,
        baggage: propagated.baggage,
        created_at: now.clone(),
        updated_at: now,
    };
    // Claim before inserting so the background worker never picks up a payment this request drives.
    let claim = state.driver.try_claim(&row.payment_id).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("a fresh payment id was already in flight"))
    })?;
    if !store::insert(state.pool(), state.driver.gate(), &row)
        .await
        .map_err(ApiError::internal)?
    {
        // A concurrent request with the same key won the race.
        let existing = store::load_by_key(state.pool(), customer.as_str(), key.as_str())
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("idempotency key conflict without a row"))
            })?;
        return replay(existing, &fingerprint);
    }

    let driver = state.driver.clone();
    let stop = state.stop.clone();
    let saga_ctx = context.without_deadline();
    let saga = tokio::spawn(
        async move {
            tokio::select! {
                result = driver.drive(&saga_ctx, &claim, row) => Some(result),
                () = stop.cancelled() => None,
            }
        }
        .instrument(tracing::Span::current()),
    );
    match saga.await {
        Ok(Some(Ok(row))) => Ok(answer(&row, StatusCode::CREATED)),
        Ok(Some(Err(error))) => Err(ApiError::internal(error)),
        Ok(None) => Err(ApiError::unavailable(
            "payments is shutting down; the payment resumes after restart",
        )),
        Err(join) => Err(ApiError::internal(join)),
    }
}

/// Answers a request whose key was used before.
fn replay(existing: PaymentRow, fingerprint: &str) -> Result<Response, ApiError> {
    if existing.request_fingerprint != fingerprint {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different payment request",
        ));
    }
    Ok(answer(&existing, StatusCode::OK))
}

/// The payment, or 422 `insufficient_funds` when that is why it failed.
fn answer(row: &PaymentRow, status: StatusCode) -> Response {
    if row.failure() == Some(FailureReason::InsufficientFunds) {
        return ApiError::unprocessable(
            "insufficient_funds",
            format!(
                "the account has not enough available funds; payment {} was recorded as failed",
                row.payment_id
            ),
        )
        .into_response();
    }
    (status, axum::Json(row.view())).into_response()
}

/// Finds the payer's account (the customer's, in the currency) and the payee's (the merchant's
/// settlement account, in the currency).
async fn resolve_accounts(
    state: &PaymentsState,
    context: &RequestContext,
    customer: &CustomerId,
    request: &Parsed,
) -> Result<(String, String), ApiError> {
    let ledger = state.driver.ledger();
    let currency = request.money.currency();
    let unavailable = |error: crate::rpc::RpcError| {
        tracing::warn!(error = %error, "ledger lookup failed");
        ApiError::unavailable("the ledger cannot be reached; try again")
    };
    let (payee, payer) = tokio::join!(
        ledger.account_in(context, request.merchant.as_str(), currency),
        ledger.account_in(context, customer.as_str(), currency),
    );
    let payee = match payee.map_err(unavailable)? {
        Some(account) if account.status != "open" => {
            return Err(ApiError::unprocessable(
                "account_closed",
                format!("merchant `{}` no longer accepts payments", request.merchant),
            ));
        }
        Some(account) => account.account_id,
        None => {
            let any = ledger
                .accounts(context, request.merchant.as_str(), None)
                .await
                .map_err(unavailable)?;
            return Err(if any.is_empty() {
                ApiError::unprocessable(
                    "unknown_merchant",
                    format!("merchant `{}` does not exist", request.merchant),
                )
            } else {
                ApiError::unprocessable(
                    "currency_mismatch",
                    format!("merchant `{}` does not accept {currency}", request.merchant),
                )
            });
        }
    };
    // A closed payer account is refused by the ledger's hold: the payment is recorded as failed.
    let payer = payer
        .map_err(unavailable)?
        .map(|account| account.account_id)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "currency_mismatch",
                format!("you have no {currency} account to pay from"),
            )
        })?;
    Ok((payer, payee))
}
