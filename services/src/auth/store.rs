//! auth's database: clients (hashed credentials, role, scopes) and onboarded parties. All of
//! auth's SQL is here; a failure is an [`Internal`] error saying what was being done.

use anyhow::Context as _;
use sqlx::AnyPool;
use sqlx::Row as _;

use super::credentials::HashedSecret;
use crate::db::{self, Migration};
use crate::http_error::Internal;
use crate::rpc::Role;

/// auth's migrations, in order.
pub const MIGRATIONS: &[Migration] = &[Migration::new(
    1,
    "clients",
    include_str!("../../migrations/auth/0001_clients.sql"),
)];

/// A client as stored.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    /// The client id.
    pub client_id: String,
    /// Its hashed secret.
    pub secret: HashedSecret,
    /// Its role.
    pub role: Role,
    /// The subject its tokens carry.
    pub subject: String,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// A party to store with its client, in one transaction.
#[derive(Debug, Clone)]
pub struct NewParty<'a> {
    /// `cus_…` or `mer_…`.
    pub party_id: &'a str,
    /// Customer or merchant.
    pub role: Role,
    /// Display name.
    pub name: &'a str,
    /// Account currency.
    pub currency: &'a str,
    /// The ledger account opened for it.
    pub account_id: &'a str,
    /// Its client.
    pub client: &'a ClientRecord,
}

/// Access to auth's tables.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
}

impl Store {
    /// Opens the database and applies migrations.
    pub async fn open(database_url: &str) -> anyhow::Result<Self> {
        let pool = db::connect(database_url).await?;
        db::migrate(&pool, MIGRATIONS).await?;
        Ok(Self { pool })
    }

    /// The pool (for the readiness check).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Creates or replaces a client (operator bootstrap: the configured secret always wins).
    pub async fn upsert_client(&self, client: &ClientRecord) -> Result<(), Internal> {
        sqlx::query(
            "INSERT INTO clients (client_id, secret_salt, secret_hash, role, subject, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (client_id) DO UPDATE SET secret_salt = excluded.secret_salt, \
             secret_hash = excluded.secret_hash, role = excluded.role, subject = excluded.subject, \
             scopes = excluded.scopes",
        )
        .bind(&client.client_id)
        .bind(&client.secret.salt)
        .bind(&client.secret.hash)
        .bind(client.role.as_str())
        .bind(&client.subject)
        .bind(client.scopes.join(" "))
        .bind(db::now_rfc3339())
        .execute(&self.pool)
        .await
        .context("storing a client")?;
        Ok(())
    }

    /// The client with this id, if any.
    pub async fn find_client(&self, client_id: &str) -> Result<Option<ClientRecord>, Internal> {
        let row = sqlx::query(
            "SELECT client_id, secret_salt, secret_hash, role, subject, scopes FROM clients WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .context("reading a client")?;
        let Some(row) = row else { return Ok(None) };
        let read = || -> anyhow::Result<ClientRecord> {
            let role: String = row.try_get("role")?;
            let scopes: String = row.try_get("scopes")?;
            Ok(ClientRecord {
                client_id: row.try_get("client_id")?,
                secret: HashedSecret {
                    salt: row.try_get("secret_salt")?,
                    hash: row.try_get("secret_hash")?,
                },
                role: role.parse()?,
                subject: row.try_get("subject")?,
                scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            })
        };
        Ok(Some(read().context("reading a client row")?))
    }

    /// Stores a party and its client atomically.
    pub async fn insert_party(&self, party: &NewParty<'_>) -> Result<(), Internal> {
        let client = party.client;
        let now = db::now_rfc3339();
        let mut tx = self.pool.begin().await.context("starting a transaction")?;
        sqlx::query(
            "INSERT INTO clients (client_id, secret_salt, secret_hash, role, subject, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&client.client_id)
        .bind(&client.secret.salt)
        .bind(&client.secret.hash)
        .bind(client.role.as_str())
        .bind(&client.subject)
        .bind(client.scopes.join(" "))
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("storing the party's client")?;
        sqlx::query(
            "INSERT INTO parties (party_id, kind, name, currency, account_id, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(party.party_id)
        .bind(party.role.as_str())
        .bind(party.name)
        .bind(party.currency)
        .bind(party.account_id)
        .bind(&client.client_id)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .context("storing the party")?;
        tx.commit().await.context("committing the party")?;
        Ok(())
    }
}
