// Versioned schema for PostgresWebhookStore. The table agno_events_schema
// records the version; a new version is a new entry at the end, never an edit
// of an old one. Times are milliseconds since the epoch (BIGINT), as in the
// other stores.

export const PG_MIGRATIONS: readonly string[] = [
  // 1: webhooks, deliveries, attempts.
  `
  CREATE TABLE webhooks (
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    url             TEXT    NOT NULL,
    events          JSONB   NOT NULL,
    secret          TEXT    NOT NULL,
    headers         JSONB   NOT NULL,
    enabled         BOOLEAN NOT NULL,
    owner_id        TEXT,
    description     TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    disabled_reason TEXT
  );
  CREATE INDEX webhooks_by_owner ON webhooks (owner_id, seq);

  CREATE TABLE deliveries (
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    webhook_id      TEXT    NOT NULL,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    -- When the next attempt is due; for a claimed delivery, when its lease
    -- ends. NULL when nothing is due (finished, cancelled, or parked).
    next_attempt_at BIGINT,
    created_at      BIGINT  NOT NULL,
    test            BOOLEAN NOT NULL,
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    cycle_attempts  INTEGER NOT NULL DEFAULT 0,
    lease_token     TEXT
  );
  -- "Earliest due of a webhook": only live work is in this index.
  CREATE INDEX deliveries_due ON deliveries (webhook_id, next_attempt_at, seq) WHERE next_attempt_at IS NOT NULL;
  -- "Deliveries of a webhook, newest first".
  CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, seq);

  CREATE TABLE attempts (
    id            BIGSERIAL PRIMARY KEY,
    delivery_id   TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,
    started_at    BIGINT  NOT NULL,
    duration_ms   INTEGER NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    response_body TEXT
  );
  CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);
  `,
]
