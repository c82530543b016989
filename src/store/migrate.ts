// Schema migrations: each one applied in its own transaction together with
// its row in schema_version, so a crash leaves either all of it or none.
// Several router instances starting at once on PostgreSQL take turns on an
// advisory lock; each re-reads the version after taking it.
import type { Logger } from "../log.js";
import type { Db } from "./db.js";
import { MIGRATIONS } from "./migrations/index.js";
import type { Migration } from "./migrations/migration.js";
import { run, toSqlError, transaction } from "./sql.js";

/** Arbitrary but fixed: the advisory lock key of migrations ("eime" in ASCII). */
const MIGRATION_LOCK_KEY = 0x65696d65;

/** The database was migrated by a newer router: refuse to start rather than misread it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly codeVersion: number,
  ) {
    super(`database schema version ${databaseVersion} is newer than this router (${codeVersion}): upgrade the router`);
    this.name = "SchemaTooNewError";
  }
}

export interface MigrateResult {
  /** Schema version found (0: an empty database). */
  from: number;
  to: number;
  applied: number[];
}

export interface MigrateOptions {
  logger?: Logger;
  /** For tests: another list than the router's own. */
  migrations?: readonly Migration[];
}

function checkList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
}

/** The latest schema version this router knows. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export async function migrate(db: Db, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  checkList(migrations);
  const latest = migrations.length;
  let from: number | undefined;
  const applied: number[] = [];
  for (;;) {
    const step = await transaction(db, "migrate", async (tx) => {
      if (db.engine === "pg") {
        // A migration may take long, and so may waiting for another instance's: no statement timeout here.
        await run(tx, "migrate", "SET LOCAL statement_timeout = 0");
        await run(tx, "migrate", "SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
      }
      await run(
        tx,
        "migrate",
        `CREATE TABLE IF NOT EXISTS schema_version (
           version    integer PRIMARY KEY,
           name       text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const { rows } = await run<{ v: number }>(tx, "migrate", "SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_version");
      const current = rows[0]?.v ?? 0;
      if (current > latest) throw new SchemaTooNewError(current, latest);
      const next = migrations[current];
      if (!next) return { current, done: undefined };
      try {
        await tx.exec(next.sql);
      } catch (err) {
        throw toSqlError(`migration ${next.version} (${next.name})`, err);
      }
      await run(tx, "migrate", "INSERT INTO schema_version (version, name) VALUES ($1::int, $2::text)", [next.version, next.name]);
      return { current, done: next };
    });
    from ??= step.current;
    if (!step.done) break;
    applied.push(step.done.version);
    options.logger?.info({ version: step.done.version, name: step.done.name }, "database migration applied");
  }
  return { from, to: latest, applied };
}

/** The version the database is at (0 when never migrated). */
export async function schemaVersion(db: Db): Promise<number> {
  const exists = await run<{ t: string | null }>(db, "schema version", "SELECT to_regclass('schema_version')::text AS t");
  if (!exists.rows[0]?.t) return 0;
  const { rows } = await run<{ v: number }>(db, "schema version", "SELECT COALESCE(MAX(version), 0)::int AS v FROM schema_version");
  return rows[0]?.v ?? 0;
}
