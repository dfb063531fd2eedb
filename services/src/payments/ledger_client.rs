//! What payments asks of the ledger, typed: find accounts, hold, capture, release. Every call
//! goes through the shared [`RpcClient`] (traced, context and deadline propagated) and every
//! mutation carries the operation id the saga persisted, so retries replay instead of repeating.
//!
//! The ledger's answers are decoded here, once, into typed values ([`AccountStatus`],
//! [`LedgerRefusal`]); nothing else in payments reads the ledger's strings.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;

use crate::domain::{Currency, Money};
use crate::rpc::{CallOutcome, RequestContext, RpcClient, RpcError, RpcRequest};

/// An account as the ledger lists it (the fields payments needs).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LedgerAccount {
    /// `acc_…`.
    pub account_id: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Whether it takes payments.
    pub status: AccountStatus,
}

/// An account's `status` as the ledger reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Takes holds and captures.
    Open,
    /// Closed: refuses new payments.
    Closed,
    /// A status this version does not know: treated as not open.
    #[serde(other)]
    Unexpected,
}

/// Why the ledger refused a mutation (4xx), decoded from its `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerRefusal {
    /// The payer's available balance is too low.
    InsufficientFunds,
    /// The account is closed.
    AccountClosed,
    /// Any other refusal (an unknown account, a code this version does not know).
    #[serde(other)]
    Unexpected,
}

impl LedgerRefusal {
    /// Decodes a refusal's machine code.
    pub fn from_code(code: Option<&str>) -> Self {
        use serde::de::IntoDeserializer as _;
        let Some(code) = code else {
            return LedgerRefusal::Unexpected;
        };
        let decoder: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            code.into_deserializer();
        LedgerRefusal::deserialize(decoder).unwrap_or(LedgerRefusal::Unexpected)
    }
}

#[derive(Debug, Deserialize)]
struct AccountList {
    accounts: Vec<LedgerAccount>,
}

#[derive(Debug, Deserialize)]
struct HoldAnswer {
    hold_id: String,
}

/// How a ledger mutation ended.
#[derive(Debug)]
pub enum LedgerFailure {
    /// The ledger answered 4xx: it refused and will refuse again (recorded).
    Refused {
        /// Why, decoded from its `code`.
        refusal: LedgerRefusal,
        /// The whole error.
        error: RpcError,
    },
    /// Not reached, 5xx or timeout: try again later with the same operation id.
    Retry(RpcError),
}

impl From<RpcError> for LedgerFailure {
    fn from(error: RpcError) -> Self {
        match error.outcome() {
            CallOutcome::Refused => LedgerFailure::Refused {
                refusal: LedgerRefusal::from_code(error.code()),
                error,
            },
            CallOutcome::NotReached | CallOutcome::Unknown => LedgerFailure::Retry(error),
        }
    }
}

/// The ledger, as payments uses it. Clone freely.
#[derive(Debug, Clone)]
pub struct LedgerClient {
    rpc: RpcClient,
    /// Positive lookups of `(owner, currency)` → open account. An account never changes owner
    /// or currency, so a hit names the right account; it saves a round trip per payment on the
    /// hot path. Only open accounts are cached (an account closed later is still refused by the
    /// ledger's hold for payers; a payee closed later still receives captures).
    accounts: Arc<Mutex<HashMap<(String, String), LedgerAccount>>>,
}

/// Entries kept before the account cache is cleared (bounds memory).
const ACCOUNT_CACHE_LIMIT: usize = 100_000;

impl LedgerClient {
    /// Wraps the RPC client for the ledger.
    pub fn new(rpc: RpcClient) -> Self {
        LedgerClient {
            rpc,
            accounts: Arc::default(),
        }
    }

    /// The owner's accounts (optionally only in `currency`).
    pub async fn accounts(
        &self,
        ctx: &RequestContext,
        owner_id: &str,
        currency: Option<Currency>,
    ) -> Result<Vec<LedgerAccount>, RpcError> {
        let path = match currency {
            Some(currency) => format!("/accounts?owner_id={owner_id}&currency={currency}"),
            None => format!("/accounts?owner_id={owner_id}"),
        };
        let list: AccountList = self.rpc.get_json(ctx, &path).await?;
        Ok(list.accounts)
    }

    /// The owner's account in `currency`, `Ok(None)` when it has none.
    pub async fn account_in(
        &self,
        ctx: &RequestContext,
        owner_id: &str,
        currency: Currency,
    ) -> Result<Option<LedgerAccount>, RpcError> {
        let key = (owner_id.to_owned(), currency.to_string());
        if let Some(hit) = self.accounts.lock().get(&key) {
            return Ok(Some(hit.clone()));
        }
        let accounts = self.accounts(ctx, owner_id, Some(currency)).await?;
        // Prefer an open account when the owner has several in the currency.
        let found = accounts
            .iter()
            .find(|account| account.status == AccountStatus::Open)
            .or(accounts.first())
            .cloned();
        if let Some(account) = found.as_ref().filter(|a| a.status == AccountStatus::Open) {
            let mut cache = self.accounts.lock();
            if cache.len() >= ACCOUNT_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, account.clone());
        }
        Ok(found)
    }

    /// Places a hold; the hold id on success.
    pub async fn hold(
        &self,
        ctx: &RequestContext,
        operation_id: &str,
        account_id: &str,
        money: Money,
    ) -> Result<String, LedgerFailure> {
        let body = json!({
            "operation_id": operation_id,
            "account_id": account_id,
            "amount": money.minor_units(),
            "currency": money.currency(),
        });
        let answer: HoldAnswer = self
            .rpc
            .call_json(ctx, keyed_post("/holds", &body)?)
            .await?;
        Ok(answer.hold_id)
    }

    /// Captures a hold to the payee.
    pub async fn capture(
        &self,
        ctx: &RequestContext,
        operation_id: &str,
        hold_id: &str,
        to_account_id: &str,
    ) -> Result<(), LedgerFailure> {
        let body = json!({ "operation_id": operation_id, "to_account_id": to_account_id });
        let request = keyed_post(&format!("/holds/{hold_id}/capture"), &body)?;
        let _: serde_json::Value = self.rpc.call_json(ctx, request).await?;
        Ok(())
    }

    /// Releases a hold.
    pub async fn release(
        &self,
        ctx: &RequestContext,
        operation_id: &str,
        hold_id: &str,
    ) -> Result<(), LedgerFailure> {
        let body = json!({ "operation_id": operation_id });
        let request = keyed_post(&format!("/holds/{hold_id}/release"), &body)?;
        let _: serde_json::Value = self.rpc.call_json(ctx, request).await?;
        Ok(())
    }
}

/// A ledger mutation: a POST that is idempotent by its operation id, so the RPC stack may retry
/// it after a failure that says "try again" (the ledger replays the first result).
fn keyed_post(path: &str, body: &serde_json::Value) -> Result<RpcRequest, RpcError> {
    Ok(RpcRequest::post_json(path, body)?.idempotent(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledgers_refusal_codes_decode_once_and_unknown_ones_are_unexpected() {
        assert_eq!(
            LedgerRefusal::from_code(Some("insufficient_funds")),
            LedgerRefusal::InsufficientFunds
        );
        assert_eq!(
            LedgerRefusal::from_code(Some("account_closed")),
            LedgerRefusal::AccountClosed
        );
        assert_eq!(
            LedgerRefusal::from_code(Some("account_not_found")),
            LedgerRefusal::Unexpected
        );
        assert_eq!(LedgerRefusal::from_code(None), LedgerRefusal::Unexpected);
    }

    #[test]
    fn an_account_status_this_version_does_not_know_is_not_open() {
        let account: LedgerAccount = serde_json::from_value(serde_json::json!({
            "account_id": "acc_1", "currency": "GBP", "status": "frozen"
        }))
        .unwrap();
        assert_eq!(account.status, AccountStatus::Unexpected);
    }
}
