//! The ledger's wire values shared between operations: the account and hold views, and the
//! [`Recorded`] answer of an idempotent mutation.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::store::AccountRow;
use crate::http_error::{ApiError, ErrorAnswer, Internal};

/// An account as `GET /accounts/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    /// `acc_…`.
    pub account_id: String,
    /// The owning party.
    pub owner_id: String,
    /// ISO 4217 code.
    pub currency: String,
    /// `customer | merchant`.
    pub kind: String,
    /// Sum of postings, minor units.
    pub balance: i64,
    /// Sum of open holds.
    pub held: i64,
    /// `balance - held`: what can still be held or spent.
    pub available: i64,
    /// `open | closed`.
    pub status: String,
}

impl From<AccountRow> for AccountView {
    fn from(row: AccountRow) -> Self {
        AccountView {
            available: super::rules::available(row.balance, row.held),
            account_id: row.account_id,
            owner_id: row.owner_id,
            currency: row.currency,
            kind: row.kind,
            balance: row.balance,
            held: row.held,
            status: row.status,
        }
    }
}

/// A hold as the hold, capture and release operations answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldView {
    /// `hld_…`.
    pub hold_id: String,
    /// The account whose funds are held.
    pub account_id: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// `held | captured | released`.
    pub status: String,
    /// The payee, once captured.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub to_account_id: Option<String>,
}

/// The first answer of a mutation, stored with its operation id in the mutation's transaction
/// and replayed for every later request with that id: a success, or a business refusal such as
/// `insufficient_funds` (refused again on replay even if money arrived since).
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The HTTP status of the first answer.
    pub status: StatusCode,
    /// Its JSON body (a success body or an `{"code","message"}` error body).
    pub body: serde_json::Value,
}

impl Recorded {
    /// A success answer.
    pub fn ok(status: StatusCode, body: &impl Serialize) -> Result<Self, Internal> {
        Ok(Recorded {
            status,
            body: serde_json::to_value(body).map_err(|e| Internal::from(anyhow::Error::from(e)))?,
        })
    }

    /// A business refusal, recorded and replayed like a success, in the wire form the typed
    /// error itself would answer with.
    pub fn refused(error: impl ErrorAnswer) -> Self {
        let error = ApiError::from(error);
        Recorded {
            status: error.status,
            body: serde_json::json!({ "code": error.code, "message": error.message }),
        }
    }
}

impl axum::response::IntoResponse for Recorded {
    fn into_response(self) -> axum::response::Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}
