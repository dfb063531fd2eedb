//! The services as one list: their names ([`ServiceName`]), the seam each implements
//! ([`Service`]: settings from the environment or from the in-process platform, test timings,
//! `build`) and [`start`], the one place that maps a name to its service.
//!
//! Imports point one way: `name` is a leaf; `seam` knows the app and the platform's config;
//! each service implements the seam; `registry` knows every service.

mod name;
mod registry;
mod seam;

pub use name::ServiceName;
pub use registry::{SettingsFrom, operations, start};
pub use seam::{InProcess, Operation, Service};
