//! [`WriteGate`]: one writer at a time per SQLite database, queued in-process.
//!
//! SQLite allows one writer; a second connection that tries to write waits in SQLite's busy
//! handler, which *sleeps* (1, 2, 5, 10, … up to 100 ms) between retries. Under load those
//! sleeps, not the work, make the tail latency. Taking this async mutex before a write
//! transaction queues writers in tokio instead, where the next one starts the moment the
//! previous one commits. Reads do not take it (WAL readers never block). On PostgreSQL the gate
//! is open: the database handles concurrent writers itself.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};

/// Serialises write transactions on a SQLite database; a no-op for other databases.
#[derive(Clone, Debug, Default)]
pub struct WriteGate(Option<Arc<Mutex<()>>>);

/// Held while writing; the next writer enters when it is dropped.
#[derive(Debug)]
pub struct WritePermit(#[allow(dead_code)] Option<OwnedMutexGuard<()>>);

impl WriteGate {
    /// A gate for the database at `database_url`: closed-one-at-a-time for SQLite, open otherwise.
    pub fn for_url(database_url: &str) -> Self {
        if database_url.starts_with("sqlite:") {
            WriteGate(Some(Arc::new(Mutex::new(()))))
        } else {
            WriteGate(None)
        }
    }

    /// Waits for this task's turn to write.
    pub async fn enter(&self) -> WritePermit {
        match &self.0 {
            Some(mutex) => WritePermit(Some(mutex.clone().lock_owned().await)),
            None => WritePermit(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_writers_take_turns_and_other_databases_do_not_wait() {
        let gate = WriteGate::for_url("sqlite://x.db");
        let first = gate.enter().await;
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), gate.enter())
                .await
                .is_err(),
            "a second writer waits"
        );
        drop(first);
        let _second = gate.enter().await;

        let open = WriteGate::for_url("postgres://db/ledger");
        let _a = open.enter().await;
        let _b = open.enter().await;
    }
}
