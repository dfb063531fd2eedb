//! Fault injection: a layer of the RPC stack that, when a rule matches a call, delays it,
//! answers an error status in the target's place, drops the connection or hangs. Rules live in
//! one [`FaultInjector`] shared by every client of a platform and are added and removed while it
//! runs (the in-process driver controls them); with no rules the layer only forwards. A rule can be
//! scoped to one scenario (the `minibank.scenario` baggage member, [`scenario_of`]).

mod error;
mod layer;
mod rules;
mod scenario;
mod service;

pub use error::InjectedDrop;
pub use layer::FaultLayer;
pub use rules::{FaultId, FaultInjector, FaultKind, FaultRule};
pub use scenario::{SCENARIO_BAGGAGE_KEY, scenario_of};
pub use service::FaultService;
