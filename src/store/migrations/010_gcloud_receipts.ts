// Migration 10: Genesys Cloud receipts for agent messages (backends.md 2b):
// which stanza of ours carries which agent message, so the client's XEP-0184
// receipt (or its absence, or a failed delivery) becomes one receipt to
// Genesys (src/adapters/genesys-cloud/receipt-store.ts). `status` is set once,
// when it is decided; rows are kept a day.
import type { Migration } from "./migration.js";

export const migration010: Migration = {
  version: 10,
  name: "gcloud_receipts",
  sql: /* sql */ `
CREATE TABLE gcloud_receipts (
  user_jid        text NOT NULL,
  stanza_id       text NOT NULL,
  conversation_id text NOT NULL,
  integration_id  text NOT NULL,
  message_id      text NOT NULL,
  client_key      text NOT NULL,
  due_at          timestamptz NOT NULL,
  status          text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_jid, stanza_id)
);
CREATE INDEX gcloud_receipts_pending ON gcloud_receipts (due_at) WHERE status IS NULL;
CREATE INDEX gcloud_receipts_created ON gcloud_receipts (created_at);
`,
};
