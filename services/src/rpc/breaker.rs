//! Circuit breaking: after `failure_threshold` consecutive failed calls to a target the circuit
//! opens and calls fail at once with [`CircuitOpen`] (nothing is sent) for `open_for`; then one
//! probe call is let through (half-open): its success closes the circuit, its failure opens it
//! again. A failure is a transport error, a timeout, or a 502/503/504 answer; any other answer
//! (4xx included: the target is alive and said no) is a success.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use http::StatusCode;
use parking_lot::Mutex;
use tokio::time::Instant;
use tower::{BoxError, Layer, Service};

use super::client::RpcResponse;

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

/// A call refused because the circuit is open: nothing was sent.
#[derive(Debug, thiserror::Error)]
#[error("circuit to {target} is open; failing fast for another {retry_in:?}")]
pub struct CircuitOpen {
    /// Target name.
    pub target: String,
    /// Until the next probe may be sent.
    pub retry_in: Duration,
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

/// Every circuit of a platform by (caller, target), so tests and operators can see which are
/// open. Holds them weakly: a stopped service's circuits disappear with it. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct CircuitRegistry {
    circuits: Arc<Mutex<Vec<Registered>>>,
}

#[derive(Debug)]
struct Registered {
    caller: String,
    target: String,
    /// The replica's base URL (`http://host:port`), or empty for an unbalanced client.
    address: String,
    breaker: CircuitBreaker,
    healthy: Arc<std::sync::atomic::AtomicBool>,
}

impl Registered {
    fn live(&self) -> bool {
        Arc::strong_count(&self.breaker.circuit) > 1
    }

    /// A replica that failed its health check is out of rotation, like an open circuit.
    fn state(&self) -> CircuitState {
        if !self.healthy.load(std::sync::atomic::Ordering::Relaxed) {
            return CircuitState::Open;
        }
        self.breaker.state()
    }
}

impl CircuitRegistry {
    /// Records `breaker` as a circuit from `caller` to `target`'s replica at `address` (its
    /// base URL; empty for an unbalanced client), which is in rotation only while `healthy`.
    pub fn register(
        &self,
        caller: &str,
        target: &str,
        address: &str,
        breaker: &CircuitBreaker,
        healthy: Arc<std::sync::atomic::AtomicBool>,
    ) {
        let mut circuits = self.circuits.lock();
        // Forget circuits only the registry still holds (their clients are gone).
        circuits.retain(Registered::live);
        circuits.push(Registered {
            caller: caller.to_owned(),
            target: target.to_owned(),
            address: address.to_owned(),
            breaker: breaker.clone(),
            healthy,
        });
    }

    /// The worst state among the live circuits from `caller` to `target` (open, then
    /// half-open, then closed; a replica failing its health checks counts as open), or `None`
    /// if there are none.
    pub fn state(&self, caller: &str, target: &str) -> Option<CircuitState> {
        let circuits = self.circuits.lock();
        let states: Vec<CircuitState> = circuits
            .iter()
            .filter(|r| r.caller == caller && r.target == target && r.live())
            .map(Registered::state)
            .collect();
        [
            CircuitState::Open,
            CircuitState::HalfOpen,
            CircuitState::Closed,
        ]
        .into_iter()
        .find(|state| states.contains(state))
    }
}

impl CircuitRegistry {
    /// The replicas `caller` balances its calls to `target` over right now (base URLs, in the
    /// order they were registered) with each one's state; empty if it has no client for it.
    pub fn replicas(&self, caller: &str, target: &str) -> Vec<(String, CircuitState)> {
        self.circuits
            .lock()
            .iter()
            .filter(|r| r.caller == caller && r.target == target && r.live())
            .map(|r| (r.address.clone(), r.state()))
            .collect()
    }
}

/// What [`CircuitBreaker::admit`] decided for one call.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
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

    /// The circuit's state now.
    pub fn state(&self) -> CircuitState {
        let circuit = self.circuit.lock();
        match circuit.open_until {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    fn admit(&self) -> Result<Admission, CircuitOpen> {
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

    fn record(&self, admission: &Admission, failed: bool) {
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
    fn abandon(&self, admission: &Admission) {
        if *admission == Admission::Probe {
            self.circuit.lock().probe_in_flight = false;
        }
    }
}

/// Puts a [`CircuitBreaker`] in front of a service.
#[derive(Clone, Debug)]
pub struct CircuitBreakerLayer {
    breaker: CircuitBreaker,
}

impl CircuitBreakerLayer {
    /// The layer for `breaker` (whose state the caller may keep a clone of).
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self { breaker }
    }
}

impl<S> Layer<S> for CircuitBreakerLayer {
    type Service = CircuitBreakerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// The service of [`CircuitBreakerLayer`].
#[derive(Clone, Debug)]
pub struct CircuitBreakerService<S> {
    inner: S,
    breaker: CircuitBreaker,
}

impl<S, Req> Service<Req> for CircuitBreakerService<S>
where
    S: Service<Req, Response = RpcResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = RpcResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<RpcResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let admission = match self.breaker.admit() {
            Ok(admission) => admission,
            Err(open) => return Box::pin(std::future::ready(Err(BoxError::from(open)))),
        };
        let guard = Recorder {
            breaker: self.breaker.clone(),
            admission: Some(admission),
        };
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let failed = match &result {
                Ok(response) => is_failure_status(response.status),
                Err(_) => true,
            };
            guard.finish(failed);
            result
        })
    }
}

/// Records the call's result once; if the call is dropped unfinished, abandons it instead.
struct Recorder {
    breaker: CircuitBreaker,
    admission: Option<Admission>,
}

impl Recorder {
    fn finish(mut self, failed: bool) {
        if let Some(admission) = self.admission.take() {
            self.breaker.record(&admission, failed);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(admission) = self.admission.take() {
            self.breaker.abandon(&admission);
        }
    }
}

/// Answers that say the target (or what is behind it) is not working.
pub(crate) fn is_failure_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http::HeaderMap;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tower::ServiceExt as _;

    /// A mock target answering `status` and counting calls.
    fn mock(
        status: Arc<Mutex<StatusCode>>,
        calls: Arc<AtomicU32>,
    ) -> impl Service<
        (),
        Response = RpcResponse,
        Error = BoxError,
        Future = BoxFuture<'static, Result<RpcResponse, BoxError>>,
    > + Clone {
        tower::service_fn(move |()| {
            calls.fetch_add(1, Ordering::Relaxed);
            let status = *status.lock();
            let answer: BoxFuture<'static, Result<RpcResponse, BoxError>> = Box::pin(async move {
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
        let open = refused.downcast_ref::<CircuitOpen>().expect("CircuitOpen");
        assert!(open.retry_in > Duration::from_secs(50), "{open}");
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
