//! The provider sandbox: a bank provider that `minibank up` runs beside the platform, so a person
//! trying it by hand can settle a payment. It is not one of the five minibank services (the
//! provider is someone else's system); it stands where a real provider's sandbox would.
//!
//! - The provider (`transfers`): the contract of the wiremock stand-in the tests use
//!   (services/API.md, "External bank provider"): `POST /transfers` accepts every valid transfer
//!   and deduplicates by `transfer_id`; `GET /transfers/{id}` answers `accepted` for a transfer
//!   it processed, 404 otherwise.
//! - A merchant inbox (`inbox`): `POST /merchant-inbox/{name}` receives webhook deliveries,
//!   `GET` lists them, so the walk-through has a webhook URL to register.
//!
//! Memory is bounded: everything is kept in memory, and each collection forgets its oldest
//! entries beyond its capacity ([`Settings`]): the oldest transfers (a status query for one
//! then answers 404, as for a transfer never sent), the oldest inboxes, the oldest deliveries
//! of an inbox. Ids and bodies have size limits, so each entry is small.
//!
//! Shaped like the services (`build(settings, telemetry)` binds, port 0 works) so it can also
//! run on its own; [`spawn`] runs it as a task.

mod bounded;
mod error;
mod inbox;
mod transfers;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::task::JoinHandle;

pub use inbox::MAX_WAIT;

use inbox::Inboxes;
use transfers::TransferBook;

use crate::app::{Application, ServiceBuilder, ShutdownHandle};
use crate::telemetry::Telemetry;

/// The `service.name` the sandbox's spans report under.
pub const SERVICE_NAME: &str = "provider-sandbox";
/// The largest request body taken: a transfer or a webhook delivery is far smaller.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Where the sandbox listens and how much it remembers.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Listen address (port 0 = any free port).
    pub bind: SocketAddr,
    /// Transfers remembered for deduplication and status queries; the oldest are forgotten.
    pub transfers: usize,
    /// Merchant inboxes kept; the one least recently created is forgotten first.
    pub inboxes: usize,
    /// Deliveries kept per inbox; the oldest are dropped first.
    pub deliveries_per_inbox: usize,
}

impl Settings {
    /// Listening on `bind`, remembering 10 000 transfers (about 1 KiB each at most) and 100
    /// inboxes of 20 deliveries (16 KiB each at most).
    pub fn new(bind: SocketAddr) -> Self {
        Self {
            bind,
            transfers: 10_000,
            inboxes: 100,
            deliveries_per_inbox: 20,
        }
    }
}

/// Binds the sandbox; `telemetry` names and exports its spans (a payment's trace then shows the
/// provider's side of the submit, and the delivery's arrival).
pub async fn build(settings: Settings, telemetry: Telemetry) -> anyhow::Result<Application> {
    let transfers = Router::new()
        .route("/transfers", post(transfers::submit))
        .route("/transfers/{transfer_id}", get(transfers::status))
        .with_state(TransferBook::new(settings.transfers));
    let inboxes = Router::new()
        .route(
            "/merchant-inbox/{name}",
            post(inbox::receive).get(inbox::list),
        )
        .with_state(Inboxes::new(
            settings.inboxes,
            settings.deliveries_per_inbox,
        ));
    let router = transfers
        .merge(inboxes)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    ServiceBuilder::new(telemetry, router)
        .bind(settings.bind)
        .await
}

/// A sandbox running as a task of this process.
#[derive(Debug)]
pub struct RunningSandbox {
    url: String,
    shutdown: ShutdownHandle,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Builds the sandbox and runs it as a task until [`RunningSandbox::shutdown`].
pub async fn spawn(settings: Settings, telemetry: Telemetry) -> anyhow::Result<RunningSandbox> {
    let app = build(settings, telemetry).await?;
    Ok(RunningSandbox {
        url: app.base_url(),
        shutdown: app.shutdown_handle(),
        task: tokio::spawn(app.run_until_stopped()),
    })
}

impl RunningSandbox {
    /// The base URL, e.g. `http://127.0.0.1:9090`: the platform's provider URL, and the root of
    /// the merchant inboxes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops it and waits until it has (its spans flushed).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.shutdown();
        self.task.await?
    }
}
