//! Onboarding a party, what both onboarding operations (`ops::onboard_customer`,
//! `ops::onboard_merchant`) do and differ only in the kind of party: auth opens the party's
//! ledger account first (idempotent by account id, so a retry is safe), then stores the party
//! with freshly generated, hashed credentials, and shows the secret once.

use super::AuthState;
use super::credentials::HashedSecret;
use super::error::OnboardError;
use super::ledger_client::NewAccount;
use super::model::{
    ClientId, ONBOARDING_SCOPE, OnboardBody, PartyKind, PartyName, new_client_secret, scopes_for,
};
use super::store::{ClientRecord, NewParty};
use crate::domain::{AccountId, Currency};
use crate::http_error::InvalidRequest;
use crate::rpc::RequestContext;

/// A party to onboard (parsed: domain values only).
#[derive(Debug, Clone)]
pub struct Onboard {
    kind: PartyKind,
    name: PartyName,
    currency: Currency,
}

/// The onboarded party, with the secret shown this once.
#[derive(Debug, Clone)]
pub struct Onboarded {
    /// `cus_…` or `mer_…`.
    pub party_id: String,
    /// Its ledger account.
    pub account_id: AccountId,
    /// Its client id.
    pub client_id: ClientId,
    /// Its client secret (stored only hashed).
    pub client_secret: String,
    /// The account's currency.
    pub currency: Currency,
}

impl Onboard {
    /// Checks the caller may onboard, then reads the body's name and currency.
    pub fn parse(
        ctx: &RequestContext,
        body: OnboardBody,
        kind: PartyKind,
    ) -> Result<Self, OnboardError> {
        ctx.require_scope(ONBOARDING_SCOPE)?;
        let name = PartyName::parse(&body.name)?;
        let currency = Currency::parse(&body.currency)
            .map_err(|error| InvalidRequest::value("currency", error))?;
        Ok(Self {
            kind,
            name,
            currency,
        })
    }

    /// Opens the ledger account, then stores the party and its client in one transaction.
    pub async fn apply(
        self,
        state: &AuthState,
        ctx: &RequestContext,
    ) -> Result<Onboarded, OnboardError> {
        let role = self.kind.role();
        let party_id = self.kind.new_party_id();
        let account_id = AccountId::generate();
        state
            .ledger
            .open_account(
                ctx,
                NewAccount {
                    account_id: &account_id,
                    owner_id: &party_id,
                    currency: self.currency,
                    role,
                },
            )
            .await?;

        let client_id = ClientId::generate();
        let client_secret = new_client_secret();
        let client = ClientRecord {
            client_id: client_id.as_str().to_owned(),
            secret: HashedSecret::new(&client_secret),
            role,
            subject: party_id.clone(),
            scopes: scopes_for(role).iter().map(|s| (*s).to_owned()).collect(),
        };
        state
            .store
            .insert_party(&NewParty {
                party_id: &party_id,
                role,
                name: self.name.as_str(),
                currency: self.currency.as_str(),
                account_id: account_id.as_str(),
                client: &client,
            })
            .await?;
        tracing::info!(party_id = %party_id, account_id = %account_id.as_str(), role = %role, "party onboarded");
        Ok(Onboarded {
            party_id,
            account_id,
            client_id,
            client_secret,
            currency: self.currency,
        })
    }
}
