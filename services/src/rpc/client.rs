//! Client side of the RPC layer: [`RpcClient`], one per (calling service, target).
//!
//! A call: refuses to start when the caller's deadline has passed; resolves the URL and the
//! timeout (min of the call's timeout and the deadline left); hands the call to the stack that
//! [`build_stack`] built, whose layers span, propagate, retry, balance, break circuits, end
//! attempts at the deadline and inject faults. Failures come back as [`RpcError`], which tells
//! "never reached" from "outcome unknown" (the payment saga needs that).

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt as _;

use super::balance::Replicas;
use super::call::{OutgoingCall, RpcCall};
use super::context::RequestContext;
use super::error::RpcError;
use super::pool::PoolStats;
use super::request::RpcRequest;
use super::response::RpcResponse;
use super::stack::{Resilience, RpcStack, build_stack};
use crate::telemetry::Telemetry;

/// Calls one target service (or external system) on behalf of one calling service.
/// Cheap to clone; all clients of a process should share one `reqwest::Client` (connection pool).
#[derive(Clone)]
pub struct RpcClient {
    target: String,
    base_url: String,
    /// `base_url` parsed once (`None` if it is not a URL: each call then says so).
    base: Option<reqwest::Url>,
    timeout: Duration,
    stack: RpcStack,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("target", &self.target)
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RpcClient {
    /// A client for `target` (its `peer.service` name, e.g. `ledger` or `provider`) at
    /// `base_url`, whose calls give up after `timeout` unless the caller's deadline is sooner.
    pub fn new(
        http: reqwest::Client,
        telemetry: Telemetry,
        target: impl Into<String>,
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Self {
        Self::with_resilience(
            http,
            telemetry,
            target,
            base_url,
            timeout,
            &Resilience::default(),
        )
    }

    /// Like [`RpcClient::new`], with these retry, circuit-breaking and fault settings.
    pub fn with_resilience(
        http: reqwest::Client,
        telemetry: Telemetry,
        target: impl Into<String>,
        base_url: impl Into<String>,
        timeout: Duration,
        resilience: &Resilience,
    ) -> Self {
        let target = target.into();
        let stack = build_stack(http, &telemetry, resilience, &target, None);
        let base_url = base_url.into().trim_end_matches('/').to_owned();
        Self {
            target,
            base: reqwest::Url::parse(&base_url).ok(),
            base_url,
            timeout,
            stack,
        }
    }

    /// A client for `target` balanced over the replicas `replicas` lists, now and as it
    /// changes (service discovery); paths are relative to whichever replica is chosen.
    pub fn balanced(
        http: reqwest::Client,
        telemetry: Telemetry,
        target: impl Into<String>,
        replicas: Replicas,
        timeout: Duration,
        resilience: &Resilience,
    ) -> Self {
        let target = target.into();
        // Paths are joined to this URL, then the balancer puts the chosen replica's address in.
        let base_url = replicas
            .borrow()
            .first()
            .cloned()
            .unwrap_or_else(|| "http://replica.invalid".to_owned());
        let stack = build_stack(http, &telemetry, resilience, &target, Some(replicas));
        let base_url = base_url.trim_end_matches('/').to_owned();
        Self {
            target,
            base: reqwest::Url::parse(&base_url).ok(),
            base_url,
            timeout,
            stack,
        }
    }

    /// The shared HTTP client every `RpcClient` of a process should be built on: connection
    /// pooling, no proxy from the environment (all traffic is loopback or cluster-internal).
    pub fn shared_http() -> reqwest::Client {
        Self::shared_http_counted(&PoolStats::default())
    }

    /// [`RpcClient::shared_http`], counting the connections it opens into `stats` (pass the
    /// same stats in [`Resilience::pool`] so calls are counted too).
    pub fn shared_http_counted(stats: &PoolStats) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .connector_layer(stats.connector_layer())
            .build()
            .unwrap_or_else(|_| reqwest::Client::new())
    }

    /// The target name.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The target's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET path`, expecting 2xx and a JSON body. `path` is fixed, so it is also the call's
    /// template; for a path with ids, use [`RpcClient::call_json`] with
    /// [`RpcRequest::template`].
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        path: &'static str,
    ) -> Result<T, RpcError> {
        self.call_json(ctx, RpcRequest::get(path).template(path))
            .await
    }

    /// `POST path` with a JSON body, expecting 2xx and a JSON body. `path` is fixed, so it is
    /// also the call's template.
    pub async fn post_json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        path: &'static str,
        body: &B,
    ) -> Result<T, RpcError> {
        self.call_json(ctx, RpcRequest::post_json(path, body)?.template(path))
            .await
    }

    /// Sends `request`, expecting 2xx and a JSON body; non-2xx is [`RpcError::Status`].
    pub async fn call_json<T: DeserializeOwned>(
        &self,
        ctx: &RequestContext,
        request: RpcRequest,
    ) -> Result<T, RpcError> {
        let response = self.send(ctx, request).await?;
        if !response.status.is_success() {
            let (code, message) = match response.error_body() {
                Some(body) => (Some(body.code), body.message),
                None => (None, String::from_utf8_lossy(&response.body).into_owned()),
            };
            return Err(RpcError::Status {
                target: self.target.clone(),
                status: response.status,
                code,
                message,
            });
        }
        response.json(&self.target)
    }

    /// Sends `request` and returns the response whatever its status (edge's proxy uses this).
    pub async fn send(
        &self,
        ctx: &RequestContext,
        request: RpcRequest,
    ) -> Result<RpcResponse, RpcError> {
        let mut timeout = request.timeout.unwrap_or(self.timeout);
        if let Some(left) = ctx.remaining() {
            if left.is_zero() {
                return Err(RpcError::DeadlineExceeded {
                    target: self.target.clone(),
                });
            }
            timeout = timeout.min(left);
        }
        let url = self.url(&request.path)?;
        let call = RpcCall {
            idempotent: request.is_idempotent(),
            headers: request.headers,
            body: request.body,
            ..RpcCall::new(request.method, url, timeout)
        };
        let outgoing = OutgoingCall {
            context: ctx.clone(),
            template: request.template,
            call,
        };
        // The deadline layer inside the stack ends each attempt at the deadline (so the
        // circuit breaker sees a timeout as a failure); no timer is needed out here.
        self.stack.clone().oneshot(outgoing).await
    }

    /// `path` joined to the base URL, or `path` itself when it is an absolute URL.
    fn url(&self, path: &str) -> Result<reqwest::Url, RpcError> {
        let absolute = path.starts_with("http://") || path.starts_with("https://");
        if let (false, Some(base), true) = (absolute, &self.base, path.starts_with('/')) {
            return Ok(join(base, path));
        }
        let url = if absolute {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        };
        reqwest::Url::parse(&url).map_err(|error| RpcError::Encode {
            message: format!("`{url}` is not a URL: {error}"),
        })
    }
}

/// `base` with `path` (which starts with `/`, and may carry a query) after its own path: what
/// parsing `{base}{path}` gives, without parsing (and IDNA-mapping) the host again per call.
fn join(base: &reqwest::Url, path: &str) -> reqwest::Url {
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let mut url = base.clone();
    if base.path() == "/" {
        url.set_path(path);
    } else {
        url.set_path(&format!("{}{path}", base.path()));
    }
    url.set_query(query);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining_to_the_parsed_base_gives_what_parsing_the_whole_url_gives() {
        for base in [
            "http://127.0.0.1:8080",
            "http://ledger.test",
            "http://x.test/prefix",
        ] {
            let parsed = reqwest::Url::parse(base).unwrap();
            for path in [
                "/accounts/acc_1",
                "/accounts?owner_id=cus_1&currency=GBP",
                "/holds/h 1/capture",
                "/a/../b",
                "/",
            ] {
                let whole = reqwest::Url::parse(&format!("{base}{path}")).unwrap();
                assert_eq!(join(&parsed, path), whole, "{base} + {path}");
            }
        }
    }
}
