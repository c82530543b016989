// Migration 6: an operator episode remembers when the user was warned that it
// will close for inactivity (ROUTER_INACTIVITY_WARNING#0001, issue 17), so
// the warning is sent once and a user message after it keeps the episode open.
import type { Migration } from "./migration.js";

export const migration006: Migration = {
  version: 6,
  name: "idle_warning",
  sql: /* sql */ `
ALTER TABLE conversations ADD COLUMN episode_idle_warned_at timestamptz;
`,
};
