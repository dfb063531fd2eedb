//! payments (in progress)
pub mod ledger_client;
pub mod model;
pub mod provider_client;
pub mod saga;
pub mod store;
