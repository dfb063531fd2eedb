//! Databases: every service owns one, opened from a URL as a `sqlx::AnyPool` (SQLite by default,
//! Postgres later) and brought up to date by its own migrations.
//!
//! Migrations are SQL files compiled into the binary (`include_str!`), so a `FROM scratch` image
//! needs no files beside the binary. Put them in `services/migrations/<service>/NNNN_name.sql`
//! and list them in order:
//!
//! ```ignore
//! const MIGRATIONS: &[Migration] = &[
//!     Migration::new(1, "accounts", include_str!("../../migrations/ledger/0001_accounts.sql")),
//! ];
//! let pool = db::connect(&settings.database_url).await?;
//! db::migrate(&pool, MIGRATIONS).await?;
//! ```
//!
//! Query placeholders are `$1, $2, …` (both SQLite and Postgres understand them through `Any`).
//! Column types that work through `Any`: INTEGER (i64), TEXT (String), REAL (f64), BLOB, BOOLEAN.

mod write_gate;

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{AssertSqlSafe, Executor as _};

pub use write_gate::{WriteGate, WritePermit, Writer};

/// One migration step: applied once, in `version` order, inside a transaction.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Strictly increasing version number (the `NNNN` of the file name).
    pub version: i64,
    /// Short description (the `name` of the file name).
    pub name: &'static str,
    /// The SQL; may hold several statements separated by `;`.
    pub sql: &'static str,
}

impl Migration {
    /// Declares a migration (usable in a `const` list).
    pub const fn new(version: i64, name: &'static str, sql: &'static str) -> Self {
        Self { version, name, sql }
    }
}

/// The URL of a SQLite file at `path`, created when missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Opens a pool on `database_url`. For SQLite the file is created when missing (`mode=rwc` is
/// added if the URL has no mode), and every connection uses WAL, a 5 s busy timeout and
/// foreign keys, so concurrent requests wait for the write lock instead of failing.
///
/// SQLite connections are not pinged when taken from the pool (`test_before_acquire`): a file
/// does not hang up like a server, and the ping is a round trip to the connection's thread
/// (sqlx runs each SQLite connection on its own) for every query made through the pool.
pub async fn connect(database_url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let is_sqlite = database_url.starts_with("sqlite:");
    let url = if is_sqlite && !database_url.contains("mode=") {
        let separator = if database_url.contains('?') { '&' } else { '?' };
        format!("{database_url}{separator}mode=rwc")
    } else {
        database_url.to_owned()
    };
    let mut options = AnyPoolOptions::new()
        .max_connections(if is_sqlite { 4 } else { 10 })
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(!is_sqlite);
    if is_sqlite {
        options = options.after_connect(|connection, _meta| {
            Box::pin(async move {
                connection
                    .execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                Ok(())
            })
        });
    }
    options
        .connect(&url)
        .await
        .with_context(|| format!("opening database {}", redact_url(database_url)))
}

/// Applies the migrations not applied yet, in order, each in its own transaction, recording them
/// in `_migrations`. Fails if the list is not strictly increasing.
pub async fn migrate(pool: &AnyPool, migrations: &[Migration]) -> anyhow::Result<()> {
    anyhow::ensure!(
        migrations.windows(2).all(|w| w[0].version < w[1].version),
        "migration versions must be strictly increasing"
    );
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS _migrations (\
           version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .execute(pool)
    .await
    .context("creating the _migrations table")?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _migrations")
        .fetch_all(pool)
        .await
        .context("reading applied migrations")?;
    for migration in migrations {
        if applied.contains(&migration.version) {
            continue;
        }
        let mut tx = pool.begin().await.context("starting a migration")?;
        sqlx::raw_sql(AssertSqlSafe(migration.sql))
            .execute(&mut *tx)
            .await
            .with_context(|| {
                format!(
                    "applying migration {} {}",
                    migration.version, migration.name
                )
            })?;
        sqlx::query("INSERT INTO _migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(now_rfc3339())
            .execute(&mut *tx)
            .await
            .context("recording a migration")?;
        tx.commit().await.context("committing a migration")?;
    }
    Ok(())
}

/// Starts a read-only transaction that sees one consistent snapshot for all its queries.
/// SQLite (WAL) gives every transaction a snapshot already; PostgreSQL's default READ COMMITTED
/// takes a new snapshot per statement, so there the transaction is REPEATABLE READ.
pub async fn begin_snapshot(
    pool: &AnyPool,
) -> anyhow::Result<sqlx::Transaction<'static, sqlx::Any>> {
    let mut tx = pool.begin().await.context("starting a read transaction")?;
    if tx.backend_name() == "PostgreSQL" {
        sqlx::raw_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .context("asking PostgreSQL for a snapshot")?;
    }
    Ok(tx)
}

/// True when the database answers a trivial query within a second (for `/health/ready`).
pub async fn ping(pool: &AnyPool) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(1),
            sqlx::query("SELECT 1").execute(pool)
        )
        .await,
        Ok(Ok(_))
    )
}

/// The current time in unix milliseconds (how due times such as `next_attempt_at` are stored).
pub fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default(),
    )
    .unwrap_or(i64::MAX)
}

/// The current UTC time as RFC 3339 text (how timestamps are stored).
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

/// Hides a password in a URL like `postgres://user:pass@host/db` for error messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: &[Migration] = &[
        Migration::new(1, "things", "CREATE TABLE things (id TEXT PRIMARY KEY);"),
        Migration::new(
            2,
            "more",
            "ALTER TABLE things ADD COLUMN n BIGINT; CREATE TABLE others (id TEXT);",
        ),
    ];

    #[tokio::test]
    async fn migrations_create_the_file_and_apply_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = sqlite_url(&dir.path().join("svc.db"));
        let pool = connect(&url).await.unwrap();
        migrate(&pool, MIGRATIONS).await.unwrap();
        migrate(&pool, MIGRATIONS).await.unwrap();
        sqlx::query("INSERT INTO things (id, n) VALUES ($1, $2)")
            .bind("a")
            .bind(1_i64)
            .execute(&pool)
            .await
            .unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _migrations")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(count, 2);
        assert!(ping(&pool).await);
    }

    #[test]
    fn database_passwords_are_not_shown() {
        assert_eq!(
            redact_url("postgres://bank:secret@db:5432/ledger"),
            "postgres://bank:***@db:5432/ledger"
        );
    }
}
