// Migration 3: the delivery engine's dead letters. A job that failed its last
// attempt (or failed for good) is moved here with its last error, so it stops
// being retried, stays visible (GET /admin/outbox/dead) and can be put back
// (POST /admin/outbox/dead/{id}/retry). The payload is kept for that retry;
// the admin listing never shows it (it may hold a user's text).
//
// A message to the user is stored once, as the stanza that is sent
// (messages.stanza); its outbox job points at it (outbox.message_id) instead
// of carrying a copy, and a client that sends a stored message again gets
// these stanzas again, with their ids.
import type { Migration } from "./migration.js";

export const migration003: Migration = {
  version: 3,
  name: "delivery",
  sql: /* sql */ `
ALTER TABLE messages ADD COLUMN stanza text;
ALTER TABLE outbox ADD COLUMN message_id bigint;

CREATE TABLE outbox_dead (
  id              bigint PRIMARY KEY,
  target          text NOT NULL,
  conversation_id text,
  payload         jsonb NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  attempts        integer NOT NULL,
  message_id      bigint,
  last_error      text,
  created_at      timestamptz NOT NULL,
  dead_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_dead_at_idx ON outbox_dead (dead_at DESC, id DESC);
`,
};
