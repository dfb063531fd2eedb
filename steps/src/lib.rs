//! # steps: Gherkin sentences turned into calls on a [`drivers::Driver`]
//!
//! The map:
//! - [`MinibankWorld`] (`world`): one per scenario; actors by alias, their credentials and
//!   tokens, the last answer, payments and top-ups made, the last trace.
//! - `namespace`: each scenario's fake data, derived from the run seed and the scenario.
//! - `placeholders`: `{Alice.account_id}` and friends in paths and bodies.
//! - `client` + `telemetry`: every HTTP call starts a trace with a root client span of
//!   service `harness`, exported to the driver's OTLP URL.
//! - step definitions, one file per domain concept: `actors`, `balances`, `payments`,
//!   `provider`, `webhooks`, `access`, `http`, `traces`, `platform`, `bench`.
//! - [`params`]: the parameter types of the sentences (`{actor}`, `{money}`, ...).
//! - [`catalogue`]: every sentence with an example, for analysts (`features/STEPS.md`).
//!
//! - [`exchange_log`]: each scenario's requests (masked), webhooks and failing log lines,
//!   for the run's HTML report.
//!
//! What the entry point (`tests/acceptance.rs`) uses: [`install_driver`], [`set_seed`] /
//! [`seed`], [`hooks::before_scenario`], [`stats`] and [`catalogue::sentences`].
//!
//! Steps never import `minibank` and never know ports: they speak HTTP to the driver's edge
//! URL and ask the driver for everything else.

#![warn(missing_docs)]

pub mod aftermath;
pub mod catalogue;
mod client;
mod context;
pub mod exchange_log;
pub mod hooks;
mod namespace;
pub mod params;
mod placeholders;
mod telemetry;
pub mod trace_log;
mod wait;
mod world;

mod access;
mod actors;
mod balances;
mod bench;
mod cancellation;
mod faults;
mod http;
mod metrics;
mod payments;
mod platform;
mod propagation;
mod provider;
mod replicas;
mod resilience;
mod traces;
mod webhooks;

pub use context::{Stats, driver, install_driver, seed, set_seed, stats};
pub use world::MinibankWorld;
