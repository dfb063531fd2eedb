//! payments' typed errors, one enum per operation, each variant mapped once to a status and a
//! machine code with [`crate::error_answers!`]. The caller checks they share
//! ([`AccessDenied`]) live here too.

use crate::domain::{Currency, MerchantId, PaymentId};
use crate::http_error::{Answer, ErrorAnswer, Internal, InvalidRequest};
use crate::rpc::{Identity, RequestContext};

/// The caller may not use the operation.
#[derive(Debug, thiserror::Error)]
pub enum AccessDenied {
    /// No identity came with the request (edge always forwards one).
    #[error("this call needs an authenticated caller")]
    Unauthenticated,
    /// The caller lacks the scope or the role.
    #[error("{0}")]
    Forbidden(String),
}

crate::error_answers!(AccessDenied {
    Unauthenticated => UNAUTHORIZED "unauthenticated",
    Forbidden => FORBIDDEN "forbidden",
});

/// The caller's identity if it holds `scope`.
pub fn caller<'a>(context: &'a RequestContext, scope: &str) -> Result<&'a Identity, AccessDenied> {
    let identity = context.identity().ok_or(AccessDenied::Unauthenticated)?;
    if identity.has_scope(scope) {
        Ok(identity)
    } else {
        Err(AccessDenied::Forbidden(format!(
            "this call needs the `{scope}` scope"
        )))
    }
}

/// Why `POST /v1/payments` was refused.
#[derive(Debug, thiserror::Error)]
pub enum CreatePaymentError {
    /// Not a customer with `payments:write`.
    #[error(transparent)]
    Access(AccessDenied),
    /// The request came without an `Idempotency-Key` header.
    #[error("POST /v1/payments needs an Idempotency-Key header")]
    MissingIdempotencyKey,
    /// The `Idempotency-Key` header is empty, too long or not visible ASCII.
    #[error("Idempotency-Key must be 1 to 255 visible ASCII characters")]
    InvalidIdempotencyKey,
    /// The body or one of its fields is malformed.
    #[error(transparent)]
    Invalid(InvalidRequest),
    /// The reference is too long or holds control characters.
    #[error("reference must be at most {max} printable characters")]
    InvalidReference {
        /// The longest accepted reference.
        max: usize,
    },
    /// The key was used before by this customer for a different request.
    #[error("this Idempotency-Key was already used for a different payment request")]
    IdempotencyKeyReused,
    /// The merchant has no accounts at all.
    #[error("merchant `{0}` does not exist")]
    UnknownMerchant(MerchantId),
    /// The merchant has no account in the payment's currency.
    #[error("merchant `{merchant}` does not accept {currency}")]
    MerchantCurrencyMismatch {
        /// The merchant.
        merchant: MerchantId,
        /// The payment's currency.
        currency: Currency,
    },
    /// The customer has no account in the payment's currency.
    #[error("you have no {0} account to pay from")]
    PayerCurrencyMismatch(Currency),
    /// The merchant's settlement account is closed.
    #[error("merchant `{0}` no longer accepts payments")]
    MerchantClosed(MerchantId),
    /// The ledger refused the hold for lack of funds; the payment was recorded as failed.
    #[error("the account has not enough available funds; payment {0} was recorded as failed")]
    InsufficientFunds(PaymentId),
    /// The ledger could not be asked for the accounts.
    #[error("the ledger cannot be reached; try again")]
    LedgerUnavailable,
    /// The service stopped while driving the payment; it resumes after the restart.
    #[error("payments is shutting down; the payment resumes after restart")]
    ShuttingDown,
    /// Our side failed.
    #[error(transparent)]
    Internal(Internal),
}

crate::error_answers!(CreatePaymentError {
    MissingIdempotencyKey => BAD_REQUEST "missing_idempotency_key",
    InvalidIdempotencyKey => BAD_REQUEST "invalid_idempotency_key",
    InvalidReference => UNPROCESSABLE_ENTITY "invalid_reference",
    IdempotencyKeyReused => UNPROCESSABLE_ENTITY "idempotency_key_reused",
    UnknownMerchant => UNPROCESSABLE_ENTITY "unknown_merchant",
    MerchantCurrencyMismatch => UNPROCESSABLE_ENTITY "currency_mismatch",
    PayerCurrencyMismatch => UNPROCESSABLE_ENTITY "currency_mismatch",
    MerchantClosed => UNPROCESSABLE_ENTITY "account_closed",
    InsufficientFunds => UNPROCESSABLE_ENTITY "insufficient_funds",
    LedgerUnavailable => SERVICE_UNAVAILABLE "ledger_unavailable",
    ShuttingDown => SERVICE_UNAVAILABLE "shutting_down",
} delegates {
    Access(AccessDenied),
    Invalid(InvalidRequest),
    Internal(Internal),
});

impl CreatePaymentError {
    /// Every answer of `createPayment`: the enum's, plus the value codes of the fields it parses
    /// (`merchant_id`, `amount`, `currency`), which [`InvalidRequest`] cannot list by itself.
    pub fn all_answers() -> Vec<Answer> {
        use crate::domain::DomainError;
        let mut answers = Self::answers();
        answers.extend(
            [
                DomainError::InvalidId(String::new()),
                DomainError::InvalidAmount(String::new()),
                DomainError::InvalidCurrency(String::new()),
            ]
            .iter()
            .map(ErrorAnswer::answer),
        );
        answers
    }
}

impl From<AccessDenied> for CreatePaymentError {
    fn from(error: AccessDenied) -> Self {
        CreatePaymentError::Access(error)
    }
}

impl From<InvalidRequest> for CreatePaymentError {
    fn from(error: InvalidRequest) -> Self {
        CreatePaymentError::Invalid(error)
    }
}

impl From<Internal> for CreatePaymentError {
    fn from(error: Internal) -> Self {
        CreatePaymentError::Internal(error)
    }
}

impl From<anyhow::Error> for CreatePaymentError {
    fn from(error: anyhow::Error) -> Self {
        CreatePaymentError::Internal(Internal::from(error))
    }
}

/// Why `GET /v1/payments/{payment_id}` was refused.
#[derive(Debug, thiserror::Error)]
pub enum GetPaymentError {
    /// Without `payments:read`.
    #[error(transparent)]
    Access(AccessDenied),
    /// No such payment, or the caller is neither its customer nor its merchant.
    #[error("payment `{0}` not found")]
    NotFound(String),
    /// Our side failed.
    #[error(transparent)]
    Internal(Internal),
}

crate::error_answers!(GetPaymentError {
    NotFound => NOT_FOUND "not_found",
} delegates {
    Access(AccessDenied),
    Internal(Internal),
});

impl From<AccessDenied> for GetPaymentError {
    fn from(error: AccessDenied) -> Self {
        GetPaymentError::Access(error)
    }
}

impl From<anyhow::Error> for GetPaymentError {
    fn from(error: anyhow::Error) -> Self {
        GetPaymentError::Internal(Internal::from(error))
    }
}
