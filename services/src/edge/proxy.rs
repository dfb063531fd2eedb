//! Forwarding one public request: authenticate, authorize, rate-limit, read the body within the
//! limit, call the upstream through the RPC client (so spans and propagation are uniform), and
//! pass its answer back.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::EdgeState;
use super::routes::{Access, PublicRoute, UpstreamPath};
use crate::http_error::ApiError;
use crate::rpc::{Identity, RequestContext, RpcError, RpcRequest};

/// Request headers passed upstream; everything else (notably `authorization` and any inbound
/// `x-minibank-*`) stays at edge. Trace and identity headers are set by the RPC client.
const FORWARDED_REQUEST_HEADERS: [&str; 3] = ["content-type", "accept", "idempotency-key"];
/// Response headers passed back to the caller.
const FORWARDED_RESPONSE_HEADERS: [&str; 3] = ["content-type", "location", "retry-after"];

/// Handles one request on `route`.
pub async fn forward(
    state: EdgeState,
    route: PublicRoute,
    ctx: RequestContext,
    request: Request,
) -> Response {
    match try_forward(&state, route, ctx, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn try_forward(
    state: &EdgeState,
    route: PublicRoute,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let identity = match route.access {
        Access::Public => None,
        Access::Scope(scope) => {
            let identity = state.authenticator.identify(&ctx, &parts.headers).await?;
            if !identity.has_scope(scope) {
                return Err(ApiError::forbidden(format!(
                    "this call needs the `{scope}` scope"
                )));
            }
            Some(identity)
        }
    };
    let body = read_body(&parts.headers, body, state.body_limit).await?;
    if let Err(wait) = state
        .rate_limiter
        .check(&client_key(identity.as_ref(), &body))
    {
        return Ok(rate_limited(wait));
    }
    let path = match route.upstream_path {
        UpstreamPath::Same => parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| parts.uri.path().to_owned()),
        UpstreamPath::Fixed(path) => path.to_owned(),
    };
    let mut upstream_request = RpcRequest::new(parts.method.clone(), path);
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = parts.headers.get(name) {
            upstream_request.headers.insert(name, value.clone());
        }
    }
    if !body.is_empty() {
        upstream_request.body = Some(body);
    }
    let ctx = ctx
        .with_identity(identity)
        .with_deadline(tokio::time::Instant::now() + state.upstream_timeout);
    let upstream = state.upstream(route.target);
    match upstream.pick().send(&ctx, upstream_request).await {
        Ok(answer) => {
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = answer.status;
            for name in FORWARDED_RESPONSE_HEADERS {
                if let Some(value) = answer.headers.get(name) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            Ok(response)
        }
        Err(error) => Err(upstream_error(error)),
    }
}

/// Who the rate limit counts a request against: the token's subject, or for the public token
/// route the `client_id` it asks for (so one busy client does not starve the others).
fn client_key(identity: Option<&Identity>, body: &[u8]) -> String {
    if let Some(identity) = identity {
        return format!("subject:{}", identity.subject);
    }
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| value.get("client_id")?.as_str().map(str::to_owned))
        .map_or_else(|| "anonymous".to_owned(), |id| format!("client:{id}"))
}

/// Reads the body, refusing more than `limit` bytes with 413 `payload_too_large` (checked on
/// `content-length` first, then while reading).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body must be at most {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let length_limit = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if length_limit {
            too_large()
        } else {
            ApiError::invalid_request(format!("could not read the request body: {error}"))
        }
    })
}

fn rate_limited(wait: std::time::Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests from this client; retry later",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

fn upstream_error(error: RpcError) -> ApiError {
    match &error {
        RpcError::Timeout { target, .. } | RpcError::DeadlineExceeded { target } => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            format!("{target} did not answer in time"),
        ),
        RpcError::Unreachable { target, .. } | RpcError::CircuitOpen { target, .. } => {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                format!("{target} is not reachable right now"),
            )
        }
        _ => {
            tracing::warn!(%error, "upstream call failed");
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "bad_gateway",
                "the upstream service failed to answer",
            )
        }
    }
}
