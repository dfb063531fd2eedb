//! The payment saga as a pure state machine: where a payment is ([`Step`]), what just happened
//! ([`Outcome`]) and where that leads ([`advance`]). The driver persists the step after every
//! transition, so a restarted process resumes exactly where the last one stopped.
//!
//! ```text
//! hold_pending --hold placed--> hold_placed --accepted--> capture_pending --captured--> settled
//!      |                           |  \--rejected/unreachable--> release_pending --released--> failed
//!      |                           \--5xx/timeout--> status_check --accepted--> capture_pending
//!      |                                               |  \--rejected/404--> release_pending
//!      |                                               \--query failed--> status_check (retry later)
//!      \--insufficient funds / account closed--> failed (nothing held)
//! ```

use std::fmt;

use crate::payments::ledger_client::LedgerRefusal;

/// Where a payment's saga is. Every step but `Settled` and `Failed` has work left to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Recorded; funds not held yet.
    HoldPending,
    /// Funds held; the transfer is (re)submitted to the provider from here. Resubmitting after
    /// a restart is safe: the provider deduplicates by transfer id.
    HoldPlaced,
    /// The submit's outcome is unknown (5xx or timeout); ask the provider for the status.
    StatusCheck,
    /// The provider accepted; capture the hold to the payee.
    CapturePending,
    /// The transfer will not happen; release the hold.
    ReleasePending,
    /// Final: money moved to the payee.
    Settled,
    /// Final: nothing moved; any hold was released.
    Failed,
}

impl Step {
    /// Whether the saga has finished.
    pub fn is_final(self) -> bool {
        matches!(self, Step::Settled | Step::Failed)
    }

    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::HoldPending => "hold_pending",
            Step::HoldPlaced => "hold_placed",
            Step::StatusCheck => "status_check",
            Step::CapturePending => "capture_pending",
            Step::ReleasePending => "release_pending",
            Step::Settled => "settled",
            Step::Failed => "failed",
        }
    }

    /// Reads a column value.
    pub fn parse(raw: &str) -> Option<Step> {
        [
            Step::HoldPending,
            Step::HoldPlaced,
            Step::StatusCheck,
            Step::CapturePending,
            Step::ReleasePending,
            Step::Settled,
            Step::Failed,
        ]
        .into_iter()
        .find(|step| step.as_str() == raw)
    }

    /// The public payment status of API.md: `pending | processing | settled | failed`.
    pub fn public_status(self) -> &'static str {
        match self {
            Step::HoldPending => "pending",
            Step::HoldPlaced | Step::StatusCheck | Step::CapturePending | Step::ReleasePending => {
                "processing"
            }
            Step::Settled => "settled",
            Step::Failed => "failed",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a payment failed (the payment's `failure_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureReason {
    /// The payer's available balance was too low; nothing was held.
    InsufficientFunds,
    /// The payer's or payee's account is closed; nothing was held.
    AccountClosed,
    /// The ledger refused the hold for another reason (e.g. the account is gone).
    AccountUnavailable,
    /// The provider refused the transfer (4xx).
    ProviderRejected,
    /// The provider could not be reached at all, so the transfer was never sent: the
    /// connection was refused, or payments' circuit to the provider was open (after several
    /// failed calls in a row, from any payment). A provider that answers, even 503, leaves the outcome unknown: the
    /// payment stays `processing` and asks the provider for the transfer's status until it
    /// answers, then settles or fails with `provider_failed`.
    ProviderUnavailable,
    /// The submit's outcome was unknown and the provider then reported it rejected or unknown.
    ProviderFailed,
}

impl FailureReason {
    /// The column and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::InsufficientFunds => "insufficient_funds",
            FailureReason::AccountClosed => "account_closed",
            FailureReason::AccountUnavailable => "account_unavailable",
            FailureReason::ProviderRejected => "provider_rejected",
            FailureReason::ProviderUnavailable => "provider_unavailable",
            FailureReason::ProviderFailed => "provider_failed",
        }
    }

    /// The reason for a hold the ledger refused.
    pub fn for_refused_hold(refusal: LedgerRefusal) -> FailureReason {
        match refusal {
            LedgerRefusal::InsufficientFunds => FailureReason::InsufficientFunds,
            LedgerRefusal::AccountClosed => FailureReason::AccountClosed,
            LedgerRefusal::Unexpected => FailureReason::AccountUnavailable,
        }
    }

    /// Reads a column value.
    pub fn parse(raw: &str) -> Option<FailureReason> {
        [
            FailureReason::InsufficientFunds,
            FailureReason::AccountClosed,
            FailureReason::AccountUnavailable,
            FailureReason::ProviderRejected,
            FailureReason::ProviderUnavailable,
            FailureReason::ProviderFailed,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == raw)
    }
}

/// What the step's action produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ledger placed the hold.
    HoldPlaced,
    /// Ledger refused the hold; nothing is held.
    HoldRefused(FailureReason),
    /// Provider answered 2xx `accepted`.
    SubmitAccepted,
    /// Provider answered 4xx.
    SubmitRejected,
    /// Provider never reached (connection refused, DNS).
    SubmitUnreachable,
    /// Provider answered 5xx or timed out: outcome unknown.
    SubmitUnknown,
    /// Status query: the transfer was accepted.
    StatusAccepted,
    /// Status query: the transfer was rejected or does not exist (404).
    StatusRejectedOrMissing,
    /// Status query failed too: still unknown.
    StatusUnknown,
    /// Ledger captured the hold.
    Captured,
    /// Ledger released the hold.
    Released,
}

/// The step after `step` given `outcome`, and the failure reason to record when the saga turns
/// towards failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The next step.
    pub step: Step,
    /// Set when this transition decides the payment fails.
    pub failure_reason: Option<FailureReason>,
}

/// An outcome that cannot happen in a step (a bug in the driver, never a user error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("outcome {outcome:?} is not possible in step {step}")]
pub struct InvalidTransition {
    /// The step.
    pub step: Step,
    /// The outcome.
    pub outcome: Outcome,
}

/// The transition function of the saga.
pub fn advance(step: Step, outcome: Outcome) -> Result<Transition, InvalidTransition> {
    use Outcome as O;
    use Step as S;
    let to = |step| {
        Ok(Transition {
            step,
            failure_reason: None,
        })
    };
    let fail = |step, reason| {
        Ok(Transition {
            step,
            failure_reason: Some(reason),
        })
    };
    match (step, outcome) {
        (S::HoldPending, O::HoldPlaced) => to(S::HoldPlaced),
        (S::HoldPending, O::HoldRefused(reason)) => fail(S::Failed, reason),
        (S::HoldPlaced, O::SubmitAccepted) => to(S::CapturePending),
        (S::HoldPlaced, O::SubmitRejected) => {
            fail(S::ReleasePending, FailureReason::ProviderRejected)
        }
        (S::HoldPlaced, O::SubmitUnreachable) => {
            fail(S::ReleasePending, FailureReason::ProviderUnavailable)
        }
        (S::HoldPlaced, O::SubmitUnknown) => to(S::StatusCheck),
        (S::StatusCheck, O::StatusAccepted) => to(S::CapturePending),
        (S::StatusCheck, O::StatusRejectedOrMissing) => {
            fail(S::ReleasePending, FailureReason::ProviderFailed)
        }
        (S::StatusCheck, O::StatusUnknown) => to(S::StatusCheck),
        (S::CapturePending, O::Captured) => to(S::Settled),
        (S::ReleasePending, O::Released) => to(S::Failed),
        (step, outcome) => Err(InvalidTransition { step, outcome }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assert_matches::assert_matches;

    fn run(outcomes: &[Outcome]) -> (Step, Option<FailureReason>) {
        let mut step = Step::HoldPending;
        let mut reason = None;
        for outcome in outcomes {
            let t = advance(step, *outcome).unwrap();
            step = t.step;
            reason = t.failure_reason.or(reason);
        }
        (step, reason)
    }

    #[test]
    fn an_accepted_transfer_settles() {
        assert_eq!(
            run(&[
                Outcome::HoldPlaced,
                Outcome::SubmitAccepted,
                Outcome::Captured
            ]),
            (Step::Settled, None)
        );
    }

    #[test]
    fn a_rejected_transfer_releases_and_fails() {
        assert_eq!(
            run(&[
                Outcome::HoldPlaced,
                Outcome::SubmitRejected,
                Outcome::Released
            ]),
            (Step::Failed, Some(FailureReason::ProviderRejected))
        );
    }

    #[test]
    fn an_unknown_outcome_asks_for_the_status_until_it_knows() {
        let accepted = [
            Outcome::HoldPlaced,
            Outcome::SubmitUnknown,
            Outcome::StatusUnknown,
            Outcome::StatusUnknown,
            Outcome::StatusAccepted,
            Outcome::Captured,
        ];
        assert_eq!(run(&accepted), (Step::Settled, None));
        let missing = [
            Outcome::HoldPlaced,
            Outcome::SubmitUnknown,
            Outcome::StatusRejectedOrMissing,
            Outcome::Released,
        ];
        assert_eq!(
            run(&missing),
            (Step::Failed, Some(FailureReason::ProviderFailed))
        );
    }

    #[test]
    fn an_unreachable_provider_releases() {
        assert_eq!(
            run(&[
                Outcome::HoldPlaced,
                Outcome::SubmitUnreachable,
                Outcome::Released
            ]),
            (Step::Failed, Some(FailureReason::ProviderUnavailable))
        );
    }

    #[test]
    fn a_refused_hold_fails_at_once() {
        assert_eq!(
            run(&[Outcome::HoldRefused(FailureReason::InsufficientFunds)]),
            (Step::Failed, Some(FailureReason::InsufficientFunds))
        );
    }

    #[test]
    fn final_steps_accept_no_outcome_and_money_never_moves_twice() {
        for outcome in [
            Outcome::Captured,
            Outcome::Released,
            Outcome::SubmitAccepted,
        ] {
            assert_matches!(
                advance(Step::Settled, outcome),
                Err(InvalidTransition { .. })
            );
            assert_matches!(
                advance(Step::Failed, outcome),
                Err(InvalidTransition { .. })
            );
        }
        // A capture can never follow a release decision, nor a release a capture decision.
        assert_matches!(advance(Step::ReleasePending, Outcome::Captured), Err(_));
        assert_matches!(advance(Step::CapturePending, Outcome::Released), Err(_));
    }

    #[test]
    fn steps_and_reasons_round_trip_through_their_column_values() {
        for step in [
            Step::HoldPending,
            Step::HoldPlaced,
            Step::StatusCheck,
            Step::CapturePending,
            Step::ReleasePending,
            Step::Settled,
            Step::Failed,
        ] {
            assert_eq!(Step::parse(step.as_str()), Some(step));
        }
        assert_eq!(Step::parse("nope"), None);
        assert_eq!(
            FailureReason::parse("provider_failed"),
            Some(FailureReason::ProviderFailed)
        );
        assert_eq!(Step::StatusCheck.public_status(), "processing");
        assert_eq!(Step::HoldPending.public_status(), "pending");
    }
}
