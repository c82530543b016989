// The ordered list of migrations. Add a migration as the next numbered module
// (NNN_name.ts, exporting its SQL) and append it here. They are TypeScript
// modules rather than .sql files because the build (tsc) copies no .sql files.
import { migration001 } from "./001_initial.js";
import { migration002 } from "./002_outbox_vacuum.js";

export interface Migration {
  /** 1, 2, 3…: applied in this order, each exactly once. */
  version: number;
  name: string;
  /** One script (several statements), run in the migration's transaction. */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002];
