//! Stand-ins for the systems minibank talks to that are not minibank: the external bank
//! provider and merchants' webhook endpoints. Both are wiremock servers on 127.0.0.1, so any
//! driver whose services can reach this process can use them.

mod fixtures;
mod merchant;
mod provider;

pub use fixtures::{AnswerObserver, FixtureError, ProviderStub, load_provider_stubs};
pub use merchant::WiremockMerchantEndpoint;
pub use provider::ProviderStandIn;
