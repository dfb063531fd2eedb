//! # payments: the payment saga and its outbox
//!
//! `POST /v1/payments` (customer, `Idempotency-Key`) records a payment and runs the saga
//! ([`saga`]): hold the funds in the ledger → submit the transfer to the external bank provider →
//! capture to the merchant, or release the hold when the provider rejects, fails or cannot be
//! reached. After a provider timeout or 5xx the saga asks the provider for the transfer's status
//! before deciding, so money is never lost or paid twice; while that question has no answer the
//! payment stays `processing` and the background worker asks again with backoff.
//!
//! Every step is persisted (the `payments` row holds the step and the operation ids of its ledger
//! calls), so a restarted service resumes each unfinished payment where it stopped. Reaching a
//! final state writes a `payment.settled`/`payment.failed` event to the outbox in the same
//! transaction, with the trace context of the moment; the [`relay`] pushes it to webhooks.
//!
//! Several replicas may share one database: each unfinished payment is driven under a lease in
//! its row ([`store::claim`]), so no two replicas drive the same payment at once.
//!
//! Routes: `POST /v1/payments` ([`ops::create`]), `GET /v1/payments/{id}` ([`ops::get`]).
//!
//! The folder has the shape of every data service: [`error`] (typed errors), [`model`] (the
//! payment and its view), [`ops`] (one file per operation: parse → apply → encode), [`store`]
//! (all of its SQL); beside them the saga ([`saga`]), the outbox [`relay`] and the clients of
//! its peers ([`ledger_client`], [`provider_client`]).

pub mod error;
pub mod ledger_client;
pub mod model;
pub mod ops;
pub mod provider_client;
pub mod relay;
pub mod saga;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use sqlx::AnyPool;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::app::{Application, Deps, ServiceBuilder};
use crate::config;
use crate::db::WriteGate;
use crate::db::{self, Migration};
use crate::service::{InProcess, Operation, Service, ServiceName};
use ledger_client::LedgerClient;
use provider_client::ProviderClient;
use saga::backoff::Backoff;
use saga::driver::SagaDriver;

/// The payments schema, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[Migration::new(
    1,
    "payments",
    include_str!("../../migrations/payments/0001_payments.sql"),
)];

/// payments' configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Its database.
    pub database_url: String,
    /// Ledger base URL.
    pub ledger_url: String,
    /// Webhooks base URL (the outbox relay's target).
    pub webhooks_url: String,
    /// External bank provider base URL.
    pub provider_url: String,
    /// How long one provider call may take before its outcome counts as unknown.
    pub provider_timeout: Duration,
    /// Timeout of one ledger or webhooks call.
    pub internal_timeout: Duration,
    /// Backoff of postponed steps (status queries, ledger calls while it is down).
    pub retry_backoff: Backoff,
    /// Safety-net interval of the outbox relay and the saga worker.
    pub sweep: Duration,
    /// How long a replica's claim on a payment keeps it from every other replica. Longer than
    /// any step may take (a provider or ledger call with its retries); a lease that ends
    /// mid-step lets another replica take the payment over (the first then writes nothing).
    pub lease: Duration,
}

impl Settings {
    /// Settings with production defaults for everything but the addresses.
    pub fn new(
        database_url: impl Into<String>,
        ledger_url: impl Into<String>,
        webhooks_url: impl Into<String>,
        provider_url: impl Into<String>,
    ) -> Self {
        Settings {
            bind: config::default_bind(),
            database_url: database_url.into(),
            ledger_url: ledger_url.into(),
            webhooks_url: webhooks_url.into(),
            provider_url: provider_url.into(),
            provider_timeout: Duration::from_secs(2),
            internal_timeout: Duration::from_secs(5),
            retry_backoff: Backoff {
                base: Duration::from_millis(200),
                max: Duration::from_secs(30),
            },
            sweep: Duration::from_secs(1),
            lease: Duration::from_secs(60),
        }
    }

    /// From `MINIBANK_BIND`, `MINIBANK_DATABASE_URL` (default `sqlite://payments.db`),
    /// `MINIBANK_LEDGER_URL`, `MINIBANK_WEBHOOKS_URL`, `MINIBANK_PROVIDER_URL`,
    /// `MINIBANK_PROVIDER_TIMEOUT` (default 2s).
    pub fn from_env() -> anyhow::Result<Self> {
        let mut settings = Settings::new(
            config::database_url_from_env("payments"),
            config::required_url("MINIBANK_LEDGER_URL")?,
            config::required_url("MINIBANK_WEBHOOKS_URL")?,
            config::required_url("MINIBANK_PROVIDER_URL")?,
        );
        settings.bind = config::bind_from_env()?;
        if let Some(timeout) =
            config::env_parsed("MINIBANK_PROVIDER_TIMEOUT", config::parse_duration)?
        {
            settings.provider_timeout = timeout;
        }
        Ok(settings)
    }
}

/// What payments' handlers share.
#[derive(Clone, Debug)]
pub struct PaymentsState {
    driver: Arc<SagaDriver>,
    /// Cancelled when the service shuts down: sagas driven by requests stop where they are
    /// (their step is persisted) instead of outliving the service.
    stop: CancellationToken,
}

impl PaymentsState {
    /// The database pool.
    pub fn pool(&self) -> &AnyPool {
        self.driver.pool()
    }
}

/// payments, as one of the platform's services.
pub struct Payments;

impl Service for Payments {
    const NAME: ServiceName = ServiceName::Payments;
    type Settings = Settings;

    fn from_env() -> anyhow::Result<Settings> {
        Settings::from_env()
    }

    fn in_process(platform: &InProcess<'_>) -> Settings {
        let mut settings = Settings::new(
            platform.database_url(Self::NAME),
            (platform.url_of)(ServiceName::Ledger),
            (platform.url_of)(ServiceName::Webhooks),
            platform.config.provider_url.clone(),
        );
        settings.provider_timeout = platform.config.provider_timeout;
        settings
    }

    fn for_tests(mut settings: Settings) -> Settings {
        settings.retry_backoff = Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(100),
        };
        settings.sweep = Duration::from_millis(100);
        settings
    }

    fn operations() -> Vec<Operation> {
        vec![ops::create::OPERATION, ops::get::OPERATION]
    }

    fn set_bind(settings: &mut Settings, bind: SocketAddr) {
        settings.bind = bind;
    }

    async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
        build(settings, deps).await
    }
}

/// Opens and migrates the database, starts the saga worker and the outbox relay, binds.
pub async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
    let pool = db::connect(&settings.database_url).await?;
    db::migrate(&pool, MIGRATIONS).await?;
    let relay_wake = Arc::new(Notify::new());
    let gate = WriteGate::for_url(&settings.database_url);
    let driver = Arc::new(SagaDriver::new(
        pool.clone(),
        gate.clone(),
        LedgerClient::new(deps.client("ledger", &settings.ledger_url, settings.internal_timeout)),
        ProviderClient::new(deps.client(
            "provider",
            &settings.provider_url,
            settings.provider_timeout,
        )),
        settings.retry_backoff,
        // Never shorter than a provider call and a ledger call.
        settings
            .lease
            .max(2 * (settings.provider_timeout + settings.internal_timeout)),
        relay_wake.clone(),
    ));
    let relay = relay::OutboxRelay {
        pool: pool.clone(),
        gate,
        webhooks: deps.client(
            "webhooks",
            &settings.webhooks_url,
            settings.internal_timeout,
        ),
        wake: relay_wake,
        sweep: settings.sweep,
    };
    let stop = CancellationToken::new();
    let state = PaymentsState {
        driver: driver.clone(),
        stop: stop.clone(),
    };
    let router = Router::new()
        .route("/v1/payments", post(ops::create::handle))
        .route("/v1/payments/{payment_id}", get(ops::get::handle))
        .with_state(state);
    let sweep = settings.sweep;
    ServiceBuilder::new(deps.telemetry, router)
        .readiness(move || {
            let pool = pool.clone();
            async move { db::ping(&pool).await }
        })
        .background(move |shutdown| async move {
            shutdown.cancelled().await;
            stop.cancel();
        })
        .background(move |shutdown| saga::worker::run(driver, shutdown, sweep))
        .background(move |shutdown| relay.run(shutdown))
        .bind(settings.bind)
        .await
}
