//! [`WriteGate`]: one writer at a time per SQLite database, queued in-process, writing through
//! one connection kept for it.
//!
//! SQLite allows one writer; a second connection that tries to write waits in SQLite's busy
//! handler, which *sleeps* (1, 2, 5, 10, … up to 100 ms) between retries. Under load those
//! sleeps, not the work, make the tail latency. Taking this async mutex before a write
//! transaction queues writers in tokio instead, where the next one starts the moment the
//! previous one commits. Reads do not take it (WAL readers never block). On PostgreSQL the gate
//! is open: the database handles concurrent writers itself.
//!
//! [`WriteGate::writer`] also hands out the connection to write with. On SQLite that is one
//! connection the gate keeps (taken from the pool on first use and detached from it): sqlx runs
//! every SQLite connection on its own thread and the pool pings that thread when a connection is
//! checked out and again when it is returned, so a write through the pool costs two extra
//! thread round trips; through the kept connection it costs none. On PostgreSQL it is a pooled
//! connection, as before.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Serialises write transactions on a SQLite database; a no-op for other databases.
#[derive(Clone, Debug, Default)]
pub struct WriteGate(Option<Arc<Mutex<Option<AnyConnection>>>>);

/// Held while writing; the next writer enters when it is dropped.
#[derive(Debug)]
pub struct WritePermit(#[allow(dead_code)] Option<OwnedMutexGuard<Option<AnyConnection>>>);

/// A turn to write and the connection to write with (see [`WriteGate::writer`]).
#[derive(Debug)]
pub struct Writer(WriterConnection);

#[derive(Debug)]
enum WriterConnection {
    /// SQLite: the gate's own connection, lent for this turn (always `Some`).
    Kept(OwnedMutexGuard<Option<AnyConnection>>),
    /// PostgreSQL: a connection from the pool.
    Pooled(PoolConnection<Any>),
}

impl WriteGate {
    /// A gate for the database at `database_url`: closed-one-at-a-time for SQLite, open otherwise.
    pub fn for_url(database_url: &str) -> Self {
        if database_url.starts_with("sqlite:") {
            WriteGate(Some(Arc::new(Mutex::new(None))))
        } else {
            WriteGate(None)
        }
    }

    /// Waits for this task's turn to write (through `pool`; prefer [`WriteGate::writer`]).
    pub async fn enter(&self) -> WritePermit {
        match &self.0 {
            Some(mutex) => WritePermit(Some(mutex.clone().lock_owned().await)),
            None => WritePermit(None),
        }
    }

    /// Waits for this task's turn to write and lends the connection to write with: on SQLite
    /// the gate's own (taken from `pool` the first time), otherwise one from `pool`.
    pub async fn writer(&self, pool: &AnyPool) -> Result<Writer, sqlx::Error> {
        let Some(mutex) = &self.0 else {
            return Ok(Writer(WriterConnection::Pooled(pool.acquire().await?)));
        };
        let mut kept = mutex.clone().lock_owned().await;
        if kept.is_none() {
            *kept = Some(pool.acquire().await?.detach());
        }
        Ok(Writer(WriterConnection::Kept(kept)))
    }
}

impl Deref for Writer {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            WriterConnection::Kept(kept) => kept.as_ref().expect("a kept writer is always set"),
            WriterConnection::Pooled(pooled) => pooled,
        }
    }
}

impl DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            WriterConnection::Kept(kept) => kept.as_mut().expect("a kept writer is always set"),
            WriterConnection::Pooled(pooled) => pooled,
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

    #[tokio::test]
    async fn a_sqlite_writer_is_one_kept_connection_lent_in_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = super::super::sqlite_url(&dir.path().join("gate.db"));
        let pool = super::super::connect(&url).await.unwrap();
        let gate = WriteGate::for_url(&url);
        let mut first = gate.writer(&pool).await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (n BIGINT)")
            .execute(&mut *first)
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(20), gate.writer(&pool))
                .await
                .is_err(),
            "a second writer waits for the first"
        );
        drop(first);
        let mut second = gate.writer(&pool).await.unwrap();
        sqlx::query("INSERT INTO t (n) VALUES ($1)")
            .bind(1_i64)
            .execute(&mut *second)
            .await
            .unwrap();
        drop(second);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(
            count, 1,
            "the kept connection's write is visible to the pool"
        );
    }
}
