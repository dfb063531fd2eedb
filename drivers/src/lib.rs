//! How the system under test is started and reached.
//!
//! One trait, [`Driver`], and its implementations. Steps depend only on the trait.
//!
//! - [`Driver`]: the trait, capabilities, provider/merchant/log interfaces.
//! - [`in_process`]: every service as tasks in the test process (default).
//! - [`stand_ins`]: wiremock stand-ins for the provider and merchant endpoints.

mod driver;
pub mod in_process;
pub mod stand_ins;
pub mod staging;

pub use driver::*;
