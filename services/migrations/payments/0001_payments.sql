-- payments: the saga's persisted state and the transactional outbox.

-- One row per payment; `step` is the saga's state machine position (see src/payments/saga),
-- the operation ids are chosen up front so every ledger call replays the same operation after
-- a restart. `next_attempt_at` (unix ms) is when the background worker may drive it next.
CREATE TABLE payments (
    payment_id           TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL,
    merchant_id          TEXT NOT NULL,
    payer_account_id     TEXT NOT NULL,
    payee_account_id     TEXT NOT NULL,
    amount               BIGINT NOT NULL,
    currency             TEXT NOT NULL,
    reference            TEXT NOT NULL,
    step                 TEXT NOT NULL,
    failure_reason       TEXT,
    hold_id              TEXT,
    hold_operation_id    TEXT NOT NULL,
    capture_operation_id TEXT NOT NULL,
    release_operation_id TEXT NOT NULL,
    idempotency_key      TEXT NOT NULL,
    request_fingerprint  TEXT NOT NULL,
    status_attempts      INTEGER NOT NULL,
    next_attempt_at      BIGINT NOT NULL,
    traceparent          TEXT,
    tracestate           TEXT,
    baggage              TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (customer_id, idempotency_key)
);
-- Partial: only unfinished payments are indexed, so the worker's scan stays small however many
-- payments have finished.
CREATE INDEX payments_unfinished ON payments (next_attempt_at) WHERE step NOT IN ('settled', 'failed');

-- Events written in the same transaction as the state change they announce.
CREATE TABLE outbox (
    event_id    TEXT PRIMARY KEY,
    payment_id  TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    traceparent TEXT,
    tracestate  TEXT,
    baggage     TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT
);
CREATE INDEX outbox_unsent ON outbox (event_id) WHERE sent_at IS NULL;
