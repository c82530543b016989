// Migration 5: attachments (protocol.md section 10, docs/attachments.md). One
// row per file with its conversation (deleted with it, and by the retention
// job), its size, type and sha256; the bytes in `content` (database storage)
// or in a file under attachments.directory (`path`). A conversation counts
// the attachments its user sent in the current episode (attachments.maxPerEpisode).
import type { Migration } from "./migration.js";

export const migration005: Migration = {
  version: 5,
  name: "attachments",
  sql: /* sql */ `
CREATE TABLE attachments (
  id              text PRIMARY KEY,
  conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  -- Who sent it: the user (in), an operator or a bot (out).
  origin          text NOT NULL CHECK (origin IN ('user', 'operator', 'bot')),
  -- The event that brought it (a GMS fileId, a bot message): stored once however often it is handled.
  idempotency_key text NOT NULL UNIQUE,
  name            text,
  media_type      text NOT NULL,
  size            bigint NOT NULL CHECK (size >= 0),
  sha256          text NOT NULL,
  storage         text NOT NULL CHECK (storage IN ('database', 'directory')),
  content         bytea,
  path            text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((storage = 'database') = (content IS NOT NULL))
);
CREATE INDEX attachments_conversation_idx ON attachments (conversation_id);
CREATE INDEX attachments_created_idx ON attachments (created_at);

ALTER TABLE conversations ADD COLUMN attachments_sent integer NOT NULL DEFAULT 0;
`,
};
