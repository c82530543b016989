// Migration 4: a conversation remembers that its client is a plain XMPP
// client (protocol.md section 9), so replies are rendered for it, and the
// <thread> that client sent, so replies echo it.
import type { Migration } from "./migration.js";

export const migration004: Migration = {
  version: 4,
  name: "plain_clients",
  sql: /* sql */ `
ALTER TABLE conversations ADD COLUMN plain_client boolean NOT NULL DEFAULT false;
ALTER TABLE conversations ADD COLUMN client_thread text;
`,
};
