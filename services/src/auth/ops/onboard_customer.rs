//! `POST /customers {"name","currency"}` (public: `POST /v1/customers`, scope `parties:write`)
//! -> 201 the customer, its account and its one-time credentials. Answers: 401
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
pub const OPERATION: Operation = Operation::new::<OnboardError>("createCustomer", &[201]);

/// The answer (wire).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    /// `cus_…`.
    pub customer_id: String,
    /// The customer's current account.
    pub account_id: String,
    /// Its client id.
    pub client_id: String,
    /// Its client secret, shown only here.
    pub client_secret: String,
    /// The account's currency.
    pub currency: String,
}

/// A customer to onboard (parsed).
#[derive(Debug)]
pub struct OnboardCustomer(Onboard);

impl OnboardCustomer {
    /// Checks the caller may onboard and reads the name and currency.
    pub fn parse(ctx: &RequestContext, body: OnboardBody) -> Result<Self, OnboardError> {
        Onboard::parse(ctx, body, PartyKind::Customer).map(Self)
    }

    /// Opens the account, then stores the customer.
    pub async fn apply(
        self,
        state: &AuthState,
        ctx: &RequestContext,
    ) -> Result<Onboarded, OnboardError> {
        self.0.apply(state, ctx).await
    }
}

fn encode(customer: Onboarded) -> (StatusCode, Json<CustomerView>) {
    (
        StatusCode::CREATED,
        Json(CustomerView {
            customer_id: customer.party_id,
            account_id: customer.account_id.as_str().to_owned(),
            client_id: customer.client_id.as_str().to_owned(),
            client_secret: customer.client_secret,
            currency: customer.currency.as_str().to_owned(),
        }),
    )
}

/// `POST /customers`.
pub async fn handle(
    State(state): State<AuthState>,
    ctx: RequestContext,
    ApiJson(body): ApiJson<OnboardBody>,
) -> Result<(StatusCode, Json<CustomerView>), OnboardError> {
    let customer = OnboardCustomer::parse(&ctx, body)?
        .apply(&state, &ctx)
        .await?;
    Ok(encode(customer))
}
