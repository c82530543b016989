// Messages between PgliteDb (the router's thread) and pglite-worker.ts (the
// worker thread that owns the PGlite instance). Both ends import only types
// and the error codec from here.

export interface WorkerInit {
  /** Absolute directory, or undefined for memory. */
  dataDir?: string;
  loadDataDir?: Blob;
}

export type Request =
  | { id: number; op: "query"; sql: string; params?: unknown[]; tx?: number }
  | { id: number; op: "exec"; sql: string; tx?: number }
  /** BEGIN: `tx` names the transaction in later requests. */
  | { id: number; op: "begin"; tx: number }
  | { id: number; op: "end"; tx: number; commit: boolean }
  | { id: number; op: "listen"; channel: string; listener: number }
  | { id: number; op: "unlisten"; listener: number }
  | { id: number; op: "close" };

export interface Rows {
  rows: unknown[];
  rowCount: number;
}

export type Reply = { id: number; ok: true; result?: Rows } | { id: number; ok: false; error: SerializedError };

export type WorkerEvent =
  { type: "ready"; ms: number } | { type: "failed"; error: SerializedError } | { type: "notification"; listener: number; payload: string };

export type FromWorker = Reply | WorkerEvent;

/** An error as plain data: structured clone keeps an Error's message but drops `code` and the other SQL fields. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** Primitive own fields (code = SQLSTATE, detail, constraint, table, …). */
  fields: Record<string, string | number | boolean>;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), fields: {} };
  const fields: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(err)) {
    if (k === "query" || k === "params" || k === "queryOptions") continue; // echoes of the request, possibly large
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") fields[k] = v;
  }
  return { name: err.name, message: err.message, stack: err.stack, fields };
}

/** The worker's error on this side: an Error with the same message and SQL fields (`code` is the SQLSTATE). */
export function deserializeError(e: SerializedError, sql?: string): Error {
  const err = new Error(e.message) as Error & Record<string, unknown>;
  Object.assign(err, e.fields);
  if (e.name !== "Error") Object.defineProperty(err, "name", { value: e.name, enumerable: false, configurable: true, writable: true });
  if (sql !== undefined) Object.defineProperty(err, "query", { value: sql, enumerable: false, configurable: true, writable: true });
  // The caller's stack (where the query was issued) is the useful one; keep the worker's below it.
  if (e.stack && err.stack) err.stack = `${err.stack}\n    --- in the PGlite worker ---\n${e.stack.split("\n").slice(1).join("\n")}`;
  return err;
}
