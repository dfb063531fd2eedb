//! `GET /accounts/{id}` (internal: any account) and `GET /v1/accounts/{id}` (public,
//! `accounts:read`: its owner, or an operator). 200 the account; 404 `not_found` when there is
//! none or (public) it is another party's, so existence is never revealed; 401/403 on the public
//! route without an identity or the scope.

use axum::Json;
use axum::extract::{Path, State};

use crate::ledger::LedgerState;
use crate::ledger::error::{AccessError, GetAccountError};
use crate::ledger::model::AccountView;
use crate::ledger::store;
use crate::rpc::{RequestContext, Role};
use crate::service::Operation;

/// The public operation, as the contract names it.
pub const OPERATION: Operation = Operation::new::<GetAccountError>("getAccount", &[200]);

/// Who is looking.
#[derive(Debug)]
enum Viewer {
    /// A peer service or an operator: any account.
    Anyone,
    /// A customer or merchant: only its own accounts.
    Owner(String),
}

/// A parsed request to read an account.
#[derive(Debug)]
pub struct GetAccount {
    account_id: String,
    viewer: Viewer,
}

impl GetAccount {
    /// Internal route: any account.
    pub fn parse(account_id: String) -> Self {
        GetAccount {
            account_id,
            viewer: Viewer::Anyone,
        }
    }

    /// Public route: the caller needs `accounts:read`; only operators see others' accounts.
    pub fn parse_public(
        context: &RequestContext,
        account_id: String,
    ) -> Result<Self, GetAccountError> {
        let caller = AccessError::require(context, "accounts:read")?;
        let viewer = match caller.role {
            Role::Operator => Viewer::Anyone,
            Role::Customer | Role::Merchant => Viewer::Owner(caller.subject.clone()),
        };
        Ok(GetAccount { account_id, viewer })
    }

    /// Loads the account if the viewer may see it (never a funding account).
    pub async fn apply(self, state: &LedgerState) -> Result<AccountView, GetAccountError> {
        let mut conn = state.pool.acquire().await?;
        let visible = store::load_account(&mut conn, &self.account_id)
            .await?
            .filter(|row| !row.is_funding())
            .filter(|row| match &self.viewer {
                Viewer::Anyone => true,
                Viewer::Owner(subject) => *subject == row.owner_id,
            });
        visible
            .map(AccountView::from)
            .ok_or(GetAccountError::NotFound {
                account_id: self.account_id,
            })
    }
}

fn encode(account: AccountView) -> Json<AccountView> {
    Json(account)
}

/// Internal handler.
pub async fn handle(
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, GetAccountError> {
    let account = GetAccount::parse(account_id).apply(&state).await?;
    Ok(encode(account))
}

/// Public handler.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<LedgerState>,
    Path(account_id): Path<String>,
) -> Result<Json<AccountView>, GetAccountError> {
    let account = GetAccount::parse_public(&context, account_id)?
        .apply(&state)
        .await?;
    Ok(encode(account))
}
