//! # ledger: accounts, holds and postings
//!
//! Double-entry balances in integer minor units. Every account holds one currency; each currency
//! has an external *funding* account, the counterpart of top-ups, so the postings of a currency
//! always sum to zero (`GET /audit` proves it). Payments reserve money with a *hold*, then
//! *capture* it to the payee or *release* it. A balance never goes below zero: a hold must fit
//! in `available = balance - held`, checked and reserved in one conditional UPDATE.
//!
//! Every mutation is idempotent by its `operation_id`: the first result (success or business
//! refusal such as `insufficient_funds`) is stored in the same transaction as the mutation and
//! replayed for every later request with that id.
//!
//! Routes (internal unless marked; API.md "Internal APIs"):
//! - `POST /accounts`, `GET /accounts?owner_id=&currency=`, `GET /accounts/{id}`,
//!   `POST /accounts/{id}/top-ups`, `POST /accounts/{id}/close`
//! - `POST /holds`, `POST /holds/{hold_id}/capture`, `POST /holds/{hold_id}/release`
//! - `GET /audit`
//! - public, behind edge's identity headers: `GET /v1/accounts/{id}` (owner or operator),
//!   `POST /v1/accounts/{id}/top-ups` (`accounts:fund`), `GET /v1/ledger/audit` (`ledger:audit`)
//!

pub mod error;
pub mod model;
pub mod ops;
pub mod rules;
mod store;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use sqlx::AnyPool;

use crate::app::{Application, Deps, ServiceBuilder};
use crate::config;
use crate::db::{self, Migration, WriteGate};
use crate::service::{InProcess, Operation, Service, ServiceName};

pub use model::Recorded;

/// The ledger's schema, applied in order at start.
pub const MIGRATIONS: &[Migration] = &[Migration::new(
    1,
    "ledger",
    include_str!("../../migrations/ledger/0001_ledger.sql"),
)];

/// The ledger's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Its database.
    pub database_url: String,
}

impl Settings {
    /// From `MINIBANK_BIND` and `MINIBANK_DATABASE_URL` (default `sqlite://ledger.db`).
    pub fn from_env() -> anyhow::Result<Self> {
        Ok(Settings {
            bind: config::bind_from_env()?,
            database_url: config::database_url_from_env("ledger"),
        })
    }
}

/// The ledger, as one of the platform's services.
pub struct Ledger;

impl Service for Ledger {
    const NAME: ServiceName = ServiceName::Ledger;
    type Settings = Settings;

    fn from_env() -> anyhow::Result<Settings> {
        Settings::from_env()
    }

    fn in_process(platform: &InProcess<'_>) -> Settings {
        Settings {
            bind: config::default_bind(),
            database_url: platform.database_url(Self::NAME),
        }
    }

    fn for_tests(settings: Settings) -> Settings {
        settings
    }

    fn operations() -> Vec<Operation> {
        vec![
            ops::get_account::OPERATION,
            ops::top_up::OPERATION,
            ops::audit::OPERATION,
        ]
    }

    fn set_bind(settings: &mut Settings, bind: SocketAddr) {
        settings.bind = bind;
    }

    async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
        build(settings, deps).await
    }
}

/// Opens and migrates the database and binds the service.
pub async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
    let pool = db::connect(&settings.database_url).await?;
    db::migrate(&pool, MIGRATIONS).await?;
    let state = LedgerState::new(pool.clone(), WriteGate::for_url(&settings.database_url));
    ServiceBuilder::new(deps.telemetry, router(state))
        .readiness(move || {
            let pool = pool.clone();
            async move { db::ping(&pool).await }
        })
        .bind(settings.bind)
        .await
}

/// What every ledger handler shares.
#[derive(Clone, Debug)]
pub struct LedgerState {
    pool: AnyPool,
    /// Taken before every write transaction (see [`WriteGate`]).
    gate: WriteGate,
}

impl LedgerState {
    /// State over an open, migrated pool, with the write gate its database needs.
    pub fn new(pool: AnyPool, gate: WriteGate) -> Self {
        LedgerState { pool, gate }
    }

    /// The pool (for readiness checks).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The ledger's routes (without the RPC server layer, which the service wraps around them).
pub fn router(state: LedgerState) -> Router {
    Router::new()
        .route(
            "/accounts",
            post(ops::open_account::handle).get(ops::list_accounts::handle),
        )
        .route("/accounts/{account_id}", get(ops::get_account::handle))
        .route("/accounts/{account_id}/top-ups", post(ops::top_up::handle))
        .route(
            "/accounts/{account_id}/close",
            post(ops::close_account::handle),
        )
        .route("/holds", post(ops::hold::handle))
        .route("/holds/{hold_id}/capture", post(ops::capture::handle))
        .route("/holds/{hold_id}/release", post(ops::release::handle))
        .route("/audit", get(ops::audit::handle))
        .route(
            "/v1/accounts/{account_id}",
            get(ops::get_account::handle_public),
        )
        .route(
            "/v1/accounts/{account_id}/top-ups",
            post(ops::top_up::handle_public),
        )
        .route("/v1/ledger/audit", get(ops::audit::handle_public))
        .with_state(state)
}
