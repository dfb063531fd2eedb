//! The one list of minibank's services: which type implements [`Service`] for each
//! [`ServiceName`]. `minibank serve`, the in-process platform and the drivers start services
//! through [`start`]; nothing else matches on the five names to build one.

use std::net::SocketAddr;

use futures::future::BoxFuture;

use crate::app::{Application, Deps};
use crate::config;
use crate::{auth, edge, ledger, payments, webhooks};

use super::name::ServiceName;
use super::seam::{InProcess, Operation, Service};

/// Where a service's settings come from.
pub enum SettingsFrom<'a> {
    /// `MINIBANK_*` variables (`minibank serve`); `bind` overrides `MINIBANK_BIND`.
    Env {
        /// Listen address, when given on the command line.
        bind: Option<SocketAddr>,
    },
    /// The in-process platform, listening on `bind`.
    InProcess {
        /// The platform's inputs.
        platform: InProcess<'a>,
        /// Listen address (port 0 for any).
        bind: SocketAddr,
    },
}

/// Builds `service` with settings from `from`, bound and ready to run.
pub async fn start(
    service: ServiceName,
    from: SettingsFrom<'_>,
    deps: Deps,
) -> anyhow::Result<Application> {
    (entry(service).start)(from, deps).await
}

/// The public operations `service` serves, with the answers it can give.
pub fn operations(service: ServiceName) -> Vec<Operation> {
    (entry(service).operations)()
}

/// What the platform needs of one service, as plain functions.
struct Entry {
    start: for<'a> fn(SettingsFrom<'a>, Deps) -> BoxFuture<'a, anyhow::Result<Application>>,
    operations: fn() -> Vec<Operation>,
}

/// The one list: the service type of each name.
fn entry(service: ServiceName) -> Entry {
    match service {
        ServiceName::Edge => entry_of::<edge::Edge>(),
        ServiceName::Auth => entry_of::<auth::Auth>(),
        ServiceName::Ledger => entry_of::<ledger::Ledger>(),
        ServiceName::Payments => entry_of::<payments::Payments>(),
        ServiceName::Webhooks => entry_of::<webhooks::Webhooks>(),
    }
}

fn entry_of<S: Service + 'static>() -> Entry {
    Entry {
        start: |from, deps| Box::pin(start_one::<S>(from, deps)),
        operations: S::operations,
    }
}

async fn start_one<S: Service>(from: SettingsFrom<'_>, deps: Deps) -> anyhow::Result<Application> {
    let (mut settings, test_timings, bind) = match from {
        SettingsFrom::Env { bind } => (
            S::from_env()?,
            config::env_parsed("MINIBANK_TEST_TIMINGS", config::parse_bool)?.unwrap_or(false),
            bind,
        ),
        SettingsFrom::InProcess { platform, bind } => (
            S::in_process(&platform),
            platform.config.test_timings,
            Some(bind),
        ),
    };
    if test_timings {
        settings = S::for_tests(settings);
    }
    if let Some(bind) = bind {
        S::set_bind(&mut settings, bind);
    }
    S::build(settings, deps).await
}
