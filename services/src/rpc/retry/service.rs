//! The service: tower's own, driven by our policy (a retry is a policy, not a loop).

use super::policy::RetryPolicy;

/// The service of [`RetryLayer`](super::RetryLayer): resends a call while [`RetryPolicy`] says
/// so.
pub type Retry<S> = tower::retry::Retry<RetryPolicy, S>;
