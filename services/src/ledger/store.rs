//! All of the ledger's SQL: the idempotency record ([`claim`], [`record`]), accounts, holds,
//! postings and the audit's totals. The operations decide *what* changes (with [`rules`]); these
//! functions say *how*, one statement each.
//!
//! Every mutation runs in one transaction whose *first statement is a write* (the claim of its
//! operation id). On SQLite that takes the write lock before anything is read, so concurrent
//! mutations queue on the busy timeout instead of failing on a stale snapshot; on PostgreSQL the
//! unique key on `operations` makes a concurrent replay wait for the first one to commit.
//!
//! Lock order, the same in every ledger transaction so PostgreSQL never deadlocks: the operation
//! id, then the hold, then the accounts by id.

use axum::http::StatusCode;
use sqlx::{AnyConnection, AnyPool};

use super::error::AccountRefusal;
use super::model::{HoldView, Recorded};
use super::rules::{self, Posting};
use crate::domain::{Currency, Money, OperationId, OwnerId};
use crate::http_error::Internal;

/// What [`claim`] found for an operation id.
#[derive(Debug)]
pub enum Claim {
    /// The id is new and now claimed: apply the mutation and [`record`] its result in the same
    /// transaction.
    New,
    /// The id was used before for the same request: replay this first result.
    Replay(Recorded),
    /// The id was used before for another request.
    Reused,
}

/// Claims `operation_id` for a new mutation described by `request`.
pub async fn claim(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    request: &str,
) -> Result<Claim, Internal> {
    claim_presuming(conn, operation_id, request, None).await
}

/// As [`claim`], writing `presumed` as the result when the id is new: a mutation whose answer
/// is known before it runs (a hold's id is made up front) then needs no [`record`] when it
/// goes as presumed, one statement less. Another outcome is [`record`]ed over it in the same
/// transaction, and a rolled-back transaction takes the claim with it, so a replay can only
/// ever see the committed answer.
pub async fn claim_presuming(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    request: &str,
    presumed: Option<&Recorded>,
) -> Result<Claim, Internal> {
    let (status, response) = match presumed {
        Some(answer) => (i64::from(answer.status.as_u16()), answer.body.to_string()),
        None => (0, String::new()),
    };
    let inserted = sqlx::query(
        "INSERT INTO operations (operation_id, request, status, response, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (operation_id) DO NOTHING",
    )
    .bind(operation_id.as_str())
    .bind(request)
    .bind(status)
    .bind(response)
    .bind(crate::db::now_rfc3339())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let (first_request, status, response): (String, i64, String) =
        sqlx::query_as("SELECT request, status, response FROM operations WHERE operation_id = $1")
            .bind(operation_id.as_str())
            .fetch_one(&mut *conn)
            .await?;
    if first_request != request {
        return Ok(Claim::Reused);
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| Internal::from(anyhow::anyhow!("stored status {status} is invalid")))?;
    let body =
        serde_json::from_str(&response).map_err(|e| Internal::from(anyhow::Error::from(e)))?;
    Ok(Claim::Replay(Recorded { status, body }))
}

/// Stores the result of the mutation claimed by [`claim`]; commit afterwards.
pub async fn record(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    result: &Recorded,
) -> Result<(), Internal> {
    sqlx::query("UPDATE operations SET status = $1, response = $2 WHERE operation_id = $3")
        .bind(i64::from(result.status.as_u16()))
        .bind(result.body.to_string())
        .bind(operation_id.as_str())
        .execute(&mut *conn)
        .await?;
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

impl AccountRow {
    /// Funding accounts are the ledger's own: no caller reads, closes or moves them directly.
    pub fn is_funding(&self) -> bool {
        self.kind == "funding"
    }
}

/// Loads one account (funding accounts included).
pub async fn load_account(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<AccountRow>, Internal> {
    Ok(sqlx::query_as(
        "SELECT account_id, owner_id, currency, kind, status, balance, held \
             FROM accounts WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// An owner's accounts, optionally only those in `currency`, by id.
pub async fn list_accounts(
    pool: &AnyPool,
    owner: &OwnerId,
    currency: Option<Currency>,
) -> Result<Vec<AccountRow>, Internal> {
    let rows = match currency {
        Some(currency) => {
            sqlx::query_as(
                "SELECT account_id, owner_id, currency, kind, status, balance, held \
                 FROM accounts WHERE owner_id = $1 AND currency = $2 ORDER BY account_id",
            )
            .bind(owner.as_str())
            .bind(currency.as_str())
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(
                "SELECT account_id, owner_id, currency, kind, status, balance, held \
                 FROM accounts WHERE owner_id = $1 ORDER BY account_id",
            )
            .bind(owner.as_str())
            .fetch_all(pool)
            .await?
        }
    };
    Ok(rows)
}

/// Inserts an open, empty account unless the id exists; whether it was inserted.
pub async fn insert_account(
    conn: &mut AnyConnection,
    account_id: &str,
    owner_id: &str,
    currency: Currency,
    kind: &str,
) -> Result<bool, Internal> {
    let inserted = sqlx::query(
        "INSERT INTO accounts (account_id, owner_id, currency, kind, status, balance, held, created_at) \
         VALUES ($1, $2, $3, $4, 'open', 0, 0, $5) ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(owner_id)
    .bind(currency.as_str())
    .bind(kind)
    .bind(crate::db::now_rfc3339())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Closes an account (never a funding account); closing a closed one changes nothing.
pub async fn close_account(conn: &mut AnyConnection, account_id: &str) -> Result<(), Internal> {
    sqlx::query(
        "UPDATE accounts SET status = 'closed' WHERE account_id = $1 AND kind <> 'funding'",
    )
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Why an account that must be open and in `currency` is refused: missing (or a funding
/// account), another currency, or closed; `None` when none of those apply (so whatever else a
/// conditional UPDATE required, e.g. funds, was missing).
pub async fn account_refusal(
    conn: &mut AnyConnection,
    account_id: &str,
    currency: Currency,
) -> Result<Option<AccountRefusal>, Internal> {
    let account = load_account(conn, account_id).await?;
    Ok(refusal_of(account, account_id, currency))
}

/// [`account_refusal`] of an account already loaded (`None`: there is no such account).
pub fn refusal_of(
    account: Option<AccountRow>,
    account_id: &str,
    currency: Currency,
) -> Option<AccountRefusal> {
    let Some(account) = account.filter(|account| !account.is_funding()) else {
        return Some(AccountRefusal::NotFound {
            account_id: account_id.to_owned(),
        });
    };
    if account.currency != currency.as_str() {
        return Some(AccountRefusal::CurrencyMismatch {
            account_id: account_id.to_owned(),
            holds: account.currency,
            asked: currency.to_string(),
        });
    }
    if account.status != "open" {
        return Some(AccountRefusal::Closed {
            account_id: account_id.to_owned(),
        });
    }
    None
}

/// Credits an open customer or merchant account in the money's currency; whether one was.
pub async fn credit_open_account(
    conn: &mut AnyConnection,
    account_id: &str,
    money: Money,
) -> Result<bool, Internal> {
    let credited = sqlx::query(
        "UPDATE accounts SET balance = balance + $1 \
         WHERE account_id = $2 AND currency = $3 AND status = 'open' AND kind <> 'funding'",
    )
    .bind(money.minor_units())
    .bind(account_id)
    .bind(money.currency().as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(credited == 1)
}

/// Debits the money's currency's funding account, creating it on first use.
pub async fn debit_funding(conn: &mut AnyConnection, money: Money) -> Result<(), Internal> {
    let currency = money.currency();
    let funding = rules::funding_account_id(currency);
    sqlx::query(
        "INSERT INTO accounts (account_id, owner_id, currency, kind, status, balance, held, created_at) \
         VALUES ($1, $2, $3, 'funding', 'open', 0, 0, $4) ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(&funding)
    .bind(rules::FUNDING_OWNER)
    .bind(currency.as_str())
    .bind(crate::db::now_rfc3339())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE accounts SET balance = balance - $1 WHERE account_id = $2")
        .bind(money.minor_units())
        .bind(&funding)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Reserves the money on an open customer or merchant account in its currency if it fits in
/// `balance - held`: the check and the reservation are one conditional UPDATE, so two
/// concurrent holds can never both pass the check on the same money. Whether it was reserved.
pub async fn reserve(
    conn: &mut AnyConnection,
    account_id: &str,
    money: Money,
) -> Result<bool, Internal> {
    let reserved = sqlx::query(
        "UPDATE accounts SET held = held + $1 \
         WHERE account_id = $2 AND currency = $3 AND status = 'open' AND kind <> 'funding' \
           AND balance - held >= $1",
    )
    .bind(money.minor_units())
    .bind(account_id)
    .bind(money.currency().as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(reserved == 1)
}

/// Inserts a new hold (status `held`).
pub async fn insert_hold(conn: &mut AnyConnection, hold: &HoldView) -> Result<(), Internal> {
    sqlx::query(
        "INSERT INTO holds (hold_id, account_id, amount, currency, status, to_account_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'held', NULL, $5, $5)",
    )
    .bind(&hold.hold_id)
    .bind(&hold.account_id)
    .bind(hold.amount)
    .bind(&hold.currency)
    .bind(crate::db::now_rfc3339())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A hold row as read: id, account, amount, currency, status, payee.
type HoldColumns = (String, String, i64, String, String, Option<String>);

fn hold_view(
    (hold_id, account_id, amount, currency, status, to_account_id): HoldColumns,
) -> HoldView {
    HoldView {
        hold_id,
        account_id,
        amount,
        currency,
        status,
        to_account_id,
    }
}

/// Loads a hold.
pub async fn load_hold(
    conn: &mut AnyConnection,
    hold_id: &str,
) -> Result<Option<HoldView>, Internal> {
    let row: Option<HoldColumns> = sqlx::query_as(
        "SELECT hold_id, account_id, amount, currency, status, to_account_id FROM holds WHERE hold_id = $1",
    )
    .bind(hold_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(hold_view))
}

/// Loads a hold and, in the same statement, the account `account_id` (`None` when there is no
/// such account): a capture reads both, and each statement is a round trip to SQLite's thread.
pub async fn load_hold_and_account(
    conn: &mut AnyConnection,
    hold_id: &str,
    account_id: &str,
) -> Result<Option<(HoldView, Option<AccountRow>)>, Internal> {
    #[allow(clippy::type_complexity)]
    let row: Option<(
        String,
        String,
        i64,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<i64>,
        Option<i64>,
    )> = sqlx::query_as(
        "SELECT h.hold_id, h.account_id, h.amount, h.currency, h.status, h.to_account_id, \
                a.account_id, a.owner_id, a.currency, a.kind, a.status, a.balance, a.held \
         FROM holds h LEFT JOIN accounts a ON a.account_id = $2 WHERE h.hold_id = $1",
    )
    .bind(hold_id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(
        |(id, payer, amount, currency, status, payee, a0, a1, a2, a3, a4, a5, a6)| {
            let hold = hold_view((id, payer, amount, currency, status, payee));
            let account = match (a0, a1, a2, a3, a4, a5, a6) {
                (
                    Some(account_id),
                    Some(owner_id),
                    Some(currency),
                    Some(kind),
                    Some(status),
                    Some(balance),
                    Some(held),
                ) => Some(AccountRow {
                    account_id,
                    owner_id,
                    currency,
                    kind,
                    status,
                    balance,
                    held,
                }),
                _ => None,
            };
            (hold, account)
        },
    ))
}

/// Closes a hold that is still `held` as `captured` (with its payee) or `released`; whether it
/// was still held (on PostgreSQL another transaction may have closed it since it was read).
pub async fn close_hold(
    conn: &mut AnyConnection,
    hold_id: &str,
    status: &str,
    to_account_id: Option<&str>,
) -> Result<bool, Internal> {
    let closed = sqlx::query(
        "UPDATE holds SET status = $1, to_account_id = $2, updated_at = $3 \
         WHERE hold_id = $4 AND status = 'held'",
    )
    .bind(status)
    .bind(to_account_id)
    .bind(crate::db::now_rfc3339())
    .bind(hold_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(closed == 1)
}

/// Adds to an account's running balance and held sum.
pub async fn adjust_account(
    conn: &mut AnyConnection,
    account_id: &str,
    balance_change: i64,
    held_change: i64,
) -> Result<(), Internal> {
    sqlx::query(
        "UPDATE accounts SET balance = balance + $1, held = held + $2 WHERE account_id = $3",
    )
    .bind(balance_change)
    .bind(held_change)
    .bind(account_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts the two legs of one operation in one statement.
pub async fn insert_postings(
    conn: &mut AnyConnection,
    operation_id: &OperationId,
    currency: Currency,
    postings: &[Posting; 2],
) -> Result<(), Internal> {
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
    .bind(currency.as_str())
    .bind(&now)
    .bind(format!("pst_{}", uuid::Uuid::now_v7()))
    .bind(second.account_id.as_str())
    .bind(second.amount)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The audit's raw totals, all read from one snapshot.
#[derive(Debug, Default)]
pub struct AuditTotals {
    /// Per currency: sum of balances, sum of held, money that entered (minus funding balances).
    pub balances: Vec<(String, i64, i64, i64)>,
    /// Per currency: sum of postings.
    pub postings: Vec<(String, i64)>,
    /// Per currency: number and sum of open holds.
    pub holds: Vec<(String, i64, i64)>,
    /// Accounts whose running `balance`/`held` differ from their postings/open holds.
    pub drifted: i64,
}

/// Reads the audit's totals in one snapshot (SQLite WAL; REPEATABLE READ on PostgreSQL), so
/// holds placed by concurrent payments between two of these queries cannot make a sound ledger
/// look unbalanced.
pub async fn audit_totals(pool: &AnyPool) -> Result<AuditTotals, Internal> {
    let mut tx = crate::db::begin_snapshot(pool).await?;
    let balances = sqlx::query_as(
        "SELECT currency, CAST(SUM(balance) AS BIGINT), CAST(SUM(held) AS BIGINT), \
                CAST(SUM(CASE WHEN kind = 'funding' THEN -balance ELSE 0 END) AS BIGINT) \
         FROM accounts GROUP BY currency ORDER BY currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    let postings = sqlx::query_as(
        "SELECT currency, CAST(SUM(amount) AS BIGINT) FROM postings GROUP BY currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    let holds = sqlx::query_as(
        "SELECT currency, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM holds \
         WHERE status = 'held' GROUP BY currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    let drifted = sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts a WHERE \
           a.balance <> COALESCE((SELECT CAST(SUM(p.amount) AS BIGINT) FROM postings p WHERE p.account_id = a.account_id), 0) \
        OR a.held <> COALESCE((SELECT CAST(SUM(h.amount) AS BIGINT) FROM holds h WHERE h.account_id = a.account_id AND h.status = 'held'), 0)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(AuditTotals {
        balances,
        postings,
        holds,
        drifted,
    })
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
