//! The double-entry rules, as pure functions: which postings each operation writes and when a
//! hold is allowed. The store applies them inside one transaction; these functions say *what*
//! is written, the store says *how*.

use crate::domain::{Currency, Money};

/// One leg of a double-entry operation: a signed amount on one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    /// The account the leg is written to.
    pub account_id: String,
    /// Signed minor units: positive credits the account, negative debits it.
    pub amount: i64,
}

/// The id of the external funding account of a currency: the counterpart of every top-up, so
/// the postings of each currency always sum to zero. It is the only account that may go
/// negative; its balance is minus the money that entered the ledger.
pub fn funding_account_id(currency: Currency) -> String {
    format!("funding:{currency}")
}

/// The owner recorded on funding accounts.
pub const FUNDING_OWNER: &str = "minibank";

/// A top-up moves money from the outside world (the funding account) into `account_id`.
pub fn top_up(account_id: &str, money: Money) -> [Posting; 2] {
    transfer(&funding_account_id(money.currency()), account_id, money)
}

/// A capture moves the held money from the payer to the payee.
pub fn capture(payer_account_id: &str, payee_account_id: &str, money: Money) -> [Posting; 2] {
    transfer(payer_account_id, payee_account_id, money)
}

/// Two legs that sum to zero: `from` is debited and `to` credited by the same amount.
fn transfer(from: &str, to: &str, money: Money) -> [Posting; 2] {
    [
        Posting {
            account_id: from.to_owned(),
            amount: -money.minor_units(),
        },
        Posting {
            account_id: to.to_owned(),
            amount: money.minor_units(),
        },
    ]
}

/// What an account can still spend: its balance minus its open holds.
pub fn available(balance: i64, held: i64) -> i64 {
    balance - held
}

/// Whether a hold of `amount` fits in what the account can spend. The store enforces the same
/// rule atomically in SQL (`balance - held >= amount` in the UPDATE's WHERE clause); this is the
/// reference the tests compare it to.
pub fn hold_fits(balance: i64, held: i64, amount: i64) -> bool {
    available(balance, held) >= amount
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbp(minor: i64) -> Money {
        Money::parse(minor, "GBP").unwrap()
    }

    #[test]
    fn every_operation_sums_to_zero() {
        for postings in [top_up("acc_a", gbp(500)), capture("acc_a", "acc_b", gbp(7))] {
            assert_eq!(postings.iter().map(|p| p.amount).sum::<i64>(), 0);
        }
    }

    #[test]
    fn a_top_up_debits_the_funding_account_of_its_currency() {
        let [from, to] = top_up("acc_a", gbp(500));
        assert_eq!(from.account_id, "funding:GBP");
        assert_eq!(from.amount, -500);
        assert_eq!(
            to,
            Posting {
                account_id: "acc_a".into(),
                amount: 500
            }
        );
    }

    #[test]
    fn a_capture_debits_the_payer_and_credits_the_payee() {
        let [payer, payee] = capture("acc_a", "acc_b", gbp(30));
        assert_eq!((payer.account_id.as_str(), payer.amount), ("acc_a", -30));
        assert_eq!((payee.account_id.as_str(), payee.amount), ("acc_b", 30));
    }

    #[test]
    fn holds_fit_only_within_the_available_balance() {
        assert!(hold_fits(100, 0, 100));
        assert!(hold_fits(100, 40, 60));
        assert!(!hold_fits(100, 40, 61));
        assert!(!hold_fits(0, 0, 1));
    }
}
