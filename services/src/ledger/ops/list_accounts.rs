//! `GET /accounts?owner_id=&currency=` (internal): an owner's accounts (optionally in one
//! currency), so payments can find the payer's and the merchant's accounts. 200
//! `{"accounts":[…]}`; 422 `missing_field` without `owner_id`, `invalid_id` /
//! `invalid_currency` for a malformed one.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::domain::{Currency, OwnerId};
use crate::http_error::InvalidRequest;
use crate::ledger::LedgerState;
use crate::ledger::error::{AccountValues, Invalid, ListAccountsError};
use crate::ledger::model::AccountView;
use crate::ledger::store::{self, AccountRow};

/// Query parameters, as sent.
#[derive(Debug, Deserialize)]
pub struct ListAccountsQuery {
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    currency: Option<String>,
}

/// A parsed listing request.
#[derive(Debug)]
pub struct ListAccounts {
    owner: OwnerId,
    currency: Option<Currency>,
}

/// Response body.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccountList {
    /// The matching accounts, by id.
    pub accounts: Vec<AccountView>,
}

impl ListAccounts {
    /// Reads the owner id (required) and the currency (optional).
    pub fn parse(query: ListAccountsQuery) -> Result<Self, ListAccountsError> {
        let owner = query.owner_id.ok_or_else(|| {
            Invalid::<AccountValues>::from(InvalidRequest::MissingField {
                field: "owner_id".into(),
            })
        })?;
        let owner =
            OwnerId::parse(&owner).map_err(|e| Invalid::<AccountValues>::value("owner_id", e))?;
        let currency = query
            .currency
            .as_deref()
            .map(Currency::parse)
            .transpose()
            .map_err(|e| Invalid::<AccountValues>::value("currency", e))?;
        Ok(ListAccounts { owner, currency })
    }

    /// The owner's accounts.
    pub async fn apply(self, state: &LedgerState) -> Result<Vec<AccountRow>, ListAccountsError> {
        Ok(store::list_accounts(&state.pool, &self.owner, self.currency).await?)
    }
}

fn encode(rows: Vec<AccountRow>) -> Json<AccountList> {
    Json(AccountList {
        accounts: rows.into_iter().map(AccountView::from).collect(),
    })
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Query(query): Query<ListAccountsQuery>,
) -> Result<Json<AccountList>, ListAccountsError> {
    let rows = ListAccounts::parse(query)?.apply(&state).await?;
    Ok(encode(rows))
}
