//! The one trait every driver implements: how steps reach the system under test.
//!
//! Steps hold an `Arc<dyn Driver>` and never know whether the platform runs in this process,
//! in containers or in a staging environment. What a driver cannot do it says through
//! [`Capabilities`], so a step can be reported as skipped with a reason instead of passing silently.

use std::{collections::BTreeSet, fmt, sync::Arc, time::Duration};

use async_trait::async_trait;

use crate::capabilities::{
    CallFaults, MerchantEndpoints, MetricsReader, ProcessFaults, ReplicaControl, Restarts,
};

/// Something a driver may or may not be able to do. Scenarios that need one are tagged
/// `@needs-<capability>` (see [`Capability::tag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Program the external bank provider's answers (accept, reject, time out, be down).
    StubProvider,
    /// Stand up merchant webhook endpoints the platform can reach, and inspect what they received.
    MerchantEndpoints,
    /// Restart a single service while the rest keeps running.
    RestartService,
    /// Inject faults (latency, errors, hangs) into calls between services.
    InjectFaults,
    /// Read the platform's structured log lines.
    ReadLogs,
    /// Use operator credentials to onboard and fund synthetic parties.
    OperatorAccess,
    /// Stop a service's process and start it again later on the same data ([`Fault::Stop`]).
    StopService,
    /// Freeze a service so it accepts connections but never answers ([`Fault::Pause`]).
    PauseService,
    /// Cut a service off the network its peers reach it on ([`Fault::Disconnect`]).
    DisconnectService,
    /// Stop the OpenTelemetry collector between the services and the trace sink.
    StopCollector,
    /// Start and stop extra replicas of a service while it runs (edge follows them).
    Replicas,
    /// Read each service's request metrics and the connection pool's counters.
    Metrics,
}

impl Capability {
    /// Every capability, for listing.
    pub const ALL: [Capability; 12] = [
        Capability::StubProvider,
        Capability::MerchantEndpoints,
        Capability::RestartService,
        Capability::InjectFaults,
        Capability::ReadLogs,
        Capability::OperatorAccess,
        Capability::StopService,
        Capability::PauseService,
        Capability::DisconnectService,
        Capability::StopCollector,
        Capability::Replicas,
        Capability::Metrics,
    ];

    /// The scenario tag that declares a need for this capability, without the `@`.
    pub fn tag(self) -> &'static str {
        match self {
            Capability::StubProvider => "needs-provider-stubs",
            Capability::MerchantEndpoints => "needs-merchant-endpoints",
            Capability::RestartService => "needs-restart",
            Capability::InjectFaults => "needs-faults",
            Capability::ReadLogs => "needs-logs",
            Capability::OperatorAccess => "needs-operator",
            Capability::StopService => "needs-stop-service",
            Capability::PauseService => "needs-pause-service",
            Capability::DisconnectService => "needs-disconnect-service",
            Capability::StopCollector => "needs-stop-collector",
            Capability::Replicas => "needs-replicas",
            Capability::Metrics => "needs-metrics",
        }
    }

    /// The capability a scenario tag asks for, if it is one of ours.
    pub fn from_tag(tag: &str) -> Option<Capability> {
        let tag = tag.trim_start_matches('@');
        Capability::ALL.into_iter().find(|c| c.tag() == tag)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag().trim_start_matches("needs-"))
    }
}

/// The set of capabilities a driver has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(pub BTreeSet<Capability>);

impl Capabilities {
    /// A set from a list.
    pub fn of(list: impl IntoIterator<Item = Capability>) -> Self {
        Capabilities(list.into_iter().collect())
    }
    /// Whether the driver can do `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        self.0.contains(&capability)
    }
}

/// Credentials of the bootstrap operator client (onboarding, top-ups, audit).
#[derive(Clone)]
pub struct OperatorCredentials {
    /// OAuth-style client id.
    pub client_id: String,
    /// Client secret; never printed.
    pub client_secret: String,
}

impl fmt::Debug for OperatorCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OperatorCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// How the external bank provider should answer transfers whose debtor account is one of
/// `accounts` (scoping by account keeps concurrent scenarios apart on one shared provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderBehaviour {
    /// Accept every transfer.
    Accepts,
    /// Reject every transfer with a 4xx.
    Rejects,
    /// Accept the transfer but answer after the platform's provider timeout; a later status
    /// query says whether it was in fact processed.
    TimesOut {
        /// What `GET /transfers/{id}` answers afterwards: processed (`accepted`) or never seen (404).
        processed: bool,
    },
    /// Answer 503 to transfers and status queries alike.
    IsDown,
}

/// Control over the external bank provider stand-in.
#[async_trait]
pub trait ProviderControl: Send + Sync {
    /// From now on, answer transfers from these debtor accounts with `behaviour`.
    async fn set_behaviour(&self, accounts: &[String], behaviour: ProviderBehaviour);
    /// Transfer requests received for these debtor accounts, as JSON bodies, oldest first.
    async fn transfers_received(&self, accounts: &[String]) -> Vec<serde_json::Value>;
}

/// One request a merchant endpoint received.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The raw body, byte for byte as sent (signatures are over these bytes).
    pub body: Vec<u8>,
    /// The status the endpoint answered with.
    pub answered: u16,
}

/// A merchant's webhook endpoint stand-in, reachable from the platform.
#[async_trait]
pub trait MerchantEndpoint: Send + Sync {
    /// The URL to register with the platform (as the platform must call it).
    fn url(&self) -> String;
    /// Answer the next `times` requests with `status`, then fall back to 200.
    async fn fail_next(&self, times: u64, status: u16);
    /// Answer every request with `status` until told otherwise.
    async fn always_answer(&self, status: u16);
    /// Everything received so far.
    async fn received(&self) -> Vec<ReceivedWebhook>;
}

/// Structured log lines of the platform.
#[async_trait]
pub trait LogReader: Send + Sync {
    /// Every JSON log line mentioning `needle` anywhere (a request id, a trace id).
    async fn lines_mentioning(&self, needle: &str) -> Vec<serde_json::Value>;
}

/// A fault only a driver that gives each service its own process and network endpoint can
/// make (the containers driver). The target is a service name from [`SERVICES`] or
/// [`COLLECTOR`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Stop the target (graceful, then killed); its data is kept.
    Stop(String),
    /// Start a stopped target again and wait until it is ready.
    Start(String),
    /// Freeze the target: connections are accepted but nothing is answered.
    Pause(String),
    /// Unfreeze a paused target.
    Resume(String),
    /// Take the target off the network its peers reach it on.
    Disconnect(String),
    /// Put a disconnected target back on the network and wait until it is ready.
    Reconnect(String),
}

impl Fault {
    /// The service or component the fault is about.
    pub fn target(&self) -> &str {
        match self {
            Fault::Stop(t)
            | Fault::Start(t)
            | Fault::Pause(t)
            | Fault::Resume(t)
            | Fault::Disconnect(t)
            | Fault::Reconnect(t) => t,
        }
    }

    /// The capability a driver needs to make this fault.
    pub fn capability(&self) -> Capability {
        match self {
            Fault::Stop(t) | Fault::Start(t) if t == COLLECTOR => Capability::StopCollector,
            Fault::Stop(_) | Fault::Start(_) => Capability::StopService,
            Fault::Pause(_) | Fault::Resume(_) => Capability::PauseService,
            Fault::Disconnect(_) | Fault::Reconnect(_) => Capability::DisconnectService,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = match self {
            Fault::Stop(_) => "stop",
            Fault::Start(_) => "start",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Disconnect(_) => "disconnect",
            Fault::Reconnect(_) => "reconnect",
        };
        write!(f, "{verb} {}", self.target())
    }
}

/// The OpenTelemetry collector between the services and the trace sink, as a [`Fault`] target.
pub const COLLECTOR: &str = "collector";

/// The services of minibank, as drivers name them (minibank's one list, in start order).
pub const SERVICES: [&str; 5] = minibank::service::ServiceName::NAMES;

/// What an injected fault does to a call between services ([`CallFault`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallFaultKind {
    /// Delay the call by this much, then send it.
    Latency(Duration),
    /// Answer this HTTP status in the target's place, without sending.
    Error(u16),
    /// Fail as a connection lost mid-call, without sending.
    Drop,
    /// Never answer (the caller's timeout ends the call).
    Hang,
}

/// A fault on calls from one service to another, injected in the shared RPC layer
/// ([`Capability::InjectFaults`]). Scope it to a scenario with `path_contains` (an account id)
/// or run the scenario `@serial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallFault {
    /// Only calls made by this service (`edge`, `payments`, ...), or any caller.
    pub caller: Option<String>,
    /// The called service or system: one of [`SERVICES`], `provider` or `merchant`.
    pub target: String,
    /// Only calls with this HTTP method, or any.
    pub method: Option<String>,
    /// Only calls whose path and query contain this text, or any.
    pub path_contains: Option<String>,
    /// Only calls to this replica of the target (1 = the first, 2 = the first added with
    /// [`Driver::add_replica`], ...), or any.
    pub replica: Option<usize>,
    /// Only calls made for this scenario (its namespace, which every request of a scenario
    /// names in its W3C baggage: [`crate::SCENARIO_BAGGAGE_KEY`]), or every scenario's. Scenarios
    /// running beside it never meet a scoped fault.
    pub scenario: Option<String>,
    /// What happens to them.
    pub kind: CallFaultKind,
    /// The next `n` matching calls, or every one until cleared.
    pub times: Option<u32>,
}

/// Identifies an injected [`CallFault`] while the driver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallFaultId(pub u64);

/// The state of a circuit breaker between two services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitView {
    /// Calls flow.
    Closed,
    /// Calls fail fast without being sent.
    Open,
    /// The next call is a probe.
    HalfOpen,
}

/// What one route of one service has served (request rate, errors, duration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMetrics {
    /// HTTP method.
    pub method: String,
    /// Route template, e.g. `/v1/accounts/{account_id}`.
    pub route: String,
    /// Requests answered.
    pub requests: u64,
    /// Of which answered 5xx.
    pub errors: u64,
    /// Time spent answering them, in total.
    pub duration: Duration,
}

/// How the connections between services were used: calls sent, connections opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Calls sent between services (every attempt).
    pub calls: u64,
    /// Connections opened for them.
    pub connections_opened: u64,
}

/// How steps reach the system under test. One per run, shared by all scenarios.
///
/// The core every driver has: the public door, the operator, the traces and how long they
/// take to settle. Everything else is a capability a driver may offer, each its own trait
/// ([`crate::capabilities`]), reached through an accessor that answers `None` when the driver
/// lacks it; [`Driver::capabilities`] is derived from what the accessors answer.
#[async_trait]
pub trait Driver: Send + Sync {
    /// `in-process`, `containers` or `staging`.
    fn name(&self) -> &str;
    /// Base URL of the public door (edge), e.g. `http://127.0.0.1:41234`.
    fn edge_url(&self) -> String;
    /// The operator client used to onboard and fund synthetic parties, when the environment
    /// gives one ([`Capability::OperatorAccess`]).
    fn operator(&self) -> Option<OperatorCredentials>;
    /// Where traces are read from (harness trace store, Jaeger or Tempo).
    fn traces(&self) -> Arc<dyn harness::fetch::TraceFetcher>;
    /// The OTLP/HTTP traces URL the harness exports its own root client spans to.
    fn harness_otlp_traces_url(&self) -> Option<String>;
    /// How long a trace may take to settle, and the quiet period that ends it.
    fn settle_timing(&self) -> (Duration, Duration);
    /// Stop everything this driver started.
    async fn shutdown(&self);

    /// Programming the external bank provider ([`Capability::StubProvider`]).
    fn provider(&self) -> Option<Arc<dyn ProviderControl>> {
        None
    }
    /// Merchant webhook endpoints the platform can reach ([`Capability::MerchantEndpoints`]).
    fn merchant_endpoints(&self) -> Option<&dyn MerchantEndpoints> {
        None
    }
    /// The platform's log lines ([`Capability::ReadLogs`]).
    fn logs(&self) -> Option<Arc<dyn LogReader>> {
        None
    }
    /// Restarting one service ([`Capability::RestartService`]).
    fn restarts(&self) -> Option<&dyn Restarts> {
        None
    }
    /// Faults in calls between services, and circuits ([`Capability::InjectFaults`]).
    fn call_faults(&self) -> Option<&dyn CallFaults> {
        None
    }
    /// Stopping, freezing or cutting off a service or the collector ([`ProcessFaults::offers`]).
    fn process_faults(&self) -> Option<&dyn ProcessFaults> {
        None
    }
    /// Adding and removing replicas ([`Capability::Replicas`]).
    fn replicas(&self) -> Option<&dyn ReplicaControl> {
        None
    }
    /// Request figures and pool counters ([`Capability::Metrics`]).
    fn metrics(&self) -> Option<&dyn MetricsReader> {
        None
    }

    /// What this driver can do: derived from the capabilities it offers (not to be overridden).
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut offer = |has: bool, capability| {
            if has {
                caps.0.insert(capability);
            }
        };
        offer(self.operator().is_some(), Capability::OperatorAccess);
        offer(self.provider().is_some(), Capability::StubProvider);
        offer(
            self.merchant_endpoints().is_some(),
            Capability::MerchantEndpoints,
        );
        offer(self.logs().is_some(), Capability::ReadLogs);
        offer(self.restarts().is_some(), Capability::RestartService);
        offer(self.call_faults().is_some(), Capability::InjectFaults);
        offer(self.replicas().is_some(), Capability::Replicas);
        offer(self.metrics().is_some(), Capability::Metrics);
        if let Some(faults) = self.process_faults() {
            caps.0.extend(faults.offers());
        }
        caps
    }
}

/// The one way to say a driver lacks a capability: which driver, what it cannot do, and the
/// tag that makes other drivers skip the scenario.
pub fn lacks(driver: &dyn Driver, capability: Capability) -> anyhow::Error {
    anyhow::anyhow!(
        "capability missing: the {} driver cannot {capability} (tag the scenario @{})",
        driver.name(),
        capability.tag()
    )
}
