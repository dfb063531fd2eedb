//! The payment saga: hold funds in the ledger → submit the transfer to the provider → capture,
//! or release the hold when the provider rejects, fails or is unreachable.
//!
//! - [`state`]: the pure state machine (steps, outcomes, transitions).
//! - [`driver`]: performs each step's call and persists every transition.
//! - [`worker`]: resumes unfinished payments after a restart and retries postponed steps.
//! - [`backoff`]: exponential backoff with jitter for those retries.

pub mod backoff;
pub mod driver;
pub mod state;
pub mod worker;
