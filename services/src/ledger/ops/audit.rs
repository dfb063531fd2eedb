//! `GET /audit` (internal) and `GET /v1/ledger/audit` (operators with `ledger:audit`): proves
//! double entry per currency. `balanced` is true when, for every currency, the postings sum to
//! zero, the account balances (funding account included) sum to zero, and every account's
//! running `balance`/`held` equal the sums of its postings/open holds.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::http_error::ApiError;
use crate::ledger::LedgerState;
use crate::rpc::RequestContext;

/// The audit report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// Whether every check passed.
    pub balanced: bool,
    /// One entry per currency that has accounts.
    pub currencies: Vec<CurrencyAudit>,
}

/// The totals of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyAudit {
    /// ISO 4217 code.
    pub currency: String,
    /// Sum of every account's balance, funding account included: 0 when balanced.
    pub total_balances: i64,
    /// Money that entered through top-ups (minus the funding account's balance).
    pub total_top_ups: i64,
    /// Sum of open holds.
    pub total_held: i64,
    /// Number of open holds.
    pub open_holds: i64,
}

/// Internal handler.
pub async fn handle(State(state): State<LedgerState>) -> Result<Json<Audit>, ApiError> {
    run(&state).await.map(Json).map_err(ApiError::internal)
}

/// Public handler: operators with `ledger:audit`.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<LedgerState>,
) -> Result<Json<Audit>, ApiError> {
    context.require_scope("ledger:audit")?;
    run(&state).await.map(Json).map_err(ApiError::internal)
}

/// Computes the report.
pub async fn run(state: &LedgerState) -> anyhow::Result<Audit> {
    // One snapshot for every query (SQLite WAL; REPEATABLE READ on PostgreSQL), so holds placed
    // by concurrent payments between two of these queries cannot make a sound ledger look
    // unbalanced.
    let mut tx = crate::db::begin_snapshot(&state.pool).await?;
    let balances: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT currency, CAST(SUM(balance) AS BIGINT), CAST(SUM(held) AS BIGINT), \
                CAST(SUM(CASE WHEN kind = 'funding' THEN -balance ELSE 0 END) AS BIGINT) \
         FROM accounts GROUP BY currency ORDER BY currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    let postings: Vec<(String, i64)> = sqlx::query_as(
        "SELECT currency, CAST(SUM(amount) AS BIGINT) FROM postings GROUP BY currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    let holds: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT currency, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM holds \
         WHERE status = 'held' GROUP BY currency",
    )
    .fetch_all(&mut *tx)
    .await?;
    let drifted: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts a WHERE \
           a.balance <> COALESCE((SELECT CAST(SUM(p.amount) AS BIGINT) FROM postings p WHERE p.account_id = a.account_id), 0) \
        OR a.held <> COALESCE((SELECT CAST(SUM(h.amount) AS BIGINT) FROM holds h WHERE h.account_id = a.account_id AND h.status = 'held'), 0)",
    )
    .fetch_one(&mut *tx)
    .await?;

    tx.commit().await?;

    let postings: BTreeMap<_, _> = postings.into_iter().collect();
    let holds: BTreeMap<_, _> = holds.into_iter().map(|(c, n, sum)| (c, (n, sum))).collect();
    let mut balanced = drifted == 0 && postings.values().all(|sum| *sum == 0);
    let currencies = balances
        .into_iter()
        .map(|(currency, total_balances, total_held, total_top_ups)| {
            let (open_holds, held_in_holds) = holds.get(&currency).copied().unwrap_or((0, 0));
            balanced &= total_balances == 0 && held_in_holds == total_held;
            CurrencyAudit {
                currency,
                total_balances,
                total_top_ups,
                total_held,
                open_holds,
            }
        })
        .collect();
    Ok(Audit {
        balanced,
        currencies,
    })
}
