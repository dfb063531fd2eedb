-- ledger: accounts, holds, postings and the idempotency record of every mutation.
-- Portable SQL (SQLite and PostgreSQL): TEXT ids, BIGINT minor units, RFC 3339 TEXT timestamps.

-- One row per account. `balance` and `held` are the running totals of the account's postings
-- and open holds, kept in the same transaction as the rows they summarise, so the
-- "never below zero" rule is one conditional UPDATE (atomic on both databases).
-- kind: customer | merchant | funding (the external counterpart of top-ups, one per currency,
-- the only kind allowed to go negative).
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL,
    currency   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    balance    BIGINT NOT NULL,
    held       BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (kind = 'funding' OR (held >= 0 AND balance - held >= 0))
);
CREATE INDEX accounts_by_owner ON accounts (owner_id, currency);

-- status: held | captured | released
CREATE TABLE holds (
    hold_id       TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL REFERENCES accounts (account_id),
    amount        BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    status        TEXT NOT NULL,
    to_account_id TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX holds_by_status ON holds (status);

-- Double entry: every operation writes postings that sum to zero per currency.
CREATE TABLE postings (
    posting_id   TEXT PRIMARY KEY,
    operation_id TEXT NOT NULL,
    account_id   TEXT NOT NULL REFERENCES accounts (account_id),
    amount       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX postings_by_account ON postings (account_id);

-- The first result of every mutation, replayed for later requests with the same operation id.
-- `request` is a canonical description of the request so a reused id with other parameters is
-- detected instead of silently replayed.
CREATE TABLE operations (
    operation_id TEXT PRIMARY KEY,
    request      TEXT NOT NULL,
    status       INTEGER NOT NULL,
    response     TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
