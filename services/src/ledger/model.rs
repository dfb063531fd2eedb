//! The JSON shapes the ledger answers with.

use serde::{Deserialize, Serialize};

use super::store::AccountRow;

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
