//! The layer: one per (caller, target) stack, whose clones share one retry budget.

use tower::Layer;

use super::policy::{RetryPolicy, RetrySettings};
use super::service::Retry;

/// Retries idempotent calls as [`RetryPolicy`] allows.
#[derive(Clone, Debug)]
pub struct RetryLayer {
    policy: RetryPolicy,
}

impl RetryLayer {
    /// The layer for one target, with a fresh budget.
    pub fn new(settings: RetrySettings) -> Self {
        Self {
            policy: RetryPolicy::new(settings),
        }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        tower::retry::Retry::new(self.policy.clone(), inner)
    }
}
