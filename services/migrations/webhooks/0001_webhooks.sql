-- webhooks: merchants' endpoints, received events and one delivery per (event, endpoint).

-- `events` is a comma-separated list of subscribed event types; `secret` signs deliveries.
CREATE TABLE endpoints (
    endpoint_id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX endpoints_by_merchant ON endpoints (merchant_id);

-- `body` is the exact JSON sent to merchants, fixed at receipt so every retry signs the same bytes.
CREATE TABLE events (
    event_id    TEXT PRIMARY KEY,
    event_type  TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    payment_id  TEXT NOT NULL,
    body        TEXT NOT NULL,
    traceparent TEXT,
    tracestate  TEXT,
    baggage     TEXT,
    created_at  TEXT NOT NULL
);

-- status: pending | delivered | dead_lettered; `next_attempt_at` in unix ms.
CREATE TABLE deliveries (
    delivery_id          TEXT PRIMARY KEY,
    event_id             TEXT NOT NULL REFERENCES events (event_id),
    endpoint_id          TEXT NOT NULL REFERENCES endpoints (endpoint_id),
    merchant_id          TEXT NOT NULL,
    payment_id           TEXT NOT NULL,
    event_type           TEXT NOT NULL,
    status               TEXT NOT NULL,
    attempts             INTEGER NOT NULL,
    next_attempt_at      BIGINT NOT NULL,
    last_response_status INTEGER,
    last_error           TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_merchant ON deliveries (merchant_id, delivery_id);
