// The database port (design.md, store/): one interface, two engines
// (pg-db.ts, pglite-db.ts; open-db.ts picks one). Repositories and the
// engines depend on this port only.
import type { Config } from "../config/schema.js";

export interface QueryResult<R> {
  rows: R[];
  /** Rows returned, or changed by an INSERT/UPDATE/DELETE. */
  rowCount: number;
}

/** Something SQL runs on: the database itself or one open transaction. */
export interface Queryable {
  /** One statement with `$1…$n` parameters. Pass JSON for jsonb columns as a string (JSON.stringify). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export type Engine = "pg" | "pglite";

export interface Db extends Queryable {
  readonly engine: Engine;
  /**
   * Runs `fn` in one transaction on one connection: COMMIT when it resolves,
   * ROLLBACK when it throws (the error is rethrown). Use only `tx` inside `fn`:
   * on PGlite (one connection) the database itself waits until the transaction ends.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Calls `cb` with the payload of every NOTIFY on `channel` (from any
   * connection, on pg from any instance). After the listening connection was
   * lost and re-established, `cb` is called once with {@link MISSED_NOTIFICATIONS}
   * since notifications may have been missed. Resolves once listening; the
   * returned function stops it.
   */
  listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>>;
  /** NOTIFY outside a transaction (inside one, run `SELECT pg_notify($1, $2)` on the tx). */
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** Payload given to listeners after a reconnect: "anything may have changed". */
export const MISSED_NOTIFICATIONS = "";

export type DatabaseConfig = Config["database"];

/** Channel names go into LISTEN as identifiers: keep them plain. */
export function assertChannelName(channel: string): void {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) throw new Error(`invalid notification channel name: ${channel}`);
}

/** SQLSTATE of an error thrown by either driver, if it has one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  return sqlState(err) === "23505";
}
