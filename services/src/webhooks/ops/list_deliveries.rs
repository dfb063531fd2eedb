//! `GET /v1/webhook-deliveries` (merchants with `webhooks:read`: their own) and the internal
//! `GET /deliveries?merchant_id=`: deliveries, newest first.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use crate::domain::MerchantId;
use crate::http_error::ApiError;
use crate::rpc::{RequestContext, Role};
use crate::webhooks::WebhooksState;
use crate::webhooks::store::{self, DeliveryView};

/// Deliveries listed at most.
const LIMIT: i64 = 1000;

/// Internal query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    merchant_id: String,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryList {
    /// Newest first.
    pub deliveries: Vec<DeliveryView>,
}

/// Internal handler.
pub async fn handle(
    State(state): State<WebhooksState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let merchant = MerchantId::parse(&query.merchant_id)
        .map_err(|e| ApiError::unprocessable("invalid_request", e.to_string()))?;
    list(&state, &merchant).await
}

/// Public handler.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<WebhooksState>,
) -> Result<Json<DeliveryList>, ApiError> {
    let caller = context.require_scope("webhooks:read")?;
    if caller.role != Role::Merchant {
        return Err(ApiError::forbidden(
            "only merchants list webhook deliveries",
        ));
    }
    let merchant = MerchantId::parse(&caller.subject)
        .map_err(|_| ApiError::forbidden("the caller is not a merchant"))?;
    list(&state, &merchant).await
}

async fn list(
    state: &WebhooksState,
    merchant: &MerchantId,
) -> Result<Json<DeliveryList>, ApiError> {
    let deliveries = store::deliveries_of(state.pool(), merchant.as_str(), LIMIT)
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(DeliveryList { deliveries }))
}
