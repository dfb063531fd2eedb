//! The external bank provider (API.md "External bank provider"), reduced to the saga's
//! [`Outcome`]s. The provider deduplicates by `transfer_id` (our payment id), so resubmitting
//! after a restart never pays twice. The provider's answers are decoded here, once
//! ([`TransferStatus`]).

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::model::PaymentRow;
use super::saga::state::Outcome;
use crate::rpc::{CallOutcome, RequestContext, RpcClient, RpcRequest};

/// A transfer's `status` as the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// The provider will (or did) move the money.
    Accepted,
    /// The provider refused the transfer.
    Rejected,
    /// A status this version does not know: the outcome counts as unknown.
    #[serde(other)]
    Unexpected,
}

#[derive(Debug, Deserialize)]
struct TransferAnswer {
    status: TransferStatus,
}

/// The provider, as the saga uses it. Clone freely.
#[derive(Debug, Clone)]
pub struct ProviderClient {
    rpc: RpcClient,
}

impl ProviderClient {
    /// Wraps the RPC client for the provider (its timeout is the provider timeout).
    pub fn new(rpc: RpcClient) -> Self {
        ProviderClient { rpc }
    }

    /// `POST /transfers`: accepted, rejected (4xx), unreachable, or unknown (5xx, timeout).
    pub async fn submit(&self, ctx: &RequestContext, payment: &PaymentRow) -> Outcome {
        let body = json!({
            "transfer_id": payment.payment_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "debtor_account": payment.payer_account_id,
            "creditor_account": payment.payee_account_id,
            "reference": payment.reference,
        });
        let request = match RpcRequest::post_json("/transfers", &body) {
            Ok(request) => request,
            // Not sent at all: nothing happened at the provider.
            Err(_) => return Outcome::SubmitUnreachable,
        };
        match self.rpc.send(ctx, request).await {
            Ok(response) if response.status.is_success() => {
                match response
                    .json::<TransferAnswer>("provider")
                    .map(|a| a.status)
                {
                    Ok(TransferStatus::Accepted) => Outcome::SubmitAccepted,
                    Ok(TransferStatus::Rejected) => Outcome::SubmitRejected,
                    // A 2xx we cannot read: it may have accepted; ask.
                    Ok(TransferStatus::Unexpected) | Err(_) => Outcome::SubmitUnknown,
                }
            }
            Ok(response) if response.status.is_client_error() => Outcome::SubmitRejected,
            Ok(_) => Outcome::SubmitUnknown,
            Err(error) => match error.outcome() {
                CallOutcome::NotReached => Outcome::SubmitUnreachable,
                CallOutcome::Refused => Outcome::SubmitRejected,
                CallOutcome::Unknown => Outcome::SubmitUnknown,
            },
        }
    }

    /// `GET /transfers/{id}`: accepted, rejected or missing (404), or still unknown.
    pub async fn status(&self, ctx: &RequestContext, payment_id: &str) -> Outcome {
        let request = RpcRequest::get(format!("/transfers/{payment_id}"));
        match self.rpc.send(ctx, request).await {
            Ok(response) if response.status == StatusCode::NOT_FOUND => {
                Outcome::StatusRejectedOrMissing
            }
            Ok(response) if response.status.is_success() => {
                match response
                    .json::<TransferAnswer>("provider")
                    .map(|a| a.status)
                {
                    Ok(TransferStatus::Accepted) => Outcome::StatusAccepted,
                    Ok(TransferStatus::Rejected) => Outcome::StatusRejectedOrMissing,
                    Ok(TransferStatus::Unexpected) | Err(_) => Outcome::StatusUnknown,
                }
            }
            Ok(_) | Err(_) => Outcome::StatusUnknown,
        }
    }
}
