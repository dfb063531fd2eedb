//! The rules: which calls a fault applies to, and the injector that holds a platform's rules.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use parking_lot::Mutex;

use super::scenario::scenario_of;
use crate::rpc::call::RpcCall;

/// What happens to a matching call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Wait this long, then send the call as usual.
    Latency(Duration),
    /// Do not send; answer this status with a `{"code":"injected_fault"}` body.
    Error(StatusCode),
    /// Do not send; fail as a connection lost mid-call ([`RpcError::Transport`](crate::rpc::RpcError::Transport)).
    Drop,
    /// Never answer (the caller's timeout or deadline ends the call).
    Hang,
}

/// Which calls a rule applies to, and what it does to them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultRule {
    /// Only calls made by this service (`service.name`), or any caller when `None`.
    pub caller: Option<String>,
    /// Only calls to this target (`peer.service`, e.g. `ledger`, `provider`).
    pub target: String,
    /// Only this method, or any when `None`.
    pub method: Option<Method>,
    /// Only calls whose path and query contain this text (e.g. an account id, which scopes a
    /// fault to one scenario), or any path when `None`.
    pub path_contains: Option<String>,
    /// Only calls to the replica at this `host:port`, or any replica when `None`.
    pub address: Option<String>,
    /// Only calls made for this scenario (the `minibank.scenario` member of the call's
    /// baggage, [`scenario_of`]), or every scenario's when `None`.
    pub scenario: Option<String>,
    /// The fault.
    pub kind: FaultKind,
    /// Applies to the next `n` matching calls, or until removed when `None`.
    pub times: Option<u32>,
}

impl FaultRule {
    fn matches(&self, caller: &str, target: &str, call: &RpcCall) -> bool {
        self.caller.as_deref().is_none_or(|c| c == caller)
            && self.target == target
            && self.method.as_ref().is_none_or(|m| *m == call.method)
            && self.address.as_deref().is_none_or(|address| {
                let host = call.url.host_str().unwrap_or_default();
                let port = call.url.port_or_known_default().unwrap_or_default();
                address == format!("{host}:{port}")
            })
            && self
                .path_contains
                .as_deref()
                .is_none_or(|text| call.path_and_query().contains(text))
            && self
                .scenario
                .as_deref()
                .is_none_or(|scenario| scenario_of(&call.headers).as_deref() == Some(scenario))
    }
}

/// Identifies a rule added to a [`FaultInjector`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FaultId(pub u64);

#[derive(Debug)]
struct ActiveRule {
    id: FaultId,
    rule: FaultRule,
    hits: u32,
}

/// The rules of a platform, shared by all its clients. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct FaultInjector {
    rules: Arc<Mutex<Vec<ActiveRule>>>,
    hits: Arc<Mutex<Vec<(FaultId, u32)>>>,
    next_id: Arc<AtomicU64>,
}

impl FaultInjector {
    /// An injector without rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule; it applies from the next matching call.
    pub fn add(&self, rule: FaultRule) -> FaultId {
        let id = FaultId(self.next_id.fetch_add(1, Ordering::Relaxed));
        self.rules.lock().push(ActiveRule { id, rule, hits: 0 });
        self.hits.lock().push((id, 0));
        id
    }

    /// Removes a rule (no effect if it expired already).
    pub fn remove(&self, id: FaultId) {
        self.rules.lock().retain(|active| active.id != id);
    }

    /// How many calls a rule has affected so far (also after it expired or was removed).
    pub fn hits(&self, id: FaultId) -> u32 {
        self.hits_of(id).unwrap_or(0)
    }

    /// Like [`FaultInjector::hits`], but `None` for an id this injector never gave out.
    pub fn hits_of(&self, id: FaultId) -> Option<u32> {
        self.hits
            .lock()
            .iter()
            .find(|(rule, _)| *rule == id)
            .map(|(_, hits)| *hits)
    }

    /// Whether a rule is still in force (not expired, not removed).
    pub fn is_active(&self, id: FaultId) -> bool {
        self.rules.lock().iter().any(|active| active.id == id)
    }

    /// The fault for this call, if a rule matches (the oldest matching rule wins); counts the
    /// hit and expires a rule whose `times` are used up.
    pub(super) fn take(&self, caller: &str, target: &str, call: &RpcCall) -> Option<FaultKind> {
        let mut rules = self.rules.lock();
        let index = rules
            .iter()
            .position(|active| active.rule.matches(caller, target, call))?;
        let active = &mut rules[index];
        active.hits += 1;
        let (id, hits, kind) = (active.id, active.hits, active.rule.kind.clone());
        if active.rule.times.is_some_and(|times| hits >= times) {
            rules.remove(index);
        }
        drop(rules);
        if let Some(entry) = self.hits.lock().iter_mut().find(|(rule, _)| *rule == id) {
            entry.1 = hits;
        }
        Some(kind)
    }
}
