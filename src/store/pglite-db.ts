// The Db port on embedded PGlite (the default when `database.url` is unset).
// PGlite (PostgreSQL compiled to WebAssembly) runs in a worker thread
// (pglite-worker.ts), so its work never blocks the router's event loop; this
// side only posts requests and takes replies. PGlite is one connection:
// transactions are serialised here (Gate) so a concurrent query never runs
// inside another's transaction, and LISTEN/NOTIFY stays in-process.
import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { Logger } from "../log.js";
import { assertChannelName, type Db, type Queryable, type QueryResult } from "./db.js";
import { deserializeError, type FromWorker, type Request, type Rows, type SerializedError, type WorkerInit } from "./pglite-protocol.js";

export interface PgliteDbOptions {
  /** A directory (created if missing) or `memory://`. */
  dataDir: string;
  /** A data directory dump (PGlite `dumpDataDir()`) to start from instead of running initdb. */
  loadDataDir?: Blob;
}

export function isMemoryDataDir(dataDir: string): boolean {
  return dataDir.startsWith("memory://");
}

const settled = (p: Promise<unknown>): Promise<void> =>
  p.then(
    () => undefined,
    () => undefined,
  );

/**
 * Orders work on the one connection. Exclusive work (a transaction, a script,
 * LISTEN) starts when everything admitted before it has ended, and nothing
 * starts before it ends. Shared work (one statement) waits only for exclusive
 * work before it: statements are posted to the worker back to back, which
 * runs them one after another in the order posted (so its thread does not
 * sit idle for a round trip between two of them).
 */
class Gate {
  private exclusiveTail: Promise<void> = Promise.resolve();
  private readonly sharedRunning = new Set<Promise<void>>();

  shared<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.exclusiveTail.then(fn);
    const done = settled(result);
    this.sharedRunning.add(done);
    void done.then(() => this.sharedRunning.delete(done));
    return result;
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const before = Promise.all([this.exclusiveTail, ...this.sharedRunning]);
    this.sharedRunning.clear(); // awaited by this one, and so by everything after it
    const result = before.then(fn);
    this.exclusiveTail = settled(result);
    return result;
  }
}

interface TxScope {
  db: PgliteDb;
  active: boolean;
}

/** Marks the async context of a running transaction, to catch a query that would wait for it forever. */
const txScope = new AsyncLocalStorage<TxScope>();

type Pending = { resolve(r: Rows | undefined): void; reject(e: Error): void; sql?: string };
/** A request without its id (Omit over each member of the union). */
type Body = Request extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;

/** The worker thread and its request/reply bookkeeping. */
class WorkerLink {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set once the worker is gone (closed or crashed): every later request fails with it. */
  private gone: Error | undefined;

  constructor(
    private readonly worker: Worker,
    private readonly onNotification: (listener: number, payload: string) => void,
    logger: Logger,
  ) {
    worker.on("message", (m: FromWorker) => this.receive(m));
    worker.on("error", (err) => {
      logger.error({ err }, "embedded database worker failed");
      this.fail(err);
    });
    worker.on("exit", (code) => this.fail(new Error(`the embedded database worker exited (code ${code})`)));
  }

  request(body: Body): Promise<Rows | undefined> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sql: "sql" in body ? body.sql : undefined });
      this.worker.postMessage({ ...body, id });
    });
  }

  private receive(m: FromWorker): void {
    if ("type" in m) {
      if (m.type === "notification") this.onNotification(m.listener, m.payload);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(deserializeError(m.error, p.sql));
  }

  private fail(err: Error): void {
    this.gone ??= err;
    for (const p of this.pending.values()) p.reject(this.gone);
    this.pending.clear();
  }

  async terminate(): Promise<void> {
    this.gone ??= new Error("the database is closed");
    await this.worker.terminate();
  }
}

function toResult<R>(r: Rows | undefined): QueryResult<R> {
  return { rows: (r?.rows ?? []) as R[], rowCount: r?.rowCount ?? 0 };
}

function wrapTx(link: WorkerLink, tx: number, scope: TxScope): Queryable {
  const check = () => {
    if (!scope.active) throw new Error("this transaction has already ended");
  };
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      check();
      return toResult<R>(await link.request({ op: "query", sql, params, tx }));
    },
    async exec(sql: string): Promise<void> {
      check();
      await link.request({ op: "exec", sql, tx });
    },
  };
}

export class PgliteDb implements Db {
  readonly engine = "pglite" as const;
  private readonly gate = new Gate();
  private closed = false;
  private nextTx = 1;
  private nextListener = 1;
  private readonly listeners = new Map<number, { channel: string; cb: (payload: string) => void }>();
  private readonly link: WorkerLink;

  constructor(
    worker: Worker,
    private readonly logger: Logger,
  ) {
    this.link = new WorkerLink(worker, (listener, payload) => this.deliver(listener, payload), logger);
  }

  private admit<T>(mode: "shared" | "exclusive", fn: () => Promise<T>): Promise<T> {
    const scope = txScope.getStore();
    if (scope?.db === this && scope.active) {
      // On one connection this would wait for the transaction it runs in.
      return Promise.reject(new Error("query on the database inside one of its own transactions: use the transaction's queryable"));
    }
    if (this.closed) return Promise.reject(new Error("the database is closed"));
    return mode === "shared" ? this.gate.shared(fn) : this.gate.exclusive(fn);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.admit("exclusive", fn);
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.admit("shared", async () => toResult<R>(await this.link.request({ op: "query", sql, params })));
  }

  exec(sql: string): Promise<void> {
    return this.exclusive(async () => {
      await this.link.request({ op: "exec", sql });
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const tx = this.nextTx++;
      await this.link.request({ op: "begin", tx });
      const scope: TxScope = { db: this, active: true };
      let result: T;
      try {
        result = await txScope.run(scope, () => fn(wrapTx(this.link, tx, scope)));
      } catch (err) {
        scope.active = false;
        await this.link.request({ op: "end", tx, commit: false }).catch((e: unknown) => {
          this.logger.warn({ err: e }, "embedded database: rollback failed");
        });
        throw err;
      }
      scope.active = false;
      await this.link.request({ op: "end", tx, commit: true });
      return result;
    });
  }

  private deliver(listener: number, payload: string): void {
    const l = this.listeners.get(listener);
    if (!l) return;
    // Outside any query's (and transaction's) async context.
    txScope.exit(() =>
      setImmediate(() => {
        try {
          l.cb(payload);
        } catch (err) {
          this.logger.error({ err, channel: l.channel }, "notification listener threw");
        }
      }),
    );
  }

  async listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> {
    assertChannelName(channel);
    const listener = this.nextListener++;
    this.listeners.set(listener, { channel, cb });
    try {
      await this.exclusive(() => this.link.request({ op: "listen", channel, listener }));
    } catch (err) {
      this.listeners.delete(listener);
      throw err;
    }
    let done = false;
    return async () => {
      if (done || this.closed) return;
      done = true;
      this.listeners.delete(listener);
      await this.exclusive(() => this.link.request({ op: "unlisten", listener }));
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const closing = this.gate.exclusive(() => this.link.request({ op: "close" }));
    this.closed = true;
    try {
      await closing;
    } finally {
      this.listeners.clear();
      await this.link.terminate();
    }
  }
}

/**
 * The worker: the compiled `.js` next to this module (dist/), or the
 * TypeScript source loaded with tsx's `tsImport` (tests, the bench, `tsx
 * src/main.ts`; on Node 20 a worker does not inherit tsx's `--import` hooks).
 */
function startWorker(init: WorkerInit): Worker {
  const js = new URL("./pglite-worker.js", import.meta.url);
  const options = { workerData: init, name: "pglite", execArgv: [] };
  if (existsSync(fileURLToPath(js))) return new Worker(js, options);
  // The ESM build of tsx's API (require.resolve would give the CommonJS one).
  const tsxDir = dirname(createRequire(import.meta.url).resolve("tsx/package.json"));
  const api = pathToFileURL(join(tsxDir, "dist/esm/api/index.mjs")).href;
  const ts = new URL("./pglite-worker.ts", import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((api) => api.tsImport(${JSON.stringify(ts)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(code, { ...options, eval: true });
}

type Ready = { type: "ready"; ms: number } | { type: "failed"; error: SerializedError };

export async function openPgliteDb(options: PgliteDbOptions, logger: Logger): Promise<PgliteDb> {
  const memory = isMemoryDataDir(options.dataDir);
  let dataDir: string | undefined;
  if (!memory) {
    dataDir = resolve(options.dataDir);
    // PGlite creates the directory itself, but not its parents.
    await mkdir(dirname(dataDir), { recursive: true });
  }
  const init: WorkerInit = { ...(dataDir ? { dataDir } : {}), ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}) };
  const worker = startWorker(init);
  const ready = await new Promise<Ready>((resolve, reject) => {
    const onExit = (code: number) => reject(new Error(`the embedded database worker exited during start (code ${code})`));
    worker.once("error", reject);
    worker.once("exit", onExit);
    worker.once("message", (m: Ready) => {
      worker.off("error", reject);
      worker.off("exit", onExit);
      resolve(m);
    });
  });
  if (ready.type === "failed") {
    await worker.terminate();
    throw deserializeError(ready.error);
  }
  logger.info({ dataDir: dataDir ?? "memory://", ms: ready.ms }, "embedded database open");
  return new PgliteDb(worker, logger);
}
