// Migration 2: the outbox is a queue (every row inserted, then deleted soon
// after), so it is vacuumed after a fixed number of dead rows rather than a
// fraction of its (tiny) size; otherwise dead rows pile up and every delete
// and claim reads them. Where no autovacuum runs at all (PGlite, or a server
// with autovacuum off), the outbox worker vacuums it itself.
import type { Migration } from "./migration.js";

export const migration002: Migration = {
  version: 2,
  name: "outbox_vacuum",
  sql: /* sql */ `
ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
  autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000);
`,
};
