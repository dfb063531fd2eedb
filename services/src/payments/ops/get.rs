//! `GET /v1/payments/{payment_id}`: the paying customer or the payee merchant (`payments:read`)
//! sees the payment; anyone else gets 404, as if it did not exist.

use axum::Json;
use axum::extract::{Path, State};

use crate::http_error::ApiError;
use crate::payments::PaymentsState;
use crate::payments::model::Payment;
use crate::payments::store;
use crate::rpc::{RequestContext, Role};

/// Handler.
pub async fn handle(
    context: RequestContext,
    State(state): State<PaymentsState>,
    Path(payment_id): Path<String>,
) -> Result<Json<Payment>, ApiError> {
    let caller = context.require_scope("payments:read")?;
    store::load(state.pool(), &payment_id)
        .await
        .map_err(ApiError::internal)?
        .filter(|row| {
            caller.role == Role::Operator
                || caller.subject == row.customer_id
                || caller.subject == row.merchant_id
        })
        .map(|row| Json(row.view()))
        .ok_or_else(|| ApiError::not_found(format!("payment `{payment_id}` not found")))
}
