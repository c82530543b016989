// Migration 9: an operator episode remembers the highest transcript index the
// user's client marked displayed (XEP-0333, told to GMS as readReceipt) and
// the nickname GMS knows the user by (updateNickname when it changes), issue 17.
import type { Migration } from "./migration.js";

export const migration009: Migration = {
  version: 9,
  name: "gms_receipts",
  sql: /* sql */ `
ALTER TABLE conversations ADD COLUMN episode_read_position integer;
ALTER TABLE conversations ADD COLUMN episode_nickname text;
`,
};
