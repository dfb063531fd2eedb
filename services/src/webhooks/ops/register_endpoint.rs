//! `POST /v1/webhook-endpoints {"url","events"?}` (`createWebhookEndpoint`: merchants with
//! `webhooks:write`, for themselves) and the internal `POST /endpoints
//! {"merchant_id","url","events"?}`: registers an endpoint and answers 201 with its signing
//! secret, the only time it is shown. `events` defaults to every event type.
//!
//! Answers: 422 `invalid_url` (field `url`) for anything but an absolute http(s) URL with a
//! host and no credentials, 422 `destination_refused` (field `url`) for a URL that points
//! inward ([`DestinationPolicy::check_url`]: loopback, private, link-local, unique-local,
//! metadata, the platform's own services; the allow-list names exceptions), 422 `invalid_events` (field `events`) for an empty or unknown event
//! list, the body-shape codes of [`InvalidRequest`], 401/403 for a caller who is not a merchant
//! with the scope, 500 `internal_error`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::domain::{EndpointId, MerchantId};
use crate::http_error::{ApiJson, Internal, InvalidRequest};
use crate::rpc::RequestContext;
use crate::service::Operation;
use crate::webhooks::WebhooksState;
use crate::webhooks::destination::DestinationPolicy;
use crate::webhooks::error::{InvalidUrl, RegisterEndpointError};
use crate::webhooks::model::{EventType, WebhookUrl, calling_merchant};
use crate::webhooks::store::{self, NewEndpoint};

/// The public operation, as `openapi.json` lists it.
pub const OPERATION: Operation =
    Operation::new::<RegisterEndpointError>("createWebhookEndpoint", &[201]);

/// Public request body: the endpoint belongs to the calling merchant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEndpointBody {
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// Internal request body: the merchant is named.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterEndpointForBody {
    merchant_id: String,
    url: String,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// A registration, parsed.
#[derive(Debug)]
pub struct RegisterEndpoint {
    merchant: MerchantId,
    url: WebhookUrl,
    events: Vec<EventType>,
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

/// What a registration made.
#[derive(Debug)]
pub struct Registered {
    endpoint_id: EndpointId,
    url: WebhookUrl,
    events: Vec<EventType>,
    secret: String,
}

impl RegisterEndpoint {
    /// The public body, for the calling merchant; its URL judged by `destinations`.
    pub fn parse(
        context: &RequestContext,
        body: RegisterEndpointBody,
        destinations: &DestinationPolicy,
    ) -> Result<Self, RegisterEndpointError> {
        let merchant = calling_merchant(context, "webhooks:write", "register webhook endpoints")?;
        Self::parse_for(merchant, &body.url, body.events.as_deref(), destinations)
    }

    /// The internal body, for the merchant it names.
    pub fn parse_internal(
        body: RegisterEndpointForBody,
        destinations: &DestinationPolicy,
    ) -> Result<Self, RegisterEndpointError> {
        let merchant = MerchantId::parse(&body.merchant_id)
            .map_err(|e| InvalidRequest::value("merchant_id", e))?;
        Self::parse_for(merchant, &body.url, body.events.as_deref(), destinations)
    }

    fn parse_for(
        merchant: MerchantId,
        url: &str,
        events: Option<&[String]>,
        destinations: &DestinationPolicy,
    ) -> Result<Self, RegisterEndpointError> {
        let url = WebhookUrl::parse(url)?;
        // A WebhookUrl is a parsed URL: parsing its text again cannot fail.
        let parsed = reqwest::Url::parse(url.as_str())
            .map_err(|error| InvalidUrl(format!("`{url}` is not an absolute URL: {error}")))?;
        destinations.check_url(&parsed)?;
        Ok(RegisterEndpoint {
            merchant,
            url,
            events: match events {
                Some(list) => EventType::parse_list(list)?,
                None => EventType::ALL.to_vec(),
            },
        })
    }

    /// Stores the endpoint with a fresh secret, sealed.
    pub async fn apply(self, state: &WebhooksState) -> Result<Registered, RegisterEndpointError> {
        let endpoint_id = EndpointId::generate();
        let secret = new_secret();
        store::insert_endpoint(
            state.pool(),
            state.gate(),
            &NewEndpoint {
                endpoint_id: &endpoint_id,
                merchant: &self.merchant,
                url: &self.url,
                events: &self.events,
                sealed_secret: &state.secret_key().seal(endpoint_id.as_str(), &secret),
            },
        )
        .await
        .map_err(Internal::from)?;
        Ok(Registered {
            endpoint_id,
            url: self.url,
            events: self.events,
            secret,
        })
    }
}

fn encode(registered: Registered) -> impl IntoResponse {
    (
        StatusCode::CREATED,
        Json(RegisteredEndpoint {
            endpoint_id: registered.endpoint_id.to_string(),
            url: registered.url.to_string(),
            events: registered
                .events
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            secret: registered.secret,
        }),
    )
}

/// `POST /v1/webhook-endpoints`.
pub async fn handle_public(
    context: RequestContext,
    State(state): State<WebhooksState>,
    ApiJson(body): ApiJson<RegisterEndpointBody>,
) -> Result<impl IntoResponse, RegisterEndpointError> {
    let registered = RegisterEndpoint::parse(&context, body, state.destinations())?
        .apply(&state)
        .await?;
    Ok(encode(registered))
}

/// `POST /endpoints` (internal).
pub async fn handle(
    State(state): State<WebhooksState>,
    ApiJson(body): ApiJson<RegisterEndpointForBody>,
) -> Result<impl IntoResponse, RegisterEndpointError> {
    let registered = RegisterEndpoint::parse_internal(body, state.destinations())?
        .apply(&state)
        .await?;
    Ok(encode(registered))
}

/// `whsec_` and 32 random bytes in hex.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    format!("whsec_{}", hex::encode(bytes))
}
