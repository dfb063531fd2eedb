//! How the system under test is started and reached.
//!
//! One trait, [`Driver`], and its implementations. Steps depend only on the trait; the entry
//! point picks one with [`select::start`].
//!
//! - [`Driver`]: the core trait (edge URL, operator, traces, timings); [`capabilities`]: what a
//!   driver may offer besides, one trait each, from which [`Driver::capabilities`] is derived.
//! - [`in_process`]: every service as tasks in the test process (default).
//! - [`stand_ins`]: stand-ins for the provider and merchant endpoints (small HTTP servers).
//! - [`staging`]: a deployed environment described by a profile file.
//! - [`containers`]: one container per service on a Docker network, a real collector.
//! - [`select`]: a driver by name (`--driver`).
//! - [`timings`]: retries and timeouts as each driver configures them, in words (for the glossary).

pub mod capabilities;
pub mod containers;
mod driver;
mod harness_side;
pub mod in_process;
mod metrics;
pub mod select;
pub mod staging;
pub mod stand_ins;
pub mod timings;

pub use capabilities::{
    CallFaults, MerchantEndpoints, MetricsReader, ProcessFaults, ReplicaControl, Restarts,
};
pub use driver::*;
/// The W3C baggage member naming the scenario a request is made for (its namespace).
pub use minibank::rpc::SCENARIO_BAGGAGE_KEY;
