//! # webhooks: merchants' endpoints and signed, retried event deliveries
//!
//! Merchants register endpoints (`POST /v1/webhook-endpoints`) and receive a `whsec_…` secret
//! once. payments' outbox relay posts each `payment.settled`/`payment.failed` event to
//! `POST /events`, idempotently by event id; one delivery is created per subscribed endpoint of
//! the merchant (unique per event and endpoint, so an event reaches an endpoint at most once).
//! The [`delivery`] worker sends them, retries on the configured schedule with jitter
//! ([`schedule`]) and dead-letters after the last attempt. Merchants list their deliveries with
//! `GET /v1/webhook-deliveries`.
//!
//! ## Verifying a delivery (for merchants)
//! Every delivery is `POST {url}` with the JSON body
//! `{"id":"evt_…","type":"payment.settled","created_at":"…","data":{<payment>}}` and headers
//! `minibank-event-id: evt_…` and `minibank-signature: t=<unix seconds>,v1=<hex>`. To verify:
//! 1. read the raw body bytes (before any JSON parsing or re-encoding);
//! 2. split the header on `,` into `t=` and one or more `v1=` parts;
//! 3. compute `HMAC-SHA256(key = your whsec_… secret as UTF-8 bytes, message = "<t>.<raw body>")`
//!    and hex-encode it (lowercase);
//! 4. accept if it equals any `v1` value, comparing in constant time, and `t` is within your
//!    tolerance (e.g. 5 minutes) of your clock, which refuses replays of old deliveries;
//! 5. deduplicate on `minibank-event-id`: a retried delivery carries the same id.
//!
//! [`signature::verify`] is a reference implementation of these steps.
//!
//! ## Routes and files
//! The folder has the shape of every data service: [`error`] (typed errors per operation),
//! [`model`] (its values: [`model::WebhookUrl`], [`model::EventType`], the listed delivery),
//! [`ops`] (one file per operation, each read as parse → apply → encode), [`store`] (all of
//! its SQL); beside them its own machinery: [`delivery`], [`schedule`], [`signature`].
//! - `POST /v1/webhook-endpoints` (`createWebhookEndpoint`, public) and `POST /endpoints`
//!   (internal): [`ops::register_endpoint`];
//! - `GET /v1/webhook-deliveries` (`listWebhookDeliveries`, public) and
//!   `GET /deliveries?merchant_id=` (internal): [`ops::list_deliveries`];
//! - `POST /events` (internal, from payments' relay): [`ops::receive_event`].
//!
//! A public route and its internal twin are one operation with two parse steps: the public one
//! takes the merchant from the caller, the internal one from the request.

pub mod checked_connect;
pub mod delivery;
pub mod destination;
pub mod error;
pub mod model;
pub mod ops;
pub mod schedule;
pub mod sealed_secret;
pub mod signature;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use sqlx::AnyPool;
use tokio::sync::Notify;

use crate::app::{Application, Deps, ServiceBuilder};
use crate::config;
use crate::db::WriteGate;
use crate::db::{self, Migration};
use crate::service::{InProcess, Operation, Service, ServiceName};
use delivery::DeliveryWorker;
use destination::DestinationPolicy;
use schedule::RetrySchedule;
use sealed_secret::SecretKey;

/// The webhooks schema, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[Migration::new(
    1,
    "webhooks",
    include_str!("../../migrations/webhooks/0001_webhooks.sql"),
)];

/// webhooks' configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Its database.
    pub database_url: String,
    /// Delays between delivery attempts (`1 + len` attempts in all).
    pub retry_schedule: RetrySchedule,
    /// How long one delivery attempt may take.
    pub delivery_timeout: Duration,
    /// Safety-net interval of the delivery worker.
    pub sweep: Duration,
    /// Where deliveries may go: public destinations and the allow-list's exceptions.
    pub destinations: DestinationPolicy,
    /// The key endpoints' signing secrets are sealed with in the database.
    pub secret_key: SecretKey,
}

impl Settings {
    /// Production defaults: 1s doubling for 8 retries, 5 s per attempt, public destinations
    /// only, and a fresh random secret key (secrets sealed with it open only in this process:
    /// [`Settings::from_env`] reads the deployment's key instead).
    pub fn new(database_url: impl Into<String>) -> Self {
        Settings {
            destinations: DestinationPolicy::public_only(),
            secret_key: SecretKey::generate().0,
            bind: config::default_bind(),
            database_url: database_url.into(),
            retry_schedule: RetrySchedule::exponential(Duration::from_secs(1), 8),
            delivery_timeout: Duration::from_secs(5),
            sweep: Duration::from_secs(1),
        }
    }

    /// From `MINIBANK_BIND`, `MINIBANK_DATABASE_URL` (default `sqlite://webhooks.db`),
    /// `MINIBANK_WEBHOOK_RETRY_SCHEDULE` (e.g. `50ms,100ms,200ms`),
    /// `MINIBANK_WEBHOOK_SECRET_KEY` (required: 32 bytes in base64) and
    /// `MINIBANK_WEBHOOK_ALLOWED_DESTINATIONS` (optional exceptions to the destination rules).
    pub fn from_env() -> anyhow::Result<Self> {
        let mut settings = Settings::new(config::database_url_from_env("webhooks"));
        settings.bind = config::bind_from_env()?;
        settings.secret_key = SecretKey::from_env()?;
        if let Some(policy) = config::env_parsed(destination::ALLOW_ENV, |raw| {
            Ok(DestinationPolicy::from_list(raw)?)
        })? {
            settings.destinations = policy;
        }
        if let Some(schedule) = config::env_parsed(
            "MINIBANK_WEBHOOK_RETRY_SCHEDULE",
            config::parse_duration_list,
        )? {
            settings.retry_schedule = RetrySchedule::new(schedule);
        }
        Ok(settings)
    }
}

/// What webhooks' handlers share.
#[derive(Clone, Debug)]
pub struct WebhooksState {
    pool: AnyPool,
    gate: WriteGate,
    delivery_wake: Arc<Notify>,
    destinations: DestinationPolicy,
    secret_key: SecretKey,
}

impl WebhooksState {
    /// The database pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The database's write gate (taken before every write transaction).
    pub fn gate(&self) -> &WriteGate {
        &self.gate
    }

    /// Where deliveries may go.
    pub fn destinations(&self) -> &DestinationPolicy {
        &self.destinations
    }

    /// The key signing secrets are sealed with.
    pub fn secret_key(&self) -> &SecretKey {
        &self.secret_key
    }

    /// Tells the delivery worker new deliveries exist.
    pub fn wake_delivery(&self) {
        self.delivery_wake.notify_one();
    }
}

/// webhooks, as one of the platform's services.
pub struct Webhooks;

impl Service for Webhooks {
    const NAME: ServiceName = ServiceName::Webhooks;
    type Settings = Settings;

    fn from_env() -> anyhow::Result<Settings> {
        Settings::from_env()
    }

    fn in_process(platform: &InProcess<'_>) -> Settings {
        let mut settings = Settings::new(platform.database_url(Self::NAME));
        settings.retry_schedule =
            RetrySchedule::new(platform.config.webhook_retry_schedule.clone());
        settings.destinations = platform.config.webhook_destinations.clone();
        settings.secret_key = platform.config.webhook_secret_key.clone();
        settings
    }

    fn for_tests(mut settings: Settings) -> Settings {
        settings.delivery_timeout = Duration::from_secs(2);
        settings.sweep = Duration::from_millis(100);
        settings
    }

    fn operations() -> Vec<Operation> {
        vec![
            ops::register_endpoint::OPERATION,
            ops::list_deliveries::OPERATION,
        ]
    }

    fn set_bind(settings: &mut Settings, bind: SocketAddr) {
        settings.bind = bind;
    }

    async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
        build(settings, deps).await
    }
}

/// Opens and migrates the database, seals any secret a row from before sealing holds in
/// plain text, starts the delivery worker, binds.
pub async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
    let pool = db::connect(&settings.database_url).await?;
    db::migrate(&pool, MIGRATIONS).await?;
    let wake = Arc::new(Notify::new());
    let gate = WriteGate::for_url(&settings.database_url);
    let sealed = store::seal_plaintext_secrets(&pool, &gate, &settings.secret_key).await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed webhook secrets stored in plain text before");
    }
    let worker = Arc::new(DeliveryWorker::new(
        pool.clone(),
        gate.clone(),
        deps.clone(),
        &settings,
        wake.clone(),
    ));
    let state = WebhooksState {
        pool: pool.clone(),
        gate,
        delivery_wake: wake,
        destinations: settings.destinations.clone(),
        secret_key: settings.secret_key.clone(),
    };
    let router = Router::new()
        .route("/endpoints", post(ops::register_endpoint::handle))
        .route("/deliveries", get(ops::list_deliveries::handle))
        .route("/events", post(ops::receive_event::handle))
        .route(
            "/v1/webhook-endpoints",
            post(ops::register_endpoint::handle_public),
        )
        .route(
            "/v1/webhook-deliveries",
            get(ops::list_deliveries::handle_public),
        )
        .with_state(state);
    ServiceBuilder::new(deps.telemetry, router)
        .readiness(move || {
            let pool = pool.clone();
            async move { db::ping(&pool).await }
        })
        .background(move |stop| worker.run(stop))
        .bind(settings.bind)
        .await
}
