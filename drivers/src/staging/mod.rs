//! The staging driver: replay the features against a deployed minibank.
//!
//! Everything comes from a [`Profile`] file (fixtures/profiles/): the edge URL, the names of
//! the environment variables holding the operator credentials, the trace backend (Jaeger
//! api_v3 or Tempo) and how long traces take to settle there. The driver starts nothing and
//! controls nothing: it can only act as an operator ([`Capability::OperatorAccess`]), so
//! scenarios needing provider stubs, merchant endpoints, restarts, faults or logs are
//! skipped with that reason, and only scenarios carrying the profile's tags (default
//! `@staging-safe`) are run.
//!
//! - [`profile`]: the TOML format, its parser and its validation.
//! - [`StagingDriver`]: connects (edge ready, credentials present, trace backend answering).
//!
//! [`Capability::OperatorAccess`]: crate::Capability::OperatorAccess

mod connect;
pub mod profile;
mod secrets;

pub use connect::{ConnectError, StagingDriver};
pub use profile::{Profile, ProfileError, TraceBackendKind};
