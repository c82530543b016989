// The ordered list of migrations. Add a migration as the next numbered module
// (NNN_name.ts, exporting its SQL) and append it here. They are TypeScript
// modules rather than .sql files because the build (tsc) copies no .sql files.
import { migration001 } from "./001_initial.js";
import { migration002 } from "./002_outbox_vacuum.js";
import { migration004 } from "./004_plain_clients.js";
import type { Migration } from "./migration.js";

/**
 * MERGE NOTE (branch plain): 003 belongs to branch engine. Until its
 * migration003 is merged this slot holds an empty placeholder; at the merge,
 * replace the placeholder by migration003 (keep 004 after it).
 */
const migration003Placeholder: Migration = { version: 3, name: "reserved_engine", sql: "SELECT 1;" };

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003Placeholder, migration004];
