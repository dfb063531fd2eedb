//! auth: owns clients and tokens, and onboards parties.
//!
//! Routes (internal; edge serves the public ones under `/v1`):
//! - `POST /tokens`: client credentials -> a short-lived signed token ([`ops::issue_token`]).
//! - `POST /introspect`: token -> active, subject, role, scopes ([`ops::introspect`]); edge asks.
//! - `POST /customers`, `POST /merchants`: onboarding ([`ops::onboard_customer`],
//!   [`ops::onboard_merchant`], both through [`onboarding`]): opens the ledger account first,
//!   then stores the party and its hashed credentials.
//!
//! The one service shape: `error.rs` (typed errors per operation), `model.rs` (its values and
//! shared wire views), `ops/` (one file per operation), `store.rs` (all its SQL); beside them
//! its own parts: `tokens.rs` (signing), `credentials.rs` (hashed secrets), `onboarding.rs`,
//! `ledger_client.rs` (the ledger's answers, decoded once).
//!
//! The operator client is bootstrapped from configuration at every start.

pub mod credentials;
pub mod error;
mod hs256;
pub mod ledger_client;
pub mod model;
pub mod onboarding;
pub mod ops;
pub mod store;
pub mod tokens;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;

use crate::app::{Application, Deps, ServiceBuilder};
use crate::config::{self, Secret};
use crate::rpc::Role;
use crate::service::{InProcess, Operation, Service, ServiceName};
use credentials::HashedSecret;
use ledger_client::LedgerClient;
use store::{ClientRecord, Store};
use tokens::TokenSigner;

pub use crate::config::OperatorCredentials;

/// auth's configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Its database.
    pub database_url: String,
    /// Ledger base URL (onboarding opens accounts there).
    pub ledger_url: String,
    /// HS256 key for tokens, at least 32 bytes.
    pub signing_key: Secret,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// The operator client created or updated at start.
    pub operator: OperatorCredentials,
    /// Timeout of one ledger call.
    pub ledger_timeout: Duration,
}

impl Settings {
    /// From `MINIBANK_BIND`, `MINIBANK_DATABASE_URL`, `MINIBANK_LEDGER_URL`,
    /// `MINIBANK_TOKEN_SIGNING_KEY`, `MINIBANK_OPERATOR_CLIENT_ID`, `MINIBANK_OPERATOR_CLIENT_SECRET`,
    /// `MINIBANK_TOKEN_TTL` (default 15m).
    pub fn from_env() -> anyhow::Result<Self> {
        let secret = |name: &str| {
            config::env_var(name)
                .map(Secret::new)
                .ok_or_else(|| anyhow::anyhow!("{name} must be set"))
        };
        Ok(Self {
            bind: config::bind_from_env()?,
            database_url: config::database_url_from_env("auth"),
            ledger_url: config::required_url("MINIBANK_LEDGER_URL")?,
            signing_key: secret("MINIBANK_TOKEN_SIGNING_KEY")?,
            token_ttl: config::env_parsed("MINIBANK_TOKEN_TTL", config::parse_duration)?
                .unwrap_or(Duration::from_secs(15 * 60)),
            operator: OperatorCredentials {
                client_id: config::env_var("MINIBANK_OPERATOR_CLIENT_ID")
                    .ok_or_else(|| anyhow::anyhow!("MINIBANK_OPERATOR_CLIENT_ID must be set"))?,
                client_secret: secret("MINIBANK_OPERATOR_CLIENT_SECRET")?,
            },
            ledger_timeout: Duration::from_secs(5),
        })
    }
}

/// What auth's handlers share.
#[derive(Clone, Debug)]
pub struct AuthState {
    store: Store,
    signer: TokenSigner,
    ledger: LedgerClient,
}

/// auth, as one of the platform's services.
pub struct Auth;

impl Service for Auth {
    const NAME: ServiceName = ServiceName::Auth;
    type Settings = Settings;

    fn from_env() -> anyhow::Result<Settings> {
        Settings::from_env()
    }

    fn in_process(platform: &InProcess<'_>) -> Settings {
        let config = platform.config;
        Settings {
            bind: config::default_bind(),
            database_url: platform.database_url(Self::NAME),
            ledger_url: (platform.url_of)(ServiceName::Ledger),
            signing_key: config.token_signing_key.clone(),
            token_ttl: Duration::from_secs(15 * 60),
            operator: config.operator.clone(),
            ledger_timeout: Duration::from_secs(5),
        }
    }

    fn for_tests(settings: Settings) -> Settings {
        settings
    }

    fn operations() -> Vec<Operation> {
        vec![
            ops::issue_token::OPERATION,
            ops::onboard_customer::OPERATION,
            ops::onboard_merchant::OPERATION,
        ]
    }

    fn set_bind(settings: &mut Settings, bind: SocketAddr) {
        settings.bind = bind;
    }

    async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
        build(settings, deps).await
    }
}

/// Opens the database, bootstraps the operator client and binds the service.
pub async fn build(settings: Settings, deps: Deps) -> anyhow::Result<Application> {
    let store = Store::open(&settings.database_url).await?;
    let signer = TokenSigner::new(&settings.signing_key, settings.token_ttl)?;
    bootstrap_operator(&store, &settings.operator).await?;
    let state = AuthState {
        store: store.clone(),
        signer,
        ledger: LedgerClient::new(deps.client(
            "ledger",
            &settings.ledger_url,
            settings.ledger_timeout,
        )),
    };
    let pool = Arc::new(store.pool().clone());
    ServiceBuilder::new(deps.telemetry, router(state))
        .readiness(move || {
            let pool = pool.clone();
            async move { crate::db::ping(&pool).await }
        })
        .bind(settings.bind)
        .await
}

/// auth's routes.
fn router(state: AuthState) -> Router {
    Router::new()
        .route("/tokens", post(ops::issue_token::handle))
        .route("/introspect", post(ops::introspect::handle))
        .route("/customers", post(ops::onboard_customer::handle))
        .route("/merchants", post(ops::onboard_merchant::handle))
        .with_state(state)
}

async fn bootstrap_operator(store: &Store, operator: &OperatorCredentials) -> anyhow::Result<()> {
    anyhow::ensure!(
        !operator.client_id.trim().is_empty() && operator.client_secret.expose().len() >= 8,
        "the operator client id must not be empty and its secret must be at least 8 characters"
    );
    store
        .upsert_client(&ClientRecord {
            client_id: operator.client_id.clone(),
            secret: HashedSecret::new(operator.client_secret.expose()),
            role: Role::Operator,
            subject: operator.client_id.clone(),
            scopes: model::scopes_for(Role::Operator)
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        })
        .await?;
    Ok(())
}
