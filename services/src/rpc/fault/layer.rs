//! The layer: one per (caller, target) stack, over the platform's shared rules.

use std::sync::Arc;

use tower::Layer;

use super::rules::FaultInjector;
use super::service::FaultService;

/// Applies a [`FaultInjector`]'s rules to the calls of one (caller, target) pair.
#[derive(Clone, Debug)]
pub struct FaultLayer {
    pub(super) injector: FaultInjector,
    pub(super) caller: Arc<str>,
    pub(super) target: Arc<str>,
}

impl FaultLayer {
    /// The layer for calls from `caller` to `target`.
    pub fn new(injector: FaultInjector, caller: &str, target: &str) -> Self {
        Self {
            injector,
            caller: caller.into(),
            target: target.into(),
        }
    }
}

impl<S> Layer<S> for FaultLayer {
    type Service = FaultService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FaultService::new(inner, self.clone())
    }
}
