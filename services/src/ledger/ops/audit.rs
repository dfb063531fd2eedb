//! `GET /audit` (internal) and `GET /v1/ledger/audit` (public `auditLedger`, operators with
//! `ledger:audit`): proves double entry per currency. `balanced` is true when, for every
//! currency, the postings sum to zero, the account balances (funding account included) sum to
//! zero, and every account's running `balance`/`held` equal the sums of its postings/open holds.
//! 200 the report; 401/403 on the public route without an identity or the scope.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::ledger::LedgerState;
use crate::ledger::error::{AccessError, AuditError};
use crate::ledger::store::{self, AuditTotals};
use crate::rpc::RequestContext;
use crate::service::Operation;

/// The public operation, as the contract names it.
pub const OPERATION: Operation = Operation::new::<AuditError>("auditLedger", &[200]);

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

/// A request for the audit (it takes no parameters).
#[derive(Debug)]
pub struct RunAudit;

impl RunAudit {
    /// Internal route: anyone who can reach it.
    pub fn parse() -> Self {
        RunAudit
    }

    /// Public route: operators with `ledger:audit`.
    pub fn parse_public(context: &RequestContext) -> Result<Self, AuditError> {
        AccessError::require(context, "ledger:audit")?;
        Ok(RunAudit)
    }

    /// Reads the totals (one snapshot) and checks them.
    pub async fn apply(self, state: &LedgerState) -> Result<Audit, AuditError> {
        Ok(check(store::audit_totals(&state.pool).await?))
    }
}

/// The report the totals make.
fn check(totals: AuditTotals) -> Audit {
    let postings: BTreeMap<_, _> = totals.postings.into_iter().collect();
    let holds: BTreeMap<_, _> = totals
        .holds
        .into_iter()
        .map(|(c, n, sum)| (c, (n, sum)))
        .collect();
    let mut balanced = totals.drifted == 0 && postings.values().all(|sum| *sum == 0);
    let currencies = totals
        .balances
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
    Audit {
        balanced,
        currencies,
    }
}

fn encode(audit: Audit) -> Json<Audit> {
    Json(audit)
}

/// Internal handler.
pub async fn handle(State(state): State<LedgerState>) -> Result<Json<Audit>, AuditError> {
    let audit = RunAudit::parse().apply(&state).await?;
    Ok(encode(audit))
}

/// Public handler.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<LedgerState>,
) -> Result<Json<Audit>, AuditError> {
    let audit = RunAudit::parse_public(&context)?.apply(&state).await?;
    Ok(encode(audit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_currency_whose_open_holds_differ_from_its_accounts_held_sum_is_unbalanced() {
        let totals = |held_in_holds| AuditTotals {
            balances: vec![("GBP".into(), 0, 40, 100)],
            postings: vec![("GBP".into(), 0)],
            holds: vec![("GBP".into(), 1, held_in_holds)],
            drifted: 0,
        };
        assert!(check(totals(40)).balanced);
        assert!(!check(totals(39)).balanced);
    }
}
