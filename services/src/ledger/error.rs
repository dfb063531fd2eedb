//! The ledger's typed errors, each variant mapped once to a status and a machine code.
//!
//! Errors the operations share are types of their own, which each operation's enum wraps as a
//! delegate: [`AccessError`] (public routes), [`AccountRefusal`] (an account that cannot take
//! the money), [`Invalid`] (a refused request body, listing the value codes of the fields that
//! operation parses). Refusals the ledger records with the operation id (`insufficient_funds`,
//! `account_closed`, …) are replayed by [`Recorded::refused`](super::Recorded::refused) from
//! these same types, so a replay answers exactly what the first request did.

use std::fmt;
use std::marker::PhantomData;

use axum::http::StatusCode;

use crate::domain::{DomainError, Money, OperationId};
use crate::http_error::{Answer, ErrorAnswer, Internal, InvalidRequest};
use crate::rpc::{Identity, RequestContext};

/// Why a public route refuses its caller.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// No identity came with the request (edge sends one for every authenticated caller).
    #[error("this call needs an authenticated caller")]
    Unauthenticated,
    /// The caller lacks the scope the route needs.
    #[error("this call needs the `{0}` scope")]
    Forbidden(&'static str),
}

crate::error_answers!(AccessError {
    Unauthenticated => UNAUTHORIZED "unauthenticated",
    Forbidden => FORBIDDEN "forbidden",
});

impl AccessError {
    /// The caller's identity if it holds `scope`.
    pub fn require<'a>(
        context: &'a RequestContext,
        scope: &'static str,
    ) -> Result<&'a Identity, AccessError> {
        let identity = context.identity().ok_or(AccessError::Unauthenticated)?;
        if identity.has_scope(scope) {
            Ok(identity)
        } else {
            Err(AccessError::Forbidden(scope))
        }
    }
}

/// Why an account cannot take part in a mutation that needs it open and in one currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    /// No such account (a funding account counts as none: nobody moves its money directly).
    #[error("account `{account_id}` does not exist")]
    NotFound {
        /// The account asked for.
        account_id: String,
    },
    /// The account holds another currency.
    #[error("account `{account_id}` holds {holds}, not {asked}")]
    CurrencyMismatch {
        /// The account.
        account_id: String,
        /// Its currency.
        holds: String,
        /// The currency of the request.
        asked: String,
    },
    /// The account was closed.
    #[error("account `{account_id}` is closed")]
    Closed {
        /// The account.
        account_id: String,
    },
}

crate::error_answers!(AccountRefusal {
    NotFound => NOT_FOUND "account_not_found",
    CurrencyMismatch => UNPROCESSABLE_ENTITY "currency_mismatch",
    Closed => UNPROCESSABLE_ENTITY "account_closed",
});

/// The value codes an operation's body can be refused with, besides the body-shape codes of
/// [`InvalidRequest`]: one marker type per set of parsed fields.
pub trait ParsedValues {
    /// The codes (all 422), e.g. `invalid_amount`.
    const CODES: &'static [&'static str];
}

/// A request refused before anything was applied: its shape, or one of the values `V` lists.
pub struct Invalid<V>(pub InvalidRequest, PhantomData<V>);

impl<V> Invalid<V> {
    /// A field whose value a domain type refused.
    pub fn value(field: &str, error: DomainError) -> Self {
        Invalid(InvalidRequest::value(field, error), PhantomData)
    }
}

impl<V> From<InvalidRequest> for Invalid<V> {
    fn from(error: InvalidRequest) -> Self {
        Invalid(error, PhantomData)
    }
}

impl<V> fmt::Debug for Invalid<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<V> fmt::Display for Invalid<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<V> std::error::Error for Invalid<V> {}

impl<V: ParsedValues> ErrorAnswer for Invalid<V> {
    fn answer(&self) -> Answer {
        self.0.answer()
    }

    fn answers() -> Vec<Answer> {
        let mut all = InvalidRequest::answers();
        all.extend(
            V::CODES
                .iter()
                .map(|code| Answer::new(StatusCode::UNPROCESSABLE_ENTITY, code)),
        );
        all
    }

    fn field(&self) -> Option<&str> {
        self.0.field()
    }
}

/// Money moved by an operation id: `operation_id`, `amount`, `currency` (top-ups).
pub struct MoneyValues;

impl ParsedValues for MoneyValues {
    const CODES: &'static [&'static str] = &["invalid_key", "invalid_amount", "invalid_currency"];
}

/// Money held on an account: a top-up's values and the `account_id` (holds).
pub struct HoldValues;

impl ParsedValues for HoldValues {
    const CODES: &'static [&'static str] = &[
        "invalid_key",
        "invalid_id",
        "invalid_amount",
        "invalid_currency",
    ];
}

/// An id and a currency (opening and listing accounts).
pub struct AccountValues;

impl ParsedValues for AccountValues {
    const CODES: &'static [&'static str] = &["invalid_id", "invalid_currency"];
}

/// An operation id alone (capture, release).
pub struct KeyValues;

impl ParsedValues for KeyValues {
    const CODES: &'static [&'static str] = &["invalid_key", "invalid_id"];
}

/// Why `GET /accounts/{id}` (and its public twin) found nothing to show.
#[derive(Debug, thiserror::Error)]
pub enum GetAccountError {
    /// Missing, a funding account, or (public route) another party's: the caller learns nothing.
    #[error("account `{account_id}` not found")]
    NotFound {
        /// The account asked for.
        account_id: String,
    },
    /// Public route: who may look.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(GetAccountError {
    NotFound => NOT_FOUND "not_found",
} delegates {
    Access(AccessError),
    Internal(Internal),
});

/// Why `GET /accounts?owner_id=&currency=` refused.
#[derive(Debug, thiserror::Error)]
pub enum ListAccountsError {
    /// A bad owner id or currency.
    #[error(transparent)]
    Invalid(#[from] Invalid<AccountValues>),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(ListAccountsError {} delegates {
    Invalid(Invalid<AccountValues>),
    Internal(Internal),
});

/// Why `POST /accounts` refused.
#[derive(Debug, thiserror::Error)]
pub enum OpenAccountError {
    /// The id is taken by an account with another owner, currency or kind.
    #[error("account `{account_id}` already exists with another owner, currency or kind")]
    AccountExists {
        /// The account id asked for.
        account_id: String,
    },
    /// A bad body.
    #[error(transparent)]
    Invalid(#[from] Invalid<AccountValues>),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(OpenAccountError {
    AccountExists => CONFLICT "account_exists",
} delegates {
    Invalid(Invalid<AccountValues>),
    Internal(Internal),
});

/// Why `POST /accounts/{id}/close` refused.
#[derive(Debug, thiserror::Error)]
pub enum CloseAccountError {
    /// Missing, or a funding account (those are never closed).
    #[error("account `{account_id}` not found")]
    NotFound {
        /// The account asked for.
        account_id: String,
    },
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(CloseAccountError {
    NotFound => NOT_FOUND "not_found",
} delegates {
    Internal(Internal),
});

/// Why a top-up (internal `POST /accounts/{id}/top-ups` or public `topUpAccount`) refused.
#[derive(Debug, thiserror::Error)]
pub enum TopUpError {
    /// The operation id was used before for another request.
    #[error("operation_id `{0}` was already used for a different request")]
    OperationIdReused(OperationId),
    /// The account cannot take the money (a closed account or a currency mismatch is recorded).
    #[error(transparent)]
    Refused(#[from] AccountRefusal),
    /// A bad body.
    #[error(transparent)]
    Invalid(#[from] Invalid<MoneyValues>),
    /// Public route: who may top up.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(TopUpError {
    OperationIdReused => UNPROCESSABLE_ENTITY "operation_id_reused",
} delegates {
    Refused(AccountRefusal),
    Invalid(Invalid<MoneyValues>),
    Access(AccessError),
    Internal(Internal),
});

/// Why `POST /holds` refused.
#[derive(Debug, thiserror::Error)]
pub enum PlaceHoldError {
    /// The operation id was used before for another request.
    #[error("operation_id `{0}` was already used for a different request")]
    OperationIdReused(OperationId),
    /// `balance - held` is below the amount (recorded: a replay refuses again).
    #[error("account `{account_id}` has less than {money} available")]
    InsufficientFunds {
        /// The account.
        account_id: String,
        /// What was asked for.
        money: Money,
    },
    /// The account cannot take a hold (a closed account or a currency mismatch is recorded).
    #[error(transparent)]
    Refused(#[from] AccountRefusal),
    /// A bad body.
    #[error(transparent)]
    Invalid(#[from] Invalid<HoldValues>),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(PlaceHoldError {
    OperationIdReused => UNPROCESSABLE_ENTITY "operation_id_reused",
    InsufficientFunds => UNPROCESSABLE_ENTITY "insufficient_funds",
} delegates {
    Refused(AccountRefusal),
    Invalid(Invalid<HoldValues>),
    Internal(Internal),
});

/// Why capturing or releasing a hold refused.
#[derive(Debug, thiserror::Error)]
pub enum SettleHoldError {
    /// The operation id was used before for another request.
    #[error("operation_id `{0}` was already used for a different request")]
    OperationIdReused(OperationId),
    /// No such hold.
    #[error("hold `{hold_id}` does not exist")]
    HoldNotFound {
        /// The hold asked for.
        hold_id: String,
    },
    /// The hold was captured or released by another operation (recorded).
    #[error("hold `{hold_id}` is already {status}")]
    HoldNotActive {
        /// The hold.
        hold_id: String,
        /// `captured` or `released`.
        status: String,
    },
    /// Another transaction closed the hold between this one's read and write (PostgreSQL; not
    /// recorded, so the caller may retry).
    #[error("hold `{hold_id}` was closed concurrently; retry")]
    ClosedConcurrently {
        /// The hold.
        hold_id: String,
    },
    /// Capture: the payee cannot receive it (missing, or in another currency; a closed payee
    /// still receives a capture).
    #[error(transparent)]
    Payee(#[from] AccountRefusal),
    /// A bad body.
    #[error(transparent)]
    Invalid(#[from] Invalid<KeyValues>),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(SettleHoldError {
    OperationIdReused => UNPROCESSABLE_ENTITY "operation_id_reused",
    HoldNotFound => NOT_FOUND "hold_not_found",
    HoldNotActive => CONFLICT "hold_not_active",
    ClosedConcurrently => CONFLICT "hold_not_active",
} delegates {
    Payee(AccountRefusal),
    Invalid(Invalid<KeyValues>),
    Internal(Internal),
});

/// Why the audit failed: only the database can.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Public route: who may audit.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] Internal),
}

crate::error_answers!(AuditError {} delegates {
    Access(AccessError),
    Internal(Internal),
});

/// Every operation's `?` on a database error.
macro_rules! from_sqlx {
    ($($error:ty),*) => {$(
        impl From<sqlx::Error> for $error {
            fn from(error: sqlx::Error) -> Self {
                Internal::from(error).into()
            }
        }
    )*};
}

from_sqlx!(
    GetAccountError,
    ListAccountsError,
    OpenAccountError,
    CloseAccountError,
    TopUpError,
    PlaceHoldError,
    SettleHoldError,
    AuditError
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::model::Recorded;
    use crate::rpc::Role;

    fn codes<E: ErrorAnswer>() -> Vec<(u16, &'static str)> {
        E::answers()
            .into_iter()
            .map(|answer| (answer.status.as_u16(), answer.code))
            .collect()
    }

    #[test]
    fn a_body_error_lists_the_shape_codes_and_only_the_values_its_operation_parses() {
        let money = codes::<Invalid<MoneyValues>>();
        assert!(money.contains(&(400, "malformed_json")));
        assert!(money.contains(&(422, "invalid_amount")));
        assert!(money.contains(&(422, "invalid_key")));
        assert!(!money.contains(&(422, "invalid_id")), "{money:?}");
    }

    #[test]
    fn a_refused_value_answers_its_own_code_and_names_its_field() {
        let error = TopUpError::from(Invalid::<MoneyValues>::value(
            "operation_id",
            OperationId::parse("").unwrap_err(),
        ));
        assert_eq!(error.answer().code, "invalid_key");
        assert_eq!(error.field(), Some("operation_id"));
    }

    #[test]
    fn a_public_route_refuses_no_identity_as_401_and_a_missing_scope_as_403() {
        let context = RequestContext::background(Default::default());
        let refused = AccessError::require(&context, "ledger:audit").unwrap_err();
        assert_eq!(refused.answer().status, StatusCode::UNAUTHORIZED);
        let context = context.with_identity(Some(Identity {
            subject: "cus_x".into(),
            role: Role::Customer,
            scopes: vec!["accounts:read".into()],
        }));
        assert!(AccessError::require(&context, "accounts:read").is_ok());
        let refused = AccessError::require(&context, "ledger:audit").unwrap_err();
        assert_eq!(refused.answer().status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_recorded_refusal_is_the_wire_form_of_its_typed_error() {
        let recorded = Recorded::refused(AccountRefusal::Closed {
            account_id: "acc_x".into(),
        });
        assert_eq!(recorded.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            recorded.body,
            serde_json::json!({"code": "account_closed", "message": "account `acc_x` is closed"})
        );
    }
}
