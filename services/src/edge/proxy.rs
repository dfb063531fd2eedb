//! Forwarding one public request: authenticate, authorize, rate-limit, read the body within the
//! limit, call the upstream through the RPC client (so spans and propagation are uniform), and
//! pass its answer back.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;

use super::error::{AccessError, ForwardError, GatewayError};
use super::routes::{Access, PublicRoute, UpstreamPath};
use super::{EdgeState, prefer_wait};
use crate::rpc::{Identity, RequestContext, RpcRequest};

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
        Err(error) => error.into_answer(),
    }
}

async fn try_forward(
    state: &EdgeState,
    route: PublicRoute,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, ForwardError> {
    let (parts, body) = request.into_parts();
    let identity = match route.access {
        Access::Public => None,
        Access::Scope(scope) => {
            let identity = state.authenticator.identify(&ctx, &parts.headers).await?;
            if !identity.has_scope(scope) {
                return Err(AccessError::Forbidden { scope }.into());
            }
            Some(identity)
        }
    };
    let body = read_body(&parts.headers, body, state.body_limit).await?;
    // Authenticated calls count against their subject's quota, public ones (sign-in) against
    // the tighter quota of the client_id they name.
    let limiter = match identity {
        Some(_) => &state.rate_limiter,
        None => &state.public_rate_limiter,
    };
    if let Err(retry_after) = limiter.check(&client_key(identity.as_ref(), &body)) {
        return Err(GatewayError::RateLimited { retry_after }.into());
    }
    let (path, template) = match route.upstream_path {
        UpstreamPath::Same => (
            parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| parts.uri.path().to_owned()),
            route.pattern,
        ),
        UpstreamPath::Fixed(path) => (path.to_owned(), path),
    };
    let mut upstream_request = RpcRequest::new(parts.method.clone(), path).template(template);
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = parts.headers.get(name) {
            upstream_request.headers.insert(name, value.clone());
        }
    }
    if !body.is_empty() {
        upstream_request.body = Some(body);
    }
    // The caller may ask for a shorter deadline (`Prefer: wait=N`); it travels to every hop.
    let (timeout, preference_applied) =
        prefer_wait::effective_timeout(&parts.headers, state.upstream_timeout);
    let ctx = ctx
        .with_identity(identity)
        .with_deadline(tokio::time::Instant::now() + timeout);
    let upstream = state.upstream(route.target);
    let answer = upstream.pick().send(&ctx, upstream_request).await;
    let mut response = match answer {
        Ok(answer) => {
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = answer.status;
            for name in FORWARDED_RESPONSE_HEADERS {
                if let Some(value) = answer.headers.get(name) {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Err(error) => ForwardError::from(GatewayError::from_upstream(error)).into_answer(),
    };
    if let Some(applied) = preference_applied {
        response
            .headers_mut()
            .insert(prefer_wait::PREFERENCE_APPLIED, applied);
    }
    Ok(response)
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

/// Request bytes read and thrown away, at most, before answering 413: enough that a client still
/// sending an oversized body reads the answer instead of a connection reset.
const DRAIN_CAP_MIN: usize = 4 * 1024 * 1024;
/// How long, at most, discarding an oversized body may take.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads the body, refusing more than `limit` bytes with 413 `payload_too_large` (checked on
/// `content-length` first, then while reading).
///
/// A refused body is read to its end and discarded (up to [`drain_cap`] bytes and
/// [`DRAIN_TIME`]) before the answer goes out: answering while the client is still sending and
/// then closing would reset the connection, and the client would see the reset, not the 413.
/// Beyond the cap the connection is closed anyway.
async fn read_body(
    headers: &HeaderMap,
    mut body: Body,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let too_large = || GatewayError::PayloadTooLarge { limit };
    let cap = drain_cap(limit);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(length) = declared.filter(|length| *length > limit) {
        if length <= cap {
            discard(body, cap).await;
        }
        return Err(too_large());
    }
    let mut read = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| GatewayError::UnreadableBody(error.to_string()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if read.len() + data.len() > limit {
            discard(body, cap.saturating_sub(read.len() + data.len())).await;
            return Err(too_large());
        }
        read.extend_from_slice(&data);
    }
    Ok(read.freeze())
}

/// How many bytes of a refused body edge reads before answering: a few MiB, or a small
/// multiple of a larger limit.
fn drain_cap(limit: usize) -> usize {
    limit.saturating_mul(4).max(DRAIN_CAP_MIN)
}

/// Reads and drops the rest of `body`, giving up beyond `cap` bytes or [`DRAIN_TIME`].
async fn discard(mut body: Body, cap: usize) {
    let drained = tokio::time::timeout(DRAIN_TIME, async move {
        let mut left = cap;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                return false;
            };
            if let Ok(data) = frame.into_data() {
                match left.checked_sub(data.len()) {
                    Some(rest) => left = rest,
                    None => return false,
                }
            }
        }
        true
    })
    .await;
    if drained != Ok(true) {
        tracing::debug!(
            cap,
            "oversized request body not fully read; the connection will close"
        );
    }
}
