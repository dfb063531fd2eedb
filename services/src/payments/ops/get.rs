//! `GET /v1/payments/{payment_id}`: the paying customer or the payee merchant (`payments:read`),
//! or an operator, sees the payment (200); anyone else gets 404 `not_found`, as if it did not
//! exist, and so does an id that is not a payment id. See [`GetPaymentError`].

use axum::Json;
use axum::extract::{Path, State};

use crate::domain::PaymentId;
use crate::payments::PaymentsState;
use crate::payments::error::{GetPaymentError, caller};
use crate::payments::model::{Payment, PaymentRow};
use crate::payments::store;
use crate::rpc::{RequestContext, Role};
use crate::service::Operation;

/// The public operation, with every answer it can give.
pub const OPERATION: Operation = Operation::new::<GetPaymentError>("getPayment", &[200]);

/// The parsed request: which payment, and who asks.
#[derive(Debug)]
pub struct GetPayment {
    payment_id: PaymentId,
    /// The caller's subject (a customer or merchant id), unless an operator asks.
    viewer: Option<String>,
}

impl GetPayment {
    /// Reads the caller and the path.
    pub fn parse(context: &RequestContext, raw_id: String) -> Result<Self, GetPaymentError> {
        let identity = caller(context, "payments:read")?;
        let payment_id =
            PaymentId::parse(&raw_id).map_err(|_| GetPaymentError::NotFound(raw_id))?;
        let viewer = (identity.role != Role::Operator).then(|| identity.subject.clone());
        Ok(GetPayment { payment_id, viewer })
    }

    /// The payment, if the caller may see it.
    pub async fn apply(self, state: &PaymentsState) -> Result<PaymentRow, GetPaymentError> {
        store::load(state.pool(), self.payment_id.as_str())
            .await?
            .filter(|row| match &self.viewer {
                None => true,
                Some(subject) => *subject == row.customer_id || *subject == row.merchant_id,
            })
            .ok_or_else(|| GetPaymentError::NotFound(self.payment_id.to_string()))
    }
}

/// The payment's public view.
fn encode(row: PaymentRow) -> Json<Payment> {
    Json(row.view())
}

/// Handler.
pub async fn handle(
    context: RequestContext,
    State(state): State<PaymentsState>,
    Path(payment_id): Path<String>,
) -> Result<Json<Payment>, GetPaymentError> {
    let row = GetPayment::parse(&context, payment_id)?
        .apply(&state)
        .await?;
    Ok(encode(row))
}
