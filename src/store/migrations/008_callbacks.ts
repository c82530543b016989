// Migration 8: callbacks at a full operator queue (backends.md section 2c).
// A conversation keeps the offer and its request (`callback`, JSON: state,
// serviceName, since, at). Each booking attempt is a row written before the
// GMS call (design.md: a step is durable before its effects), so a job run
// again after a crash knows an attempt may have reached GMS and looks for it
// there instead of booking twice. No MSISDN is kept here: the job reads it
// from the conversation when it runs.
import type { Migration } from "./migration.js";

export const migration008: Migration = {
  version: 8,
  name: "callbacks",
  sql: /* sql */ `
ALTER TABLE conversations ADD COLUMN callback jsonb;

CREATE TABLE callback_bookings (
  -- The book_callback job's idempotency key: one booking per request.
  idempotency_key text PRIMARY KEY,
  conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  service_name    text NOT NULL,
  -- The marker sent to GMS with the booking (a hash of the key), to find it again.
  request_id      text NOT NULL,
  attempts        integer NOT NULL DEFAULT 1,
  -- GMS _id once booked; null while an attempt's outcome is unknown.
  genesys_id      text,
  booked_for      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  booked_at       timestamptz
);
CREATE INDEX callback_bookings_conversation_idx ON callback_bookings (conversation_id);
`,
};
