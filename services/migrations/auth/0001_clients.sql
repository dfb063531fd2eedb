-- auth owns clients (credentials that can obtain tokens) and the parties it onboarded.
CREATE TABLE clients (
    client_id   TEXT PRIMARY KEY,
    secret_salt TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE parties (
    party_id   TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    currency   TEXT NOT NULL,
    account_id TEXT NOT NULL UNIQUE,
    client_id  TEXT NOT NULL REFERENCES clients (client_id),
    created_at TEXT NOT NULL
);
