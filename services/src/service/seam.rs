//! [`Service`]: the one seam every minibank service implements, so that `minibank serve`, the
//! in-process platform and the drivers start any of them the same way: settings from the
//! environment or from the in-process platform, test timings applied in one place, then `build`.

use std::future::Future;
use std::net::SocketAddr;

use crate::app::{Application, Deps};
use crate::db::sqlite_url;
use crate::edge::Discovery;
use crate::http_error::{Answer, ErrorAnswer};
use crate::platform::config::PlatformConfig;

use super::name::ServiceName;

/// One minibank service. Each service module has a unit type implementing this (`ledger::Ledger`).
pub trait Service {
    /// Which service this is.
    const NAME: ServiceName;
    /// Its configuration.
    type Settings: Send + 'static;

    /// Settings from `MINIBANK_*` and `OTEL_*` variables (12-factor; API.md "Configuration").
    fn from_env() -> anyhow::Result<Self::Settings>;

    /// Settings inside the in-process platform: peers at the addresses it started, a SQLite file
    /// in its data directory, the platform's operator, provider and schedules.
    fn in_process(platform: &InProcess<'_>) -> Self::Settings;

    /// Millisecond backoffs, sweeps and deadlines for tests: what every test platform (in-process
    /// or containers, through `MINIBANK_TEST_TIMINGS`) runs with. Never touches what
    /// [`PlatformConfig`] sets explicitly.
    fn for_tests(settings: Self::Settings) -> Self::Settings;

    /// Where it listens.
    fn set_bind(settings: &mut Self::Settings, bind: SocketAddr);

    /// The public operations it serves behind edge, each with every answer it can give; the
    /// contract test checks them against `openapi.json`.
    fn operations() -> Vec<Operation>;

    /// Opens its database, binds, and returns the application, not yet running.
    fn build(
        settings: Self::Settings,
        deps: Deps,
    ) -> impl Future<Output = anyhow::Result<Application>> + Send;
}

/// A public operation as the contract (`services/openapi.json`) names it.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    /// Its `operationId` in `openapi.json`.
    pub id: &'static str,
    /// The success statuses it answers with.
    pub success: &'static [u16],
    /// Every non-success answer the service itself can give for it (edge adds its own).
    pub answers: fn() -> Vec<Answer>,
}

impl Operation {
    /// An operation whose errors are `E`, usable in constants:
    /// `Operation::new::<TopUpError>("topUpAccount", &[201])`.
    pub const fn new<E: ErrorAnswer>(id: &'static str, success: &'static [u16]) -> Self {
        Operation {
            id,
            success,
            answers: E::answers,
        }
    }
}

/// What the in-process platform hands a service to derive its settings from.
pub struct InProcess<'a> {
    /// The platform's configuration.
    pub config: &'a PlatformConfig,
    /// The base URL of a service already started (services start in [`ServiceName::ALL`]
    /// order, so a service's peers are up before it).
    pub url_of: &'a (dyn Fn(ServiceName) -> String + Sync),
    /// Where edge follows the replicas of the services behind it.
    pub discovery: &'a Discovery,
}

impl InProcess<'_> {
    /// The service's own SQLite file in the platform's data directory.
    pub fn database_url(&self, service: ServiceName) -> String {
        sqlite_url(&self.config.data_dir.join(format!("{service}.db")))
    }
}
