//! auth's typed errors, one per operation, each variant mapped once to a status and a code with
//! [`crate::error_answers!`].

use axum::http::StatusCode;

use super::ledger_client::OpenAccountFailure;
use super::model::InvalidName;
use crate::http_error::{Answer, ErrorAnswer, Internal, InvalidRequest};
use crate::rpc::AccessDenied;

/// Why `POST /tokens` issued no token.
#[derive(Debug, thiserror::Error)]
pub enum IssueTokenError {
    /// Unknown client id or wrong secret: one answer for both, so client ids cannot be probed.
    #[error("the client id or secret is wrong")]
    InvalidCredentials,
    /// The body is not `{"client_id","client_secret"}`.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The database or the signer failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(IssueTokenError {
    InvalidCredentials => UNAUTHORIZED "invalid_credentials",
} delegates {
    Invalid(InvalidRequest),
    Internal(Internal),
});

/// Why `POST /introspect` (edge's question) was not answered: only a body that is not
/// `{"token"}`; a bad token is an answer (`{"active": false}`), not an error.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    /// The body is not `{"token"}`.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
}

crate::error_answers!(IntrospectError {} delegates {
    Invalid(InvalidRequest),
});

/// Why `POST /customers` or `POST /merchants` onboarded nobody. Nothing is stored in any case:
/// the party is stored only after the ledger opened its account.
#[derive(Debug, thiserror::Error)]
pub enum OnboardError {
    /// No caller identity (edge always sends one; a direct call may not), or one without the
    /// onboarding scope.
    #[error(transparent)]
    Access(#[from] AccessDenied),
    /// The body's shape, or its currency, is refused.
    #[error(transparent)]
    Invalid(#[from] InvalidOnboardBody),
    /// The name is empty, too long or holds control characters.
    #[error(transparent)]
    InvalidName(#[from] InvalidName),
    /// The ledger could not be asked to open the account (unreachable, failing, no answer in
    /// time, even after one retry): nothing was stored, trying again is safe.
    #[error("the ledger could not open the account; try again")]
    LedgerUnavailable(#[source] OpenAccountFailure),
    /// The ledger refused to open an account auth had validated: the two disagree, a fault on
    /// our side (the cause is logged, the caller sees `internal_error`).
    #[error("{0}")]
    LedgerRefused(#[source] OpenAccountFailure),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(OnboardError {
    LedgerUnavailable => SERVICE_UNAVAILABLE "dependency_unavailable",
    LedgerRefused => INTERNAL_SERVER_ERROR "internal_error",
} delegates {
    Access(AccessDenied),
    Invalid(InvalidOnboardBody),
    InvalidName(InvalidName),
    Internal(Internal),
});

impl From<OpenAccountFailure> for OnboardError {
    fn from(failure: OpenAccountFailure) -> Self {
        match failure {
            OpenAccountFailure::Refused { .. } => OnboardError::LedgerRefused(failure),
            OpenAccountFailure::Unavailable(_) => {
                tracing::warn!(error = %failure, "the ledger could not open the account");
                OnboardError::LedgerUnavailable(failure)
            }
        }
    }
}

impl From<InvalidRequest> for OnboardError {
    fn from(error: InvalidRequest) -> Self {
        OnboardError::Invalid(InvalidOnboardBody(error))
    }
}

/// An onboarding body refused for its shape (the codes of [`InvalidRequest`]) or its currency
/// (422 `invalid_currency`, field `currency`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct InvalidOnboardBody(pub InvalidRequest);

impl ErrorAnswer for InvalidOnboardBody {
    fn answer(&self) -> Answer {
        self.0.answer()
    }

    fn answers() -> Vec<Answer> {
        let mut answers = InvalidRequest::answers();
        answers.push(Answer::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_currency",
        ));
        answers
    }

    fn field(&self) -> Option<&str> {
        self.0.field()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Currency;

    #[test]
    fn an_unknown_currency_is_listed_and_answered_as_invalid_currency_about_its_field() {
        let error = OnboardError::from(InvalidRequest::value(
            "currency",
            Currency::parse("XYZ").unwrap_err(),
        ));
        assert_eq!(error.answer().code, "invalid_currency");
        assert_eq!(error.field(), Some("currency"));
        assert!(OnboardError::answers().contains(&error.answer()));
    }
}
