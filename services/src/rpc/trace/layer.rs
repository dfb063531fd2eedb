//! The layer: one per (caller, target) stack, with the caller's tracer.

use std::sync::Arc;

use tower::Layer;

use super::service::TraceService;
use crate::telemetry::Telemetry;

/// Traces calls to one target with the calling service's tracer.
#[derive(Clone, Debug)]
pub struct TraceLayer {
    telemetry: Telemetry,
    target: Arc<str>,
}

impl TraceLayer {
    /// The layer for calls to `target` (its `peer.service` name), made by the service whose
    /// telemetry is `telemetry` (its own `service.name`).
    pub fn new(telemetry: Telemetry, target: &str) -> Self {
        Self {
            telemetry,
            target: target.into(),
        }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService::new(inner, self.telemetry.clone(), self.target.clone())
    }
}
