//! `POST /v1/webhook-endpoints {"url","events"}` (merchants with `webhooks:write`) and the
//! internal `POST /endpoints {"merchant_id","url","events"}`: registers an endpoint and answers
//! its signing secret, the only time it is shown. 422 `invalid_url` for anything but an absolute
//! http(s) URL, 422 `invalid_events` for an empty or unknown event list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::domain::{EndpointId, MerchantId};
use crate::http_error::{ApiError, ApiJson};
use crate::rpc::{RequestContext, Role};
use crate::webhooks::WebhooksState;
use crate::webhooks::event_type::EventType;
use crate::webhooks::url::WebhookUrl;

/// Public request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEndpoint {
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// Internal request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEndpointFor {
    merchant_id: String,
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// The answer (with the secret, shown once).
#[derive(Debug, Serialize, Deserialize)]
pub struct RegisteredEndpoint {
    /// `whe_…`.
    pub endpoint_id: String,
    /// The URL.
    pub url: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// `whsec_…`: the HMAC key of the `minibank-signature` header.
    pub secret: String,
}

/// Public handler: the endpoint belongs to the calling merchant.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<WebhooksState>,
    ApiJson(body): ApiJson<RegisterEndpoint>,
) -> Result<(StatusCode, Json<RegisteredEndpoint>), ApiError> {
    let caller = context.require_scope("webhooks:write")?;
    if caller.role != Role::Merchant {
        return Err(ApiError::forbidden(
            "only merchants register webhook endpoints",
        ));
    }
    let merchant = MerchantId::parse(&caller.subject)
        .map_err(|_| ApiError::forbidden("the caller is not a merchant"))?;
    register(&state, &merchant, &body.url, body.events.as_deref()).await
}

/// Internal handler.
pub async fn handle(
    State(state): State<WebhooksState>,
    ApiJson(body): ApiJson<RegisterEndpointFor>,
) -> Result<(StatusCode, Json<RegisteredEndpoint>), ApiError> {
    let merchant = MerchantId::parse(&body.merchant_id)
        .map_err(|e| ApiError::unprocessable("invalid_request", e.to_string()))?;
    register(&state, &merchant, &body.url, body.events.as_deref()).await
}

async fn register(
    state: &WebhooksState,
    merchant: &MerchantId,
    url: &str,
    events: Option<&[String]>,
) -> Result<(StatusCode, Json<RegisteredEndpoint>), ApiError> {
    let url = WebhookUrl::parse(url)
        .map_err(|e| ApiError::unprocessable("invalid_url", e.to_string()))?;
    let events = match events {
        Some(list) => {
            EventType::parse_list(list).map_err(|e| ApiError::unprocessable("invalid_events", e))?
        }
        None => EventType::ALL.to_vec(),
    };
    let events: Vec<String> = events.iter().map(|t| t.as_str().to_owned()).collect();
    let endpoint_id = EndpointId::generate();
    let secret = new_secret();
    let _write = state.gate().enter().await;
    sqlx::query(
        "INSERT INTO endpoints (endpoint_id, merchant_id, url, events, secret, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(endpoint_id.as_str())
    .bind(merchant.as_str())
    .bind(url.as_str())
    .bind(events.join(","))
    .bind(&secret)
    .bind(crate::db::now_rfc3339())
    .execute(state.pool())
    .await
    .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredEndpoint {
            endpoint_id: endpoint_id.to_string(),
            url: url.to_string(),
            events,
            secret,
        }),
    ))
}

/// `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    format!("whsec_{}", hex::encode(bytes))
}
