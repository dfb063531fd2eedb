//! SQL shared by the ledger's operations: the idempotency record ([`claim`], [`record`]) and
//! account rows.
//!
//! Every mutation runs in one transaction whose *first statement is a write* (the claim of its
//! operation id). On SQLite that takes the write lock before anything is read, so concurrent
//! mutations queue on the busy timeout instead of failing on a stale snapshot; on PostgreSQL the
//! unique key on `operations` makes a concurrent replay wait for the first one to commit.

use axum::http::StatusCode;
use serde::Serialize;
use sqlx::AnyConnection;

use crate::http_error::{ApiError, ErrorBody};

use crate::domain::OperationId;

/// The first result of a mutation, replayed for every later request with its operation id.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// The HTTP status of the first answer.
    pub status: StatusCode,
    /// Its JSON body (a success body or an `{"code","message"}` error body).
    pub body: serde_json::Value,
}

impl Recorded {
    /// A success answer.
    pub fn ok(status: StatusCode, body: &impl Serialize) -> Result<Self, ApiError> {
        Ok(Recorded {
            status,
            body: serde_json::to_value(body).map_err(ApiError::internal)?,
        })
    }

    /// A business refusal that is recorded and replayed like a success (e.g. `insufficient_funds`).
    pub fn refused(error: ApiError) -> Self {
        let body = error.body();
        Recorded {
            status: error.status,
            body: serde_json::json!({ "code": body.code, "message": body.message }),
        }
    }

    /// The error body when this is a refusal.
    pub fn error(&self) -> Option<ErrorBody> {
        if self.status.is_success() {
            None
        } else {
            serde_json::from_value(self.body.clone()).ok()
        }
    }
}

impl axum::response::IntoResponse for Recorded {
    fn into_response(self) -> axum::response::Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// Claims `operation_id` for a new mutation described by `request`.
///
/// Returns `Ok(None)` when the id is new (the caller applies the mutation and calls [`record`]
/// in the same transaction), `Ok(Some(first))` when it was used before with the same request
/// (replay the first result), and 422 `operation_id_reused` when it was used for another request.
pub async fn claim(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    request: &str,
) -> Result<Option<Recorded>, ApiError> {
    let inserted = sqlx::query(
        "INSERT INTO operations (operation_id, request, status, response, created_at) \
         VALUES ($1, $2, 0, '', $3) ON CONFLICT (operation_id) DO NOTHING",
    )
    .bind(operation_id.as_str())
    .bind(request)
    .bind(crate::db::now_rfc3339())
    .execute(&mut *conn)
    .await
    .map_err(ApiError::internal)?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let (first_request, status, response): (String, i64, String) =
        sqlx::query_as("SELECT request, status, response FROM operations WHERE operation_id = $1")
            .bind(operation_id.as_str())
            .fetch_one(&mut *conn)
            .await
            .map_err(ApiError::internal)?;
    if first_request != request {
        return Err(ApiError::unprocessable(
            "operation_id_reused",
            format!("operation_id `{operation_id}` was already used for a different request"),
        ));
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored status {status} is invalid")))?;
    let body = serde_json::from_str(&response).map_err(ApiError::internal)?;
    Ok(Some(Recorded { status, body }))
}

/// Stores the result of the mutation claimed by [`claim`]; commit afterwards.
pub async fn record(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    result: &Recorded,
) -> Result<(), ApiError> {
    sqlx::query("UPDATE operations SET status = $1, response = $2 WHERE operation_id = $3")
        .bind(i64::from(result.status.as_u16()))
        .bind(result.body.to_string())
        .bind(operation_id.as_str())
        .execute(&mut *conn)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// An account row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// `acc_…` (or `funding:<currency>`).
    pub account_id: String,
    /// `cus_…`/`mer_…` (or `minibank` for funding accounts).
    pub owner_id: String,
    /// ISO 4217 code.
    pub currency: String,
    /// `customer | merchant | funding`.
    pub kind: String,
    /// `open | closed`.
    pub status: String,
    /// Sum of the account's postings.
    pub balance: i64,
    /// Sum of the account's open holds.
    pub held: i64,
}

/// Loads one account.
pub async fn load_account(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<AccountRow>, ApiError> {
    sqlx::query_as(
        "SELECT account_id, owner_id, currency, kind, status, balance, held \
         FROM accounts WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(ApiError::internal)
}

/// Why a conditional UPDATE on an account changed nothing, for an account that must be open and
/// in `currency`: 404 `account_not_found`, 422 `currency_mismatch` or 422 `account_closed`;
/// `None` when none of those apply (so the remaining condition, e.g. funds, failed).
pub async fn account_refusal(
    conn: &mut AnyConnection,
    account_id: &str,
    currency: &str,
) -> Result<Option<ApiError>, ApiError> {
    let Some(account) = load_account(conn, account_id).await? else {
        return Ok(Some(ApiError::new(
            StatusCode::NOT_FOUND,
            "account_not_found",
            format!("account `{account_id}` does not exist"),
        )));
    };
    if account.currency != currency {
        return Ok(Some(ApiError::unprocessable(
            "currency_mismatch",
            format!(
                "account `{account_id}` holds {}, not {currency}",
                account.currency
            ),
        )));
    }
    if account.status != "open" {
        return Ok(Some(ApiError::unprocessable(
            "account_closed",
            format!("account `{account_id}` is closed"),
        )));
    }
    Ok(None)
}

/// Inserts the two legs of one operation in one statement.
pub async fn insert_postings(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    currency: &str,
    postings: &[super::rules::Posting; 2],
) -> Result<(), ApiError> {
    let now = crate::db::now_rfc3339();
    let [first, second] = postings;
    sqlx::query(
        "INSERT INTO postings (posting_id, operation_id, account_id, amount, currency, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6), ($7, $2, $8, $9, $5, $6)",
    )
    .bind(format!("pst_{}", uuid::Uuid::now_v7()))
    .bind(operation_id.as_str())
    .bind(first.account_id.as_str())
    .bind(first.amount)
    .bind(currency)
    .bind(&now)
    .bind(format!("pst_{}", uuid::Uuid::now_v7()))
    .bind(second.account_id.as_str())
    .bind(second.amount)
    .execute(&mut *conn)
    .await
    .map_err(ApiError::internal)?;
    Ok(())
}

impl sqlx::FromRow<'_, sqlx::any::AnyRow> for AccountRow {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row as _;
        Ok(AccountRow {
            account_id: row.try_get("account_id")?,
            owner_id: row.try_get("owner_id")?,
            currency: row.try_get("currency")?,
            kind: row.try_get("kind")?,
            status: row.try_get("status")?,
            balance: row.try_get("balance")?,
            held: row.try_get("held")?,
        })
    }
}
