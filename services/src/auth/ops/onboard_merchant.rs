//! `POST /merchants {"name","currency"}` (public: `POST /v1/merchants`, scope `parties:write`)
//! -> 201 the merchant, its settlement account and its one-time credentials. Answers: 401
//! `unauthenticated`, 403 `forbidden`; 422 `invalid_name`, `invalid_currency` and the body's
//! codes; 503 `dependency_unavailable` (the ledger could not open the account; nothing stored);
//! 500 `internal_error`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::auth::AuthState;
use crate::auth::error::OnboardError;
use crate::auth::model::{OnboardBody, PartyKind};
use crate::auth::onboarding::{Onboard, Onboarded};
use crate::http_error::ApiJson;
use crate::rpc::RequestContext;
use crate::service::Operation;

/// The operation as the contract names it.
pub const OPERATION: Operation = Operation::new::<OnboardError>("createMerchant", &[201]);

/// The answer (wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerchantView {
    /// `mer_…`.
    pub merchant_id: String,
    /// The account payments to the merchant settle into.
    pub settlement_account_id: String,
    /// Its client id.
    pub client_id: String,
    /// Its client secret, shown only here.
    pub client_secret: String,
    /// The account's currency.
    pub currency: String,
}

/// A merchant to onboard (parsed).
#[derive(Debug)]
pub struct OnboardMerchant(Onboard);

impl OnboardMerchant {
    /// Checks the caller may onboard and reads the name and currency.
    pub fn parse(ctx: &RequestContext, body: OnboardBody) -> Result<Self, OnboardError> {
        Onboard::parse(ctx, body, PartyKind::Merchant).map(Self)
    }

    /// Opens the account, then stores the merchant.
    pub async fn apply(
        self,
        state: &AuthState,
        ctx: &RequestContext,
    ) -> Result<Onboarded, OnboardError> {
        self.0.apply(state, ctx).await
    }
}

fn encode(merchant: Onboarded) -> (StatusCode, Json<MerchantView>) {
    (
        StatusCode::CREATED,
        Json(MerchantView {
            merchant_id: merchant.party_id,
            settlement_account_id: merchant.account_id.as_str().to_owned(),
            client_id: merchant.client_id.as_str().to_owned(),
            client_secret: merchant.client_secret,
            currency: merchant.currency.as_str().to_owned(),
        }),
    )
}

/// `POST /merchants`.
pub async fn handle(
    State(state): State<AuthState>,
    ctx: RequestContext,
    ApiJson(body): ApiJson<OnboardBody>,
) -> Result<(StatusCode, Json<MerchantView>), OnboardError> {
    let merchant = OnboardMerchant::parse(&ctx, body)?
        .apply(&state, &ctx)
        .await?;
    Ok(encode(merchant))
}
