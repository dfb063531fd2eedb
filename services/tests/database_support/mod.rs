//! The same tests on both databases: SQLite files in a temp dir always, and PostgreSQL when
//! `MINIBANK_TEST_POSTGRES_URL` names a server (a superuser URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`; `deploy/local/postgres.sh start DIR` makes a
//! throwaway one). Every test gets fresh databases, created for it and dropped after it.
//!
//! ```ignore
//! on_every_database! {
//!     #[tokio::test]
//!     async fn something_holds(db) {
//!         let url = db.url("ledger").await;
//!         ...
//!     }
//! }
//! ```
//! makes `something_holds::sqlite` and `something_holds::postgres`; the latter returns at once,
//! saying why on stderr, when the variable is not set.

#![allow(dead_code)]

use std::sync::{Mutex, Once};

/// The variable naming the PostgreSQL server the tests may create databases in.
pub const POSTGRES_URL_VAR: &str = "MINIBANK_TEST_POSTGRES_URL";

/// Where a test's services keep their data.
pub struct Databases {
    dir: tempfile::TempDir,
    postgres: Option<Postgres>,
}

struct Postgres {
    admin_url: String,
    created: Mutex<Vec<String>>,
}

impl Databases {
    /// SQLite: one file per service in a fresh temp dir.
    pub fn sqlite() -> Databases {
        Databases {
            dir: tempfile::tempdir().unwrap(),
            postgres: None,
        }
    }

    /// PostgreSQL at `$MINIBANK_TEST_POSTGRES_URL`, or `None` (reason printed once) when unset.
    pub fn postgres() -> Option<Databases> {
        let Some(admin_url) = std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|url| !url.trim().is_empty())
        else {
            static SAID: Once = Once::new();
            SAID.call_once(|| {
                // Straight to stderr: the test harness would swallow eprintln! of a passing test.
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED the PostgreSQL variants of these tests: {POSTGRES_URL_VAR} is not set \
                     (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
                );
            });
            return None;
        };
        Some(Databases {
            dir: tempfile::tempdir().unwrap(),
            postgres: Some(Postgres {
                admin_url,
                created: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Which database this is, for messages.
    pub fn kind(&self) -> &'static str {
        if self.postgres.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// A fresh, empty database for `service` (each call a new one) and its URL.
    pub async fn url(&self, service: &str) -> String {
        let Some(postgres) = &self.postgres else {
            let unique = uuid::Uuid::now_v7().simple().to_string();
            return minibank::db::sqlite_url(
                &self.dir.path().join(format!("{service}-{unique}.db")),
            );
        };
        let name = format!("t_{}_{service}", uuid::Uuid::now_v7().simple());
        let admin = minibank::db::connect(&postgres.admin_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} does not answer: {e:#}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        admin.close().await;
        postgres.created.lock().unwrap().push(name.clone());
        let mut url = reqwest::Url::parse(&postgres.admin_url).expect("a postgres:// URL");
        url.set_path(&name);
        url.to_string()
    }
}

impl Drop for Databases {
    /// Drops the test's PostgreSQL databases (their services' connections are closed by force).
    fn drop(&mut self) {
        let Some(postgres) = &self.postgres else {
            return;
        };
        let names = std::mem::take(&mut *postgres.created.lock().unwrap());
        if names.is_empty() {
            return;
        }
        let admin_url = postgres.admin_url.clone();
        // Drop runs inside the test's runtime, which cannot block on itself: use a thread.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let admin = minibank::db::connect(&admin_url).await?;
                for name in names {
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&admin)
                    .await?;
                }
                anyhow::Ok(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop a test database: {error:#}");
        }
    }
}

/// Defines each test once per database, as a module with tests `sqlite` and `postgres`; the
/// body gets `db: Databases`. Attributes (e.g. `#[tokio::test(flavor = …)]`) apply to both.
#[macro_export]
macro_rules! on_every_database {
    ($($(#[$attr:meta])* async fn $name:ident($db:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: $crate::database_support::Databases) $body

            $(#[$attr])*
            async fn sqlite() {
                run($crate::database_support::Databases::sqlite()).await
            }

            $(#[$attr])*
            async fn postgres() {
                if let Some(databases) = $crate::database_support::Databases::postgres() {
                    run(databases).await
                }
            }
        }
    )*};
}
