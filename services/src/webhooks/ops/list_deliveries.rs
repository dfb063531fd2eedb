//! `GET /v1/webhook-deliveries` (`listWebhookDeliveries`: merchants with `webhooks:read`, their
//! own) and the internal `GET /deliveries?merchant_id=`: the merchant's deliveries, newest first
//! (at most [`LIMIT`]).
//!
//! Answers: 200 `{"deliveries":[…]}`; 401/403 for a caller who is not a merchant with the scope
//! (public), 422 `missing_field`/`invalid_id` (field `merchant_id`) for a bad query (internal),
//! 500 `internal_error`.

use axum::Json;
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use crate::domain::MerchantId;
use crate::http_error::{Internal, InvalidRequest};
use crate::rpc::RequestContext;
use crate::service::Operation;
use crate::webhooks::WebhooksState;
use crate::webhooks::error::{ListDeliveriesError, ListDeliveriesForError};
use crate::webhooks::model::{DeliveryView, calling_merchant};
use crate::webhooks::store;

/// Deliveries listed at most.
pub const LIMIT: i64 = 1000;

/// The public operation, as `openapi.json` lists it.
pub const OPERATION: Operation =
    Operation::new::<ListDeliveriesError>("listWebhookDeliveries", &[200]);

/// A listing, parsed: whose deliveries.
#[derive(Debug)]
pub struct ListDeliveries {
    merchant: MerchantId,
}

/// The answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeliveryList {
    /// Newest first.
    pub deliveries: Vec<DeliveryView>,
}

impl ListDeliveries {
    /// The public call: the calling merchant's deliveries.
    pub fn parse(context: &RequestContext) -> Result<Self, ListDeliveriesError> {
        let merchant = calling_merchant(context, "webhooks:read", "list webhook deliveries")?;
        Ok(ListDeliveries { merchant })
    }

    /// The internal call: the deliveries of the merchant the query names (`merchant_id=`).
    pub fn parse_internal(query: &HashMap<String, String>) -> Result<Self, ListDeliveriesForError> {
        let raw = query
            .get("merchant_id")
            .ok_or_else(|| InvalidRequest::MissingField {
                field: "merchant_id".into(),
            })?;
        let merchant =
            MerchantId::parse(raw).map_err(|e| InvalidRequest::value("merchant_id", e))?;
        Ok(ListDeliveries { merchant })
    }

    /// Reads the deliveries. Only the database can fail here, so the error is [`Internal`],
    /// which both entry points' errors carry.
    pub async fn apply(self, state: &WebhooksState) -> Result<DeliveryList, Internal> {
        let deliveries = store::deliveries_of(state.pool(), &self.merchant, LIMIT).await?;
        Ok(DeliveryList { deliveries })
    }
}

fn encode(list: DeliveryList) -> impl IntoResponse {
    Json(list)
}

/// `GET /v1/webhook-deliveries`.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<WebhooksState>,
) -> Result<impl IntoResponse, ListDeliveriesError> {
    let list = ListDeliveries::parse(&context)?.apply(&state).await?;
    Ok(encode(list))
}

/// `GET /deliveries?merchant_id=` (internal).
pub async fn handle(
    State(state): State<WebhooksState>,
    // A map of strings: reading the query cannot fail, so axum never answers for us.
    Query(query): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ListDeliveriesForError> {
    let list = ListDeliveries::parse_internal(&query)?
        .apply(&state)
        .await?;
    Ok(encode(list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http_error::ErrorAnswer;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn refused(pairs: &[(&str, &str)]) -> (&'static str, Option<String>) {
        let error = ListDeliveries::parse_internal(&query(pairs)).unwrap_err();
        (error.answer().code, error.field().map(str::to_owned))
    }

    #[test]
    fn the_internal_query_names_a_merchant() {
        let merchant = MerchantId::generate();
        let parsed = ListDeliveries::parse_internal(&query(&[
            ("x", "1"),
            ("merchant_id", merchant.as_str()),
        ]))
        .unwrap();
        assert_eq!(parsed.merchant, merchant);
        assert_eq!(refused(&[]), ("missing_field", Some("merchant_id".into())));
        assert_eq!(
            refused(&[("merchant_id", "cus_1")]),
            ("invalid_id", Some("merchant_id".into()))
        );
    }
}
