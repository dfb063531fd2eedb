//! What the balancer balances over: the discovery source ([`Replicas`]) and, for each replica,
//! what it is called through ([`ReplicaParts`], made by the stack builder).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::watch;
use tower::util::BoxCloneSyncService;

use crate::rpc::call::RpcCall;
use crate::rpc::error::RpcError;
use crate::rpc::response::RpcResponse;

/// The live replica base URLs of one target (`http://host:port`), as a discovery source.
pub type Replicas = watch::Receiver<Vec<String>>;

/// The stack below the balancer for one replica.
pub type ReplicaStack = BoxCloneSyncService<RpcCall, RpcResponse, RpcError>;

/// Whether a replica is ejected right now (passive failure detection). The stack builder
/// decides what that means (its circuit is open), so the balancer knows no breaker.
pub type Ejected = Arc<dyn Fn() -> bool + Send + Sync>;

/// What a replica is called through.
#[derive(Clone)]
pub struct ReplicaParts {
    /// The calls' stack (breaker, deadline, faults, transport).
    pub stack: ReplicaStack,
    /// The health checks' stack (deadline, faults, transport: a failed check is not a failed
    /// call).
    pub probe: ReplicaStack,
    /// Whether the replica is ejected.
    pub ejected: Ejected,
    /// Whether its last health check passed (true until one fails); the balancer's own state.
    pub healthy: Arc<AtomicBool>,
}

/// Builds a replica's parts for its base URL.
pub type MakeReplica = Arc<dyn Fn(&str) -> ReplicaParts + Send + Sync>;
