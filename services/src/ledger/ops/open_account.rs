//! `POST /accounts {"account_id","owner_id","currency","kind"}` (internal): opens an account,
//! idempotently by account id (auth retries onboarding safely). 201 when new, 200 when it already
//! exists with the same owner, currency and kind, 409 `account_exists` when it exists with
//! others; 422 `invalid_id` / `invalid_currency` / `wrong_type` (an unknown kind) for bad values.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::domain::{AccountId, Currency, OwnerId};
use crate::http_error::{ApiJson, Internal};
use crate::ledger::LedgerState;
use crate::ledger::error::{AccountValues, Invalid, OpenAccountError};
use crate::ledger::model::AccountView;
use crate::ledger::store;

/// The request body, as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAccountBody {
    account_id: String,
    owner_id: String,
    currency: String,
    kind: AccountKind,
}

/// Who owns the account.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A customer's current account.
    Customer,
    /// A merchant's settlement account.
    Merchant,
}

impl AccountKind {
    fn as_str(self) -> &'static str {
        match self {
            AccountKind::Customer => "customer",
            AccountKind::Merchant => "merchant",
        }
    }
}

/// A parsed request to open an account.
#[derive(Debug)]
pub struct OpenAccount {
    account_id: AccountId,
    owner_id: OwnerId,
    currency: Currency,
    kind: AccountKind,
}

/// The account, and whether this request created it.
#[derive(Debug)]
pub struct Opened {
    account: AccountView,
    created: bool,
}

impl OpenAccount {
    /// Checks the ids and the currency.
    pub fn parse(body: OpenAccountBody) -> Result<Self, OpenAccountError> {
        Ok(OpenAccount {
            account_id: AccountId::parse(&body.account_id)
                .map_err(|e| Invalid::<AccountValues>::value("account_id", e))?,
            owner_id: OwnerId::parse(&body.owner_id)
                .map_err(|e| Invalid::<AccountValues>::value("owner_id", e))?,
            currency: Currency::parse(&body.currency)
                .map_err(|e| Invalid::<AccountValues>::value("currency", e))?,
            kind: body.kind,
        })
    }

    /// Inserts the account unless it exists; an existing one must match.
    pub async fn apply(self, state: &LedgerState) -> Result<Opened, OpenAccountError> {
        let mut conn = state.gate.writer(&state.pool).await?;
        let id = self.account_id.as_str();
        let created = store::insert_account(
            &mut conn,
            id,
            self.owner_id.as_str(),
            self.currency,
            self.kind.as_str(),
        )
        .await?;
        let account = store::load_account(&mut conn, id)
            .await?
            .ok_or_else(|| Internal::from(anyhow::anyhow!("account vanished after insert")))?;
        let same = account.owner_id == self.owner_id.as_str()
            && account.currency == self.currency.as_str()
            && account.kind == self.kind.as_str();
        if !created && !same {
            return Err(OpenAccountError::AccountExists {
                account_id: self.account_id.to_string(),
            });
        }
        Ok(Opened {
            account: AccountView::from(account),
            created,
        })
    }
}

fn encode(opened: Opened) -> (StatusCode, Json<AccountView>) {
    let status = if opened.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(opened.account))
}

/// Handler.
pub async fn handle(
    State(state): State<LedgerState>,
    ApiJson(body): ApiJson<OpenAccountBody>,
) -> Result<(StatusCode, Json<AccountView>), OpenAccountError> {
    let opened = OpenAccount::parse(body)?.apply(&state).await?;
    Ok(encode(opened))
}
