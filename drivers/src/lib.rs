//! How the system under test is started and reached.
//!
//! One trait, [`Driver`], and its implementations: in-process (default), containers, staging.
//! Steps depend only on the trait.

mod driver;

pub use driver::*;
