//! The circuit: its settings, its state machine (closed → open → half-open), shared by the
//! layer that admits calls and whoever watches it (the registry, the balancer).

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::error::CircuitOpen;

/// When a circuit opens and how long it stays open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit fails fast before it lets a probe through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    /// 5 consecutive failures, open for 5 s.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(5),
        }
    }
}

/// The state of a circuit, as reported by [`CircuitBreaker::state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls flow.
    Closed,
    /// Calls fail fast.
    Open,
    /// The open period is over: the next call is a probe.
    HalfOpen,
}

#[derive(Debug)]
struct Circuit {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probe_in_flight: bool,
}

/// One circuit (one caller towards one target). Cheap to clone; clones share the state.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    target: Arc<str>,
    settings: BreakerSettings,
    circuit: Arc<Mutex<Circuit>>,
}

/// What [`CircuitBreaker::admit`] decided for one call.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admission {
    Call,
    Probe,
}

impl CircuitBreaker {
    /// A closed circuit towards `target`.
    pub fn new(target: &str, settings: BreakerSettings) -> Self {
        Self {
            target: target.into(),
            settings,
            circuit: Arc::new(Mutex::new(Circuit {
                consecutive_failures: 0,
                open_until: None,
                probe_in_flight: false,
            })),
        }
    }

    /// Whether someone besides the registry still holds this circuit (its client is alive).
    pub(super) fn is_shared(&self) -> bool {
        Arc::strong_count(&self.circuit) > 1
    }

    /// The circuit's state now.
    pub fn state(&self) -> CircuitState {
        let circuit = self.circuit.lock();
        match circuit.open_until {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    pub(super) fn admit(&self) -> Result<Admission, CircuitOpen> {
        let mut circuit = self.circuit.lock();
        let Some(until) = circuit.open_until else {
            return Ok(Admission::Call);
        };
        let now = Instant::now();
        if now >= until && !circuit.probe_in_flight {
            circuit.probe_in_flight = true;
            return Ok(Admission::Probe);
        }
        Err(CircuitOpen {
            target: self.target.to_string(),
            retry_in: until.saturating_duration_since(now),
        })
    }

    pub(super) fn record(&self, admission: &Admission, failed: bool) {
        let mut circuit = self.circuit.lock();
        if *admission == Admission::Probe {
            circuit.probe_in_flight = false;
        }
        if !failed {
            if circuit.open_until.is_some() {
                tracing::info!(target_service = %self.target, "circuit closed: the target recovered");
            }
            circuit.consecutive_failures = 0;
            circuit.open_until = None;
            return;
        }
        circuit.consecutive_failures = circuit.consecutive_failures.saturating_add(1);
        let reopen = *admission == Admission::Probe;
        if reopen || circuit.consecutive_failures >= self.settings.failure_threshold {
            if circuit.open_until.is_none() || reopen {
                tracing::warn!(
                    target_service = %self.target,
                    failures = circuit.consecutive_failures,
                    "circuit opened: failing fast for {:?}",
                    self.settings.open_for
                );
            }
            circuit.open_until = Some(Instant::now() + self.settings.open_for);
        }
    }

    /// A probe whose future was dropped (the caller gave up) proves nothing: let another one go.
    pub(super) fn abandon(&self, admission: &Admission) {
        if *admission == Admission::Probe {
            self.circuit.lock().probe_in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::breaker::CircuitBreakerLayer;
    use crate::rpc::error::RpcError;
    use crate::rpc::response::RpcResponse;
    use bytes::Bytes;
    use futures::future::BoxFuture;
    use http::HeaderMap;
    use http::StatusCode;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tower::ServiceExt as _;
    use tower::{Layer as _, Service};

    /// A mock target answering `status` and counting calls.
    fn mock(
        status: Arc<Mutex<StatusCode>>,
        calls: Arc<AtomicU32>,
    ) -> impl Service<
        (),
        Response = RpcResponse,
        Error = RpcError,
        Future = BoxFuture<'static, Result<RpcResponse, RpcError>>,
    > + Clone {
        tower::service_fn(move |()| {
            calls.fetch_add(1, Ordering::Relaxed);
            let status = *status.lock();
            let answer: BoxFuture<'static, Result<RpcResponse, RpcError>> = Box::pin(async move {
                Ok(RpcResponse {
                    status,
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                })
            });
            answer
        })
    }

    #[tokio::test]
    async fn opens_after_the_threshold_and_fails_fast_without_calling() {
        let status = Arc::new(Mutex::new(StatusCode::SERVICE_UNAVAILABLE));
        let calls = Arc::new(AtomicU32::new(0));
        let breaker = CircuitBreaker::new(
            "provider",
            BreakerSettings {
                failure_threshold: 3,
                open_for: Duration::from_secs(60),
            },
        );
        let service =
            CircuitBreakerLayer::new(breaker.clone()).layer(mock(status.clone(), calls.clone()));
        for _ in 0..3 {
            let answer = service.clone().oneshot(()).await.unwrap();
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        }
        assert_eq!(breaker.state(), CircuitState::Open);
        *status.lock() = StatusCode::OK;
        let refused = service.clone().oneshot(()).await.unwrap_err();
        let RpcError::CircuitOpen { retry_in, .. } = refused else {
            panic!("expected CircuitOpen, got {refused}")
        };
        assert!(retry_in > Duration::from_secs(50), "{retry_in:?}");
        assert_eq!(
            calls.load(Ordering::Relaxed),
            3,
            "an open circuit sends nothing"
        );
    }

    /// `open_for` zero: every open period is already over, so each call after opening is a probe.
    #[tokio::test]
    async fn half_open_lets_one_probe_through_which_reopens_or_closes() {
        let status = Arc::new(Mutex::new(StatusCode::BAD_GATEWAY));
        let calls = Arc::new(AtomicU32::new(0));
        let breaker = CircuitBreaker::new(
            "provider",
            BreakerSettings {
                failure_threshold: 2,
                open_for: Duration::ZERO,
            },
        );
        let service =
            CircuitBreakerLayer::new(breaker.clone()).layer(mock(status.clone(), calls.clone()));
        service.clone().oneshot(()).await.unwrap();
        service.clone().oneshot(()).await.unwrap();
        assert_eq!(breaker.state(), CircuitState::HalfOpen);

        // While a probe is in flight, others are refused.
        let admitted = breaker.admit().unwrap();
        assert_eq!(admitted, Admission::Probe);
        assert!(breaker.admit().is_err(), "only one probe at a time");
        breaker.abandon(&admitted);

        // The probe fails: open again (and half-open at once, open_for being zero).
        service.clone().oneshot(()).await.unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        assert_eq!(breaker.state(), CircuitState::HalfOpen);

        *status.lock() = StatusCode::NOT_FOUND;
        let probe = service.clone().oneshot(()).await.unwrap();
        assert_eq!(
            probe.status,
            StatusCode::NOT_FOUND,
            "a 4xx is an answer: success"
        );
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test]
    async fn a_success_resets_the_count_of_consecutive_failures() {
        let status = Arc::new(Mutex::new(StatusCode::BAD_GATEWAY));
        let calls = Arc::new(AtomicU32::new(0));
        let breaker = CircuitBreaker::new(
            "ledger",
            BreakerSettings {
                failure_threshold: 2,
                open_for: Duration::from_secs(1),
            },
        );
        let service = CircuitBreakerLayer::new(breaker.clone()).layer(mock(status.clone(), calls));
        service.clone().oneshot(()).await.unwrap();
        *status.lock() = StatusCode::OK;
        service.clone().oneshot(()).await.unwrap();
        *status.lock() = StatusCode::BAD_GATEWAY;
        service.clone().oneshot(()).await.unwrap();
        assert_eq!(breaker.state(), CircuitState::Closed);
    }
}
