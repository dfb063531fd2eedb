//! Load balancing with service discovery and failure detection: a round robin over a target's
//! replicas, whose list comes from a `watch` channel (replicas are added and removed while the
//! caller runs; it follows without a restart). A replica is skipped while
//! - it is ejected (passive detection: the stack builder wires this to its circuit being
//!   open, so a replica that failed calls repeatedly is skipped until its half-open probe lets
//!   it back in), or
//! - its last health check failed (active detection, [`HealthChecks`]: `GET /health/ready`
//!   every interval, through the fault layer so tests can fail it; one answer readmits it).
//!
//! Besides the layer, its service and its error: what a replica is made of ([`ReplicaParts`]),
//! the health checks, and the [`HealthRegistry`] where every replica's last check is listed.

mod error;
mod health;
mod layer;
mod registry;
mod replicas;
mod service;

pub use error::NoReplica;
pub use health::HealthChecks;
pub use layer::BalanceLayer;
pub use registry::HealthRegistry;
pub use replicas::{Ejected, MakeReplica, ReplicaParts, ReplicaStack, Replicas};
pub use service::RoundRobin;
