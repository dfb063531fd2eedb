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
//!   `provider`, `webhooks`, `access`, `http`, `traces`, `trace_shape`, `platform`, `bench`.
//! - [`params`]: the parameter types of the sentences (`{actor}`, `{money}`, ...).
//! - [`catalogue`]: every sentence with an example, and the glossary, for analysts
//!   (`features/STEPS.md` and its HTML twin).
//! - [`suggest`]: the sentences closest to an undefined step, filled in with its values.
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
mod offers;
pub mod params;
mod placeholders;
pub mod suggest;
mod telemetry;
pub mod trace_log;
mod wait;

/// Declares the modules and keeps their source text for the catalogue, from one list.
macro_rules! modules_with_sources {
    ($sources:ident: $($name:ident),* $(,)?) => {
        $(mod $name;)*
        const $sources: &[(&str, &str)] = &[
            $((concat!(stringify!($name), ".rs"), include_str!(concat!(stringify!($name), ".rs")))),*
        ];
    };
}

// The step definitions, one module per domain concept: the one list. The catalogue's
// sections come in this order, each titled by its module's doc.
modules_with_sources!(STEP_SOURCES:
    actors,
    balances,
    payments,
    provider,
    webhooks,
    access,
    http,
    traces,
    trace_shape,
    platform,
    faults,
    resilience,
    replicas,
    hops,
    metrics,
    bench,
);

// Modules without sentences whose code the catalogue reads too, to tell which sentences send
// a request or replace the last answer.
modules_with_sources!(SUPPORT_SOURCES: world);

pub use context::{Stats, driver, install_driver, seed, set_seed, stats};
pub use trace_shape::static_problem;
pub use world::MinibankWorld;
