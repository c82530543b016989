// Migration 6: an operator episode remembers when the user was warned that it
// will close for inactivity (ROUTER_INACTIVITY_WARNING#0001, issue 17), so
// the warning is sent once and a user message after it keeps the episode open.
import type { Migration } from "./migration.js";

// Number 006 was given by the lead (005 belongs to another branch); versions
// must be contiguous, so it is version 5 until the lead renumbers at merge.
export const migration006: Migration = {
  version: 5,
  name: "idle_warning",
  sql: /* sql */ `
ALTER TABLE conversations ADD COLUMN episode_idle_warned_at timestamptz;
`,
};
