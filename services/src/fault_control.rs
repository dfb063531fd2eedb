//! The fault-control endpoint: how a test driver that runs a service in its own process (the
//! containers driver) injects call faults into that service's RPC clients and reads its
//! circuits, as the in-process driver does through [`crate::platform::RunningPlatform`].
//!
//! Off unless `MINIBANK_FAULT_CONTROL_BIND` gives it an address; it then listens there, on a
//! port of its own, so it is never reachable through a service's (or edge's public) port.
//! Routes (JSON; errors are `{"code","message"}`):
//! - `POST /faults` `{"target","kind":"latency|error|drop|hang","latency_ms"?,"status"?,
//!   "method"?,"path_contains"?,"address"?,"scenario"?,"times"?}` → 201 `{"id"}`: from the
//!   next call on, calls from this service to `target` that match (`scenario`: only calls made
//!   for that scenario, named in their baggage) meet the fault (for `times` calls, or until
//!   removed);
//! - `GET /faults/{id}` → `{"id","hits","active"}`; `DELETE /faults/{id}` → 204;
//! - `GET /circuits/{target}` → `{"caller","target","state","replicas":[{"url","state"}]}`:
//!   the circuit towards `target` (its worst replica) and the replicas the client balances
//!   over now; 404 `no_client` when this service does not call `target`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::app::ShutdownHandle;
use crate::config::{env_parsed, parse_socket_addr};
use crate::http_error::{ApiError, ApiJson};
use crate::rpc::{CircuitState, FaultId, FaultKind, FaultRule, Resilience};

/// The variable that turns the endpoint on, with the address it listens on.
pub const BIND_VAR: &str = "MINIBANK_FAULT_CONTROL_BIND";

/// Where the endpoint listens, from [`BIND_VAR`]; `None` (the default) keeps it off.
pub fn bind_from_env() -> anyhow::Result<Option<SocketAddr>> {
    env_parsed(BIND_VAR, parse_socket_addr)
}

#[derive(Clone)]
struct Control {
    service: String,
    resilience: Resilience,
}

/// The endpoint's routes, over the fault rules and circuits of `resilience` (those of every
/// client of `service`).
pub fn router(service: &str, resilience: &Resilience) -> Router {
    Router::new()
        .route("/faults", post(add_fault))
        .route("/faults/{id}", get(read_fault).delete(remove_fault))
        .route("/circuits/{target}", get(read_circuit))
        .fallback(crate::app::no_route)
        .method_not_allowed_fallback(crate::app::method_not_allowed)
        .with_state(Control {
            service: service.to_owned(),
            resilience: resilience.clone(),
        })
}

/// Serves [`router`] on `addr` until `stop` fires; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    service: &str,
    resilience: &Resilience,
    stop: ShutdownHandle,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the fault-control endpoint on {addr}"))?;
    let bound = listener.local_addr()?;
    let app = router(service, resilience);
    tracing::warn!(%bound, service, "fault-control endpoint is ON (tests only)");
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.stopped().await })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "fault-control endpoint stopped");
        }
    });
    Ok(bound)
}

/// The body of `POST /faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewFault {
    target: String,
    kind: Kind,
    latency_ms: Option<u64>,
    status: Option<u16>,
    method: Option<String>,
    path_contains: Option<String>,
    address: Option<String>,
    scenario: Option<String>,
    times: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Latency,
    Error,
    Drop,
    Hang,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_fault", message)
}

impl NewFault {
    fn into_rule(self) -> Result<FaultRule, ApiError> {
        if self.target.trim().is_empty() {
            return Err(invalid("`target` names the called service, e.g. ledger"));
        }
        let kind = match (self.kind, self.latency_ms, self.status) {
            (Kind::Latency, Some(ms), None) => FaultKind::Latency(Duration::from_millis(ms)),
            (Kind::Latency, _, _) => {
                return Err(invalid(
                    "a latency fault needs `latency_ms` and no `status`",
                ));
            }
            (Kind::Error, None, Some(status)) => FaultKind::Error(
                StatusCode::from_u16(status)
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .ok_or_else(|| invalid(format!("`status` {status} is not a 4xx or 5xx")))?,
            ),
            (Kind::Error, _, _) => {
                return Err(invalid("an error fault needs `status` and no `latency_ms`"));
            }
            (Kind::Drop, None, None) => FaultKind::Drop,
            (Kind::Hang, None, None) => FaultKind::Hang,
            (Kind::Drop | Kind::Hang, _, _) => {
                return Err(invalid(
                    "drop and hang faults take neither `latency_ms` nor `status`",
                ));
            }
        };
        if self.times == Some(0) {
            return Err(invalid(
                "`times` is at least 1 (leave it out for every call)",
            ));
        }
        let method = self
            .method
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| invalid(format!("`method` {m:?} is not an HTTP method")))
            })
            .transpose()?;
        Ok(FaultRule {
            caller: None,
            target: self.target,
            method,
            path_contains: self.path_contains,
            address: self.address,
            scenario: self.scenario,
            kind,
            times: self.times,
        })
    }
}

async fn add_fault(
    State(control): State<Control>,
    ApiJson(fault): ApiJson<NewFault>,
) -> Result<Response, ApiError> {
    let rule = fault.into_rule()?;
    let FaultId(id) = control.resilience.faults.add(rule);
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

fn fault_id(control: &Control, text: &str) -> Result<FaultId, ApiError> {
    let id = text
        .parse()
        .map(FaultId)
        .map_err(|_| invalid(format!("`{text}` is not a fault id")))?;
    control
        .resilience
        .faults
        .hits_of(id)
        .map(|_| id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "fault_not_found",
                format!("no fault {text} was added here"),
            )
        })
}

async fn read_fault(
    State(control): State<Control>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = fault_id(&control, &id)?;
    let faults = &control.resilience.faults;
    Ok(Json(json!({
        "id": id.0,
        "hits": faults.hits(id),
        "active": faults.is_active(id),
    })))
}

async fn remove_fault(
    State(control): State<Control>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = fault_id(&control, &id)?;
    control.resilience.faults.remove(id);
    Ok(StatusCode::NO_CONTENT)
}

fn state_name(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::Open => "open",
        CircuitState::HalfOpen => "half_open",
    }
}

async fn read_circuit(
    State(control): State<Control>,
    Path(target): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let resilience = &control.resilience;
    let state = resilience
        .circuit_state(&control.service, &target)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no_client",
                format!("{} does not call {target}", control.service),
            )
        })?;
    let replicas: Vec<_> = resilience
        .replicas(&control.service, &target)
        .into_iter()
        .map(|(url, state)| json!({ "url": url, "state": state_name(state) }))
        .collect();
    Ok(Json(json!({
        "caller": control.service,
        "target": target,
        "state": state_name(state),
        "replicas": replicas,
    })))
}
