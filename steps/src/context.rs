//! Run-wide state the entry point sets up once: the driver, the seed and the counters.
//!
//! Scenarios run concurrently against one platform, so this is the only global state in the
//! crate, and it is set before the first scenario starts: [`install_driver`] and [`set_seed`]
//! are called by `tests/acceptance.rs`; [`stats`] is read by it for the summary.

use std::sync::{
    Arc, OnceLock,
    atomic::{AtomicU64, Ordering},
};

use drivers::Driver;

static DRIVER: OnceLock<Arc<dyn Driver>> = OnceLock::new();
static SEED: OnceLock<u64> = OnceLock::new();
static RUN_ID: OnceLock<String> = OnceLock::new();
static HTTP_CALLS: AtomicU64 = AtomicU64::new(0);
static TRACES_CHECKED: AtomicU64 = AtomicU64::new(0);
static TRACES_COMPLETE_BY_STRUCTURE: AtomicU64 = AtomicU64::new(0);

/// Installs the driver every scenario of this run talks to. Call once, before running.
///
/// # Errors
/// When a driver was already installed (the run would otherwise mix two platforms).
pub fn install_driver(driver: Arc<dyn Driver>) -> anyhow::Result<()> {
    DRIVER
        .set(driver)
        .map_err(|_| anyhow::anyhow!("a driver is already installed for this run"))
}

/// The installed driver.
///
/// # Errors
/// When the entry point did not call [`install_driver`].
pub fn driver() -> anyhow::Result<Arc<dyn Driver>> {
    DRIVER
        .get()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no driver installed: call steps::install_driver first"))
}

/// Fixes the run's seed, from which every scenario's fake data derives (`--seed N` replays a run).
/// Returns the seed in force: the first one set wins.
pub fn set_seed(seed: u64) -> u64 {
    *SEED.get_or_init(|| seed)
}

/// The run's seed; a random one is chosen (and kept) if none was set.
pub fn seed() -> u64 {
    *SEED.get_or_init(|| {
        u64::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..8]
                .try_into()
                .unwrap_or_default(),
        )
    })
}

/// This run's own short id, random: the part of platform-unique ids (top-up operation ids,
/// idempotency keys) that a replay of the same seed must not reuse.
pub fn run_id() -> &'static str {
    RUN_ID.get_or_init(|| format!("{:06x}", rand::random::<u32>() & 0x00ff_ffff))
}

/// Counters for the run summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests the steps sent to the platform.
    pub http_calls: u64,
    /// Traces the steps waited for and checked.
    pub traces_checked: u64,
    /// Of those, the waits a check's structure ended, without a quiet period.
    pub traces_complete_by_structure: u64,
}

/// The counters so far.
pub fn stats() -> Stats {
    Stats {
        http_calls: HTTP_CALLS.load(Ordering::Relaxed),
        traces_checked: TRACES_CHECKED.load(Ordering::Relaxed),
        traces_complete_by_structure: TRACES_COMPLETE_BY_STRUCTURE.load(Ordering::Relaxed),
    }
}

pub(crate) fn count_http_call() {
    HTTP_CALLS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn count_trace_checked(by_structure: bool) {
    TRACES_CHECKED.fetch_add(1, Ordering::Relaxed);
    if by_structure {
        TRACES_COMPLETE_BY_STRUCTURE.fetch_add(1, Ordering::Relaxed);
    }
}
