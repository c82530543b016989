// What every repository shares: where its SQL runs (the database or one
// transaction), atomic sections, and the wrapping of driver errors into
// RouterError("SQL_ERROR") at the repository boundary.
import { RouterError, isRouterError } from "../errors.js";
import type { Db, Queryable, QueryResult } from "./db.js";

export interface RepoContext {
  /** Where statements run: the database, or the transaction the repository is bound to. */
  readonly q: Queryable;
  /** The database itself, for LISTEN. */
  readonly db: Db;
  /** Runs `fn` atomically: a transaction, or a savepoint inside the bound one. */
  atomic<T>(what: string, fn: (q: Queryable) => Promise<T>): Promise<T>;
}

export function toSqlError(what: string, err: unknown): RouterError {
  if (isRouterError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RouterError("SQL_ERROR", `${what}: ${message}`, { cause: err });
}

/** One statement; a driver error becomes RouterError("SQL_ERROR", …, {cause}). */
export async function run<R = Record<string, unknown>>(
  q: Queryable,
  what: string,
  sql: string,
  params?: unknown[],
): Promise<QueryResult<R>> {
  try {
    return await q.query<R>(sql, params);
  } catch (err) {
    throw toSqlError(what, err);
  }
}

/**
 * A transaction on `db`. An error thrown by `fn` comes out unchanged (after
 * the rollback); one from BEGIN/COMMIT/ROLLBACK themselves becomes SQL_ERROR.
 */
export async function transaction<T>(db: Db, what: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  let thrown: { err: unknown } | undefined;
  try {
    return await db.transaction(async (tx) => {
      try {
        return await fn(tx);
      } catch (err) {
        thrown = { err };
        throw err;
      }
    });
  } catch (err) {
    if (thrown && thrown.err === err) throw err;
    throw toSqlError(what, err);
  }
}

let savepoints = 0;

/** A savepoint inside an open transaction: rolled back to when `fn` throws. */
export async function savepoint<T>(tx: Queryable, what: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const name = `eime_sp_${++savepoints}`;
  await run(tx, what, `SAVEPOINT ${name}`);
  try {
    const result = await fn(tx);
    await run(tx, what, `RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (err) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
    await tx.query(`RELEASE SAVEPOINT ${name}`).catch(() => undefined);
    throw err;
  }
}

export function rootContext(db: Db): RepoContext {
  return { q: db, db, atomic: (what, fn) => transaction(db, what, fn) };
}

export function transactionContext(db: Db, tx: Queryable): RepoContext {
  return { q: tx, db, atomic: (what, fn) => savepoint(tx, what, fn) };
}

/** jsonb parameters go in as JSON text on both engines. */
export function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** `now` as given, or this process's clock. */
export function at(now?: Date): Date {
  return now ?? new Date();
}
