//! The containers driver: the same platform, one container per service on a Docker network.
//!
//! A run boots:
//! - the images, built here from local files only ([`images`]): `minibank:<hash>` holds the
//!   release binaries `FROM scratch`, `rotel:<hash>` the collector from the PyPI wheel; content
//!   tags make an unchanged build a lookup;
//! - a Docker network of its own ([`network`]); everything carries the run's labels ([`run`]),
//!   so a crashed run's leftovers are removed by the next run, and Ctrl-C removes this run's;
//! - on the network's gateway (the host's address on it, never 0.0.0.0): the harness's trace
//!   sink, the provider stand-in and the merchant endpoints ([`crate::stand_ins`]);
//! - the `rotel` collector container, receiving OTLP from every service and forwarding it to
//!   the trace sink, and one `minibank serve <service>` container per service, configured by
//!   environment variables only ([`spec`]); readiness is each service's `/health/ready`;
//! - a capture of every container's output ([`logs`]), which is the driver's `LogReader`.
//!
//! Every service container carries its service's name as a network alias, which its replicas
//! share: callers resolve it again and again and balance over the addresses (service
//! discovery by DNS). The driver turns on each service's fault-control endpoint, through which
//! it injects call faults into the same fault layer as in-process and reads circuits
//! ([`mesh`]); it adds and removes replicas of ledger and auth ([`replicas`]).
//!
//! Besides what the in-process driver can do it makes [`crate::Fault`]s: stop and start,
//! pause and resume, disconnect and reconnect a service, and stop the collector.

pub mod images;
pub mod logs;
pub mod network;
pub mod rootfs;
pub mod rotel;
pub mod run;
pub mod spec;

mod driver;
mod mesh;
mod replicas;

use std::time::Duration;

pub use driver::{ContainersDriver, ContainersOptions, LOG_DIR};

/// How long a trace may take to settle in containers, and the quiet period that ends it: spans
/// are batched by each service (20 ms) and by the collector (50 ms) before they reach the sink.
pub const SETTLE_TIMING: (Duration, Duration) =
    (Duration::from_secs(15), Duration::from_millis(400));
