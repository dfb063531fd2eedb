//! The policy: when a call is resent, and the budget that caps retries.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tower::retry::Policy;
use tower::retry::budget::{Budget as _, TpsBudget};

use super::error::worth_retrying;
use crate::rpc::call::RpcCall;
use crate::rpc::error::{CallOutcome, RpcError};
use crate::rpc::response::RpcResponse;

/// How many retries a call may make, and the budget they share.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetrySettings {
    /// Retries per call at most.
    pub max_retries: u32,
    /// Pause before each retry.
    pub backoff: Duration,
    /// Retries allowed per second whatever the traffic.
    pub min_per_second: u32,
    /// Retries allowed as a share of recent calls (0.2 = one retry per five calls).
    pub retry_ratio: f32,
}

impl Default for RetrySettings {
    /// 2 retries, 25 ms apart, 10 per second plus 20 % of the traffic.
    fn default() -> Self {
        Self {
            max_retries: 2,
            backoff: Duration::from_millis(25),
            min_per_second: 10,
            retry_ratio: 0.2,
        }
    }
}

/// The retry policy of one (caller, target) stack; clones share the budget.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    settings: RetrySettings,
    budget: Arc<TpsBudget>,
    /// Retries made by this call (the policy is cloned per call).
    retries: u32,
    /// Whether this call has paid into the budget yet.
    deposited: bool,
    /// Why an earlier attempt of this call may have reached the target (its outcome is
    /// unknown), if one may have.
    maybe_reached: Option<String>,
}

impl RetryPolicy {
    /// A policy with a fresh budget.
    pub fn new(settings: RetrySettings) -> Self {
        Self {
            budget: Arc::new(TpsBudget::new(
                Duration::from_secs(10),
                settings.min_per_second,
                settings.retry_ratio,
            )),
            settings,
            retries: 0,
            deposited: false,
            maybe_reached: None,
        }
    }
}

impl RetryPolicy {
    /// The call's last attempt never reached the target, but an earlier one may have: the
    /// call's outcome is unknown, not "never sent", so it ends as a lost connection
    /// ([`RpcError::Transport`]) that says so. Otherwise the result stays as it is.
    fn keep_unknown_outcome(&self, result: &mut Result<RpcResponse, RpcError>) {
        let (Some(earlier), Err(last)) = (&self.maybe_reached, &*result) else {
            return;
        };
        let target = match last {
            RpcError::Unreachable { target, .. }
            | RpcError::DeadlineExceeded { target }
            | RpcError::CircuitOpen { target, .. } => target.clone(),
            _ => return,
        };
        *result = Err(RpcError::Transport {
            message: format!(
                "an earlier attempt may have reached it ({earlier}); the last one did not ({last})"
            ),
            target,
        });
    }
}

impl Policy<RpcCall, RpcResponse, RpcError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        call: &mut RpcCall,
        result: &mut Result<RpcResponse, RpcError>,
    ) -> Option<Self::Future> {
        if !call.idempotent || !worth_retrying(result) || self.retries >= self.settings.max_retries
        {
            self.keep_unknown_outcome(result);
            return None;
        }
        if !self.budget.withdraw() {
            tracing::debug!(url = %call.url, "retry budget exhausted; not retrying");
            self.keep_unknown_outcome(result);
            return None;
        }
        if let Err(error) = result
            && error.outcome() == CallOutcome::Unknown
        {
            self.maybe_reached = Some(error.to_string());
        }
        self.retries += 1;
        call.resends.fetch_add(1, Ordering::Relaxed);
        Some(tokio::time::sleep(self.settings.backoff))
    }

    fn clone_request(&mut self, call: &RpcCall) -> Option<RpcCall> {
        if !self.deposited {
            self.budget.deposit();
            self.deposited = true;
        }
        call.idempotent.then(|| call.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::fault::{FaultInjector, FaultKind, FaultLayer, FaultRule};
    use crate::rpc::retry::RetryLayer;
    use bytes::Bytes;
    use futures::future::BoxFuture;
    use http::{HeaderMap, Method, StatusCode};
    use std::sync::atomic::{AtomicU32, Ordering};
    use tower::ServiceExt as _;

    fn call(method: Method) -> RpcCall {
        RpcCall {
            idempotent: method == Method::GET,
            method,
            url: reqwest::Url::parse("http://ledger.test/accounts/a1").unwrap(),
            headers: HeaderMap::new(),
            body: None,
            resends: Arc::default(),
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
            timeout: Duration::from_secs(5),
        }
    }

    /// A mock target behind a fault layer: faults decide the failures, the mock counts what
    /// really arrived.
    fn stack(
        faults: &FaultInjector,
        settings: RetrySettings,
        arrived: Arc<AtomicU32>,
    ) -> impl tower::Service<RpcCall, Response = RpcResponse, Error = RpcError> + Clone {
        let target = tower::service_fn(move |_: RpcCall| {
            arrived.fetch_add(1, Ordering::Relaxed);
            let answer: BoxFuture<'static, Result<RpcResponse, RpcError>> = Box::pin(async {
                Ok(RpcResponse {
                    status: StatusCode::OK,
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                })
            });
            answer
        });
        tower::ServiceBuilder::new()
            .layer(RetryLayer::new(settings))
            .layer(FaultLayer::new(faults.clone(), "edge", "ledger"))
            .service(target)
    }

    fn fail_next(faults: &FaultInjector, times: u32, kind: FaultKind) {
        faults.add(FaultRule {
            caller: None,
            target: "ledger".into(),
            method: None,
            path_contains: None,
            address: None,
            scenario: None,
            kind,
            times: Some(times),
        });
    }

    #[tokio::test]
    async fn an_idempotent_call_is_retried_past_transient_failures() {
        let faults = FaultInjector::new();
        fail_next(
            &faults,
            1,
            FaultKind::Error(StatusCode::SERVICE_UNAVAILABLE),
        );
        fail_next(&faults, 1, FaultKind::Drop);
        let arrived = Arc::new(AtomicU32::new(0));
        let request = call(Method::GET);
        let settings = RetrySettings {
            backoff: Duration::ZERO,
            ..RetrySettings::default()
        };
        let answer = stack(&faults, settings, arrived.clone())
            .oneshot(request.clone())
            .await
            .unwrap();
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(request.resend_count(), 2);
        assert_eq!(arrived.load(Ordering::Relaxed), 1);
    }

    /// A first attempt whose connection dropped (it may have acted) and a retry that could not
    /// connect: the call's outcome is unknown, so it must not end as "never reached".
    #[tokio::test]
    async fn a_call_that_may_have_reached_the_target_never_ends_as_not_reached() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counted = attempts.clone();
        let target = tower::service_fn(move |_: RpcCall| {
            let attempt = counted.fetch_add(1, Ordering::Relaxed);
            let answer: BoxFuture<'static, Result<RpcResponse, RpcError>> = Box::pin(async move {
                Err(if attempt == 0 {
                    RpcError::Transport {
                        target: "ledger".into(),
                        message: "connection reset".into(),
                    }
                } else {
                    RpcError::Unreachable {
                        target: "ledger".into(),
                        message: "connection refused".into(),
                    }
                })
            });
            answer
        });
        let settings = RetrySettings {
            backoff: Duration::ZERO,
            ..RetrySettings::default()
        };
        let error = tower::ServiceBuilder::new()
            .layer(RetryLayer::new(settings))
            .service(target)
            .oneshot(call(Method::GET))
            .await
            .unwrap_err();
        assert_eq!(attempts.load(Ordering::Relaxed), 3, "retried twice");
        assert_eq!(error.outcome(), CallOutcome::Unknown, "{error}");
        assert!(error.to_string().contains("may have reached it"), "{error}");

        // Never reached on every attempt: still "never reached".
        let error = tower::ServiceBuilder::new()
            .layer(RetryLayer::new(settings))
            .service(tower::service_fn(|_: RpcCall| async {
                Err::<RpcResponse, _>(RpcError::Unreachable {
                    target: "ledger".into(),
                    message: "connection refused".into(),
                })
            }))
            .oneshot(call(Method::GET))
            .await
            .unwrap_err();
        assert_eq!(error.outcome(), CallOutcome::NotReached, "{error}");
    }

    #[tokio::test]
    async fn a_non_idempotent_call_is_never_retried() {
        let faults = FaultInjector::new();
        fail_next(&faults, 1, FaultKind::Drop);
        let arrived = Arc::new(AtomicU32::new(0));
        let error = stack(&faults, RetrySettings::default(), arrived.clone())
            .oneshot(call(Method::POST))
            .await
            .unwrap_err();
        assert!(matches!(error, RpcError::Transport { .. }), "{error}");
        assert_eq!(arrived.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn retries_stop_when_the_budget_is_spent() {
        let faults = FaultInjector::new();
        fail_next(&faults, 1000, FaultKind::Error(StatusCode::BAD_GATEWAY));
        let settings = RetrySettings {
            max_retries: 1,
            min_per_second: 1,
            retry_ratio: 0.0,
            backoff: Duration::ZERO,
        };
        let service = stack(&faults, settings, Arc::new(AtomicU32::new(0)));
        let mut resent = 0;
        for _ in 0..50 {
            let request = call(Method::GET);
            service.clone().oneshot(request.clone()).await.unwrap();
            resent += request.resend_count();
        }
        // min_per_second over the budget's 10 s window: 10 retries, not 50.
        assert!(resent <= 10 && resent > 0, "{resent} retries");
    }
}
