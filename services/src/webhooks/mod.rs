//! webhooks (in progress)
pub mod schedule;
pub mod signature;
pub mod url;
