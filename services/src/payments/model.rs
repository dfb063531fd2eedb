//! The payment as the API shows it, and the stored row it is read from.

use serde::{Deserialize, Serialize};

use super::saga::state::{FailureReason, Step};

/// A row of the `payments` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    /// `pay_…`, also the provider's transfer id.
    pub payment_id: String,
    /// The paying customer.
    pub customer_id: String,
    /// The payee merchant.
    pub merchant_id: String,
    /// The customer's account in the payment's currency.
    pub payer_account_id: String,
    /// The merchant's settlement account.
    pub payee_account_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Free text shown to the provider.
    pub reference: String,
    /// The saga step (see [`Step`]).
    pub step: String,
    /// Why it failed, once decided.
    pub failure_reason: Option<String>,
    /// The ledger hold, once placed.
    pub hold_id: Option<String>,
    /// Operation id of the ledger hold.
    pub hold_operation_id: String,
    /// Operation id of the ledger capture.
    pub capture_operation_id: String,
    /// Operation id of the ledger release.
    pub release_operation_id: String,
    /// The customer's `Idempotency-Key`.
    pub idempotency_key: String,
    /// Canonical form of the create request, to detect a reused key.
    pub request_fingerprint: String,
    /// Failed attempts of the current step (drives the backoff).
    pub status_attempts: i64,
    /// Unix ms when the background worker may drive it next.
    pub next_attempt_at: i64,
    /// W3C context of the request that created it.
    pub traceparent: Option<String>,
    /// W3C tracestate.
    pub tracestate: Option<String>,
    /// W3C baggage.
    pub baggage: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

impl PaymentRow {
    /// The saga step; an unreadable value is reported, never guessed.
    pub fn step(&self) -> anyhow::Result<Step> {
        Step::parse(&self.step).ok_or_else(|| {
            anyhow::anyhow!(
                "payment {} has unknown step `{}`",
                self.payment_id,
                self.step
            )
        })
    }

    /// The recorded failure reason.
    pub fn failure(&self) -> Option<FailureReason> {
        self.failure_reason
            .as_deref()
            .and_then(FailureReason::parse)
    }

    /// The public view.
    pub fn view(&self) -> Payment {
        Payment {
            payment_id: self.payment_id.clone(),
            status: Step::parse(&self.step)
                .map(Step::public_status)
                .unwrap_or("processing")
                .to_owned(),
            customer_id: self.customer_id.clone(),
            merchant_id: self.merchant_id.clone(),
            payer_account_id: self.payer_account_id.clone(),
            payee_account_id: self.payee_account_id.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            reference: self.reference.clone(),
            failure_reason: self.failure_reason.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// The payment object of API.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// `pay_…`.
    pub payment_id: String,
    /// `pending | processing | settled | failed`.
    pub status: String,
    /// The paying customer.
    pub customer_id: String,
    /// The payee merchant.
    pub merchant_id: String,
    /// The customer's account.
    pub payer_account_id: String,
    /// The merchant's settlement account.
    pub payee_account_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Free text.
    pub reference: String,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub failure_reason: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}
