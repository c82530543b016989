// The Db port on embedded PGlite (the default when `database.url` is unset).
// PGlite is one connection inside this process: transactions are serialised
// with a mutex so a concurrent query never runs inside another's transaction,
// and LISTEN/NOTIFY stays in-process.
import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { Logger } from "../log.js";
import { assertChannelName, type Db, type Queryable, type QueryResult } from "./db.js";

export interface PgliteDbOptions {
  /** A directory (created if missing) or `memory://`. */
  dataDir: string;
  /** A data directory dump (PGlite `dumpDataDir()`) to start from instead of running initdb. */
  loadDataDir?: Blob;
}

export function isMemoryDataDir(dataDir: string): boolean {
  return dataDir.startsWith("memory://");
}

/** Runs functions one at a time, in call order. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

interface TxScope {
  db: PgliteDb;
  active: boolean;
}

/** Marks the async context of a running transaction, to catch a query that would wait for it forever. */
const txScope = new AsyncLocalStorage<TxScope>();

function wrapTx(tx: Transaction, scope: TxScope): Queryable {
  const check = () => {
    if (!scope.active) throw new Error("this transaction has already ended");
  };
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      check();
      const res = await tx.query<R>(sql, params);
      return { rows: res.rows, rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      check();
      await tx.exec(sql);
    },
  };
}

export class PgliteDb implements Db {
  readonly engine = "pglite" as const;
  private readonly mutex = new Mutex();
  private closed = false;

  constructor(
    private readonly pg: PGlite,
    private readonly logger: Logger,
  ) {}

  /** The PGlite instance, for tests that dump or clone it. */
  get pglite(): PGlite {
    return this.pg;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const scope = txScope.getStore();
    if (scope?.db === this && scope.active) {
      // On one connection this would wait for the transaction it runs in.
      return Promise.reject(new Error("query on the database inside one of its own transactions: use the transaction's queryable"));
    }
    if (this.closed) return Promise.reject(new Error("the database is closed"));
    return this.mutex.run(fn);
  }

  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.exclusive(async () => {
      const res = await this.pg.query<R>(sql, params);
      return { rows: res.rows, rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length };
    });
  }

  exec(sql: string): Promise<void> {
    return this.exclusive(async () => {
      await this.pg.exec(sql);
    });
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.exclusive(() => {
      const scope: TxScope = { db: this, active: true };
      return txScope
        .run(scope, () => this.pg.transaction((tx) => fn(wrapTx(tx, scope))))
        .finally(() => {
          scope.active = false;
        });
    });
  }

  async listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> {
    assertChannelName(channel);
    // Deliver outside the notifying query's (and transaction's) async context.
    const deliver = (payload: string) =>
      txScope.exit(() =>
        setImmediate(() => {
          try {
            cb(payload);
          } catch (err) {
            this.logger.error({ err, channel }, "notification listener threw");
          }
        }),
      );
    const unlisten = await this.exclusive(() => this.pg.listen(channel, deliver));
    let done = false;
    return async () => {
      if (done || this.closed) return;
      done = true;
      await this.exclusive(() => unlisten());
    };
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const closing = this.mutex.run(() => this.pg.close());
    this.closed = true;
    await closing;
  }
}

export async function openPgliteDb(options: PgliteDbOptions, logger: Logger): Promise<PgliteDb> {
  const memory = isMemoryDataDir(options.dataDir);
  let dataDir: string | undefined;
  if (!memory) {
    dataDir = resolve(options.dataDir);
    // PGlite creates the directory itself, but not its parents.
    await mkdir(dirname(dataDir), { recursive: true });
  }
  const started = Date.now();
  const pg = new PGlite({ ...(dataDir ? { dataDir } : {}), ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}) });
  await pg.waitReady;
  logger.info({ dataDir: dataDir ?? "memory://", ms: Date.now() - started }, "embedded database open");
  return new PgliteDb(pg, logger);
}
