//! [`Answer`] and [`ErrorAnswer`]: a typed error maps each of its variants once to a status and
//! a machine code, and can list every answer it may give (the contract test reads that list).

use axum::http::StatusCode;

/// One non-success answer: its HTTP status and machine code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The snake_case machine code.
    pub code: &'static str,
}

impl Answer {
    /// An answer (usable in constants).
    pub const fn new(status: StatusCode, code: &'static str) -> Self {
        Self { status, code }
    }
}

/// A typed error of an operation or a service.
pub trait ErrorAnswer: std::error::Error {
    /// This error's status and code: the one place each variant is mapped.
    fn answer(&self) -> Answer;

    /// Every answer this type can give, for the contract test and the documentation.
    fn answers() -> Vec<Answer>
    where
        Self: Sized;

    /// The request field a validation error is about.
    fn field(&self) -> Option<&str> {
        None
    }
}

/// Implements [`ErrorAnswer`] for an error enum (usually a `thiserror` one): each listed variant
/// (unit, tuple or struct) maps to a status constant of `StatusCode` and a code; each
/// `delegates` variant is a one-field tuple variant holding another [`ErrorAnswer`] type,
/// whose answers and field it passes on. A variant left out does not compile.
///
/// ```ignore
/// error_answers!(HoldError {
///     AccountNotFound => NOT_FOUND "account_not_found",
///     InsufficientFunds => UNPROCESSABLE_ENTITY "insufficient_funds",
/// } delegates {
///     Invalid(InvalidRequest),
///     Internal(Internal),
/// });
/// ```
#[macro_export]
macro_rules! error_answers {
    ($error:ty {
        $($variant:ident => $status:ident $code:literal),* $(,)?
    } $(delegates { $($inner:ident($inner_ty:ty)),* $(,)? })?) => {
        impl $crate::http_error::ErrorAnswer for $error {
            fn answer(&self) -> $crate::http_error::Answer {
                match self {
                    $(Self::$variant { .. } => $crate::http_error::Answer::new(
                        ::axum::http::StatusCode::$status,
                        $code,
                    ),)*
                    $($(Self::$inner(inner) => $crate::http_error::ErrorAnswer::answer(inner),)*)?
                }
            }

            fn answers() -> Vec<$crate::http_error::Answer> {
                #[allow(unused_mut)]
                let mut all = vec![$($crate::http_error::Answer::new(
                    ::axum::http::StatusCode::$status,
                    $code,
                )),*];
                $($(all.extend(<$inner_ty as $crate::http_error::ErrorAnswer>::answers());)*)?
                all
            }

            fn field(&self) -> Option<&str> {
                match self {
                    $($(Self::$inner(inner) => $crate::http_error::ErrorAnswer::field(inner),)*)?
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }

        impl ::axum::response::IntoResponse for $error {
            fn into_response(self) -> ::axum::response::Response {
                $crate::http_error::ApiError::from(self).into_response()
            }
        }
    };
}

/// Something failed on our side (a database, a bug): 500 `internal_error`. The cause is logged
/// with its chain when the answer is sent; the caller gets a sentence pointing at the trace id.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Internal(#[from] anyhow::Error);

impl Internal {
    /// Its machine code.
    pub const CODE: &'static str = "internal_error";
    /// What the caller is told.
    pub const MESSAGE: &'static str =
        "something went wrong on our side; the trace id in the traceresponse header identifies it";
}

impl From<sqlx::Error> for Internal {
    fn from(error: sqlx::Error) -> Self {
        Internal(error.into())
    }
}

impl ErrorAnswer for Internal {
    fn answer(&self) -> Answer {
        Answer::new(StatusCode::INTERNAL_SERVER_ERROR, Self::CODE)
    }

    fn answers() -> Vec<Answer> {
        vec![Answer::new(StatusCode::INTERNAL_SERVER_ERROR, Self::CODE)]
    }
}
