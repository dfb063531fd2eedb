//! The in-process driver: the whole platform as tasks in the test process.
//!
//! Boots once per run and is shared by every concurrently running scenario:
//! - the harness's trace sink (OTLP/HTTP + gRPC + query) on 127.0.0.1 ephemeral ports; traces
//!   are read straight from its store, so waiting for a trace is notified, not polled;
//! - the external bank provider stand-in ([`ProviderStandIn`], a small HTTP server, stubs from
//!   `fixtures/provider/`), scoped per scenario by debtor account;
//! - every minibank service through `minibank::platform::start`, SQLite files in a temp dir;
//! - one process-wide log capture ([`logs::LogCapture`]).
//!
//! Merchant endpoints are small HTTP servers started on demand, one per call. Neither stand-in
//! grows per request (each keeps the newest requests only).

mod call_faults;
mod driver;
pub mod logs;

use std::time::Duration;

pub use driver::{InProcessDriver, InProcessOptions};

/// Where the default provider stubs live in this repository.
pub const DEFAULT_PROVIDER_FIXTURES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/provider");

/// How long a trace may take to settle in-process, and the quiet period that ends it.
/// Spans are exported every few milliseconds here, so 30 ms of silence means done.
pub const SETTLE_TIMING: (Duration, Duration) = (Duration::from_secs(5), Duration::from_millis(30));
