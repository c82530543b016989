// Migration 7: Genesys Cloud webhook messages
// seen, so each is handled once by (id, channel.time) across retries and
// instances (backends.md 2b, src/adapters/genesys-cloud/webhook-dedup.ts).
import type { Migration } from "./migration.js";

export const migration007: Migration = {
  version: 7,
  name: "genesys_cloud_webhooks",
  sql: /* sql */ `
CREATE TABLE gcloud_webhook_messages (
  message_id   text NOT NULL,
  channel_time text NOT NULL,
  state        text NOT NULL DEFAULT 'processing',
  claimed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, channel_time)
);
CREATE INDEX gcloud_webhook_messages_claimed ON gcloud_webhook_messages (claimed_at);
`,
};
