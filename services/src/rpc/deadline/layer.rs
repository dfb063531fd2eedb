//! The layer: one per (caller, target) stack.

use std::sync::Arc;

use tower::Layer;

use super::service::DeadlineService;

/// Ends attempts at their deadline.
#[derive(Clone, Debug)]
pub struct DeadlineLayer {
    target: Arc<str>,
}

impl DeadlineLayer {
    /// The layer for calls to `target`.
    pub fn new(target: &str) -> Self {
        Self {
            target: target.into(),
        }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService::new(inner, self.target.clone())
    }
}
