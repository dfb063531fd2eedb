//! What auth asks of the ledger: to open a party's account. The ledger's answer is decoded here,
//! once, into typed values ([`OpenAccountFailure`], [`LedgerRefusal`]); nothing else in auth
//! reads the ledger's error codes.

use serde::de::IntoDeserializer as _;
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, Currency};
use crate::rpc::{CallOutcome, RequestContext, Role, RpcClient, RpcError};

/// The ledger, as auth uses it. Clone freely.
#[derive(Debug, Clone)]
pub struct LedgerClient {
    rpc: RpcClient,
}

/// The account to open for a new party.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    /// The id auth chose (the ledger opens it idempotently by this id).
    pub account_id: &'a AccountId,
    /// The party: `cus_…` or `mer_…`.
    pub owner_id: &'a str,
    /// Its currency.
    pub currency: Currency,
    /// Customer or merchant: the account's kind.
    pub role: Role,
}

/// The ledger's `POST /accounts` body (wire).
#[derive(Serialize)]
struct OpenAccountBody<'a> {
    account_id: &'a str,
    owner_id: &'a str,
    currency: &'a str,
    kind: &'a str,
}

/// Why the ledger did not open the account.
#[derive(Debug, thiserror::Error)]
pub enum OpenAccountFailure {
    /// The ledger answered and refused (4xx): it will refuse again.
    #[error("the ledger refused to open the account ({refusal:?}): {error}")]
    Refused {
        /// What it said, decoded.
        refusal: LedgerRefusal,
        /// The whole answer, for the log.
        error: RpcError,
    },
    /// Not reached, failing (5xx) or no answer in time, after one retry.
    #[error("{0}")]
    Unavailable(RpcError),
}

/// The ledger's refusal of an account opening, read from its `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerRefusal {
    /// The account id exists with another owner, currency or kind.
    AccountExists,
    /// The ledger does not accept the currency.
    InvalidCurrency,
    /// The ledger finds an id malformed.
    InvalidId,
    /// Any other code, or none: a refusal auth does not expect.
    #[serde(other)]
    Unexpected,
}

impl LedgerRefusal {
    /// Decodes the `code` of the ledger's error body: the one place auth reads it.
    pub fn decode(code: Option<&str>) -> Self {
        code.and_then(|code| {
            LedgerRefusal::deserialize(code.into_deserializer())
                .map_err(|_: serde::de::value::Error| ())
                .ok()
        })
        .unwrap_or(LedgerRefusal::Unexpected)
    }
}

impl LedgerClient {
    /// Wraps the RPC client for the ledger.
    pub fn new(rpc: RpcClient) -> Self {
        Self { rpc }
    }

    /// Opens the account, retrying once when the outcome is unknown (safe: the ledger opens
    /// accounts idempotently by id).
    pub async fn open_account(
        &self,
        ctx: &RequestContext,
        account: NewAccount<'_>,
    ) -> Result<(), OpenAccountFailure> {
        let body = OpenAccountBody {
            account_id: account.account_id.as_str(),
            owner_id: account.owner_id,
            currency: account.currency.as_str(),
            kind: account.role.as_str(),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer: Result<serde::de::IgnoredAny, RpcError> =
                self.rpc.post_json(ctx, "/accounts", &body).await;
            let error = match answer {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            match error.outcome() {
                CallOutcome::Unknown if attempt < 2 => {
                    tracing::warn!(%error, "opening the ledger account: outcome unknown, retrying");
                }
                CallOutcome::Refused => {
                    return Err(OpenAccountFailure::Refused {
                        refusal: LedgerRefusal::decode(error.code()),
                        error,
                    });
                }
                CallOutcome::Unknown | CallOutcome::NotReached => {
                    return Err(OpenAccountFailure::Unavailable(error));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledgers_codes_decode_to_refusals_and_anything_else_is_unexpected() {
        assert_eq!(
            LedgerRefusal::decode(Some("account_exists")),
            LedgerRefusal::AccountExists
        );
        assert_eq!(
            LedgerRefusal::decode(Some("invalid_currency")),
            LedgerRefusal::InvalidCurrency
        );
        assert_eq!(
            LedgerRefusal::decode(Some("something_new")),
            LedgerRefusal::Unexpected
        );
        assert_eq!(LedgerRefusal::decode(None), LedgerRefusal::Unexpected);
    }
}
