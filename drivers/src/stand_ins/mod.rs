//! Stand-ins for the systems minibank talks to that are not minibank: the external bank
//! provider and merchants' webhook endpoints. Both are small HTTP servers on an address the
//! services can reach (127.0.0.1, or a container network's gateway), so any driver whose
//! services can reach this process can use them. Neither keeps more than a bounded number of
//! the requests it was sent (see `server.rs`).

mod fixtures;
mod merchant;
mod provider;
mod recent;
mod server;

pub use fixtures::{FixtureError, ProviderStub, load_provider_stubs};
pub use merchant::{MerchantStandIn, REMEMBERED_WEBHOOKS};
pub use provider::{ProviderStandIn, REMEMBERED_TRANSFERS};
