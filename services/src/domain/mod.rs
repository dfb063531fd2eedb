//! Domain values shared by the money services: parsed once at the edge of a handler, then
//! trusted everywhere (parse, don't validate). Every type has private fields and is built only
//! through `parse`/`TryFrom`/`generate`.

mod currency;
mod ids;
mod money;

pub use currency::Currency;
pub use ids::{
    AccountId, CustomerId, DeliveryId, EndpointId, EventId, HoldId, IdempotencyKey, MerchantId,
    OperationId, OwnerId, PaymentId,
};
pub use money::{Amount, MAX_AMOUNT, Money};

/// Why a raw value is not a valid domain value. The `code` is the machine-readable error code
/// the HTTP layer returns with 422.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Not an integer in `1 ..= MAX_AMOUNT`.
    #[error("{0}")]
    InvalidAmount(String),
    /// Not an accepted ISO 4217 code.
    #[error("{0}")]
    InvalidCurrency(String),
    /// Not a well-formed prefixed id.
    #[error("{0}")]
    InvalidId(String),
    /// Not a well-formed caller-chosen key.
    #[error("{0}")]
    InvalidKey(String),
}

impl DomainError {
    /// The machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::InvalidAmount(_) => "invalid_amount",
            DomainError::InvalidCurrency(_) => "invalid_currency",
            DomainError::InvalidId(_) => "invalid_id",
            DomainError::InvalidKey(_) => "invalid_key",
        }
    }
}

impl crate::http_error::ErrorAnswer for DomainError {
    fn answer(&self) -> crate::http_error::Answer {
        crate::http_error::Answer::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, self.code())
    }

    fn answers() -> Vec<crate::http_error::Answer> {
        let every = [
            DomainError::InvalidAmount(String::new()),
            DomainError::InvalidCurrency(String::new()),
            DomainError::InvalidId(String::new()),
            DomainError::InvalidKey(String::new()),
        ];
        every.iter().map(|error| error.answer()).collect()
    }
}
