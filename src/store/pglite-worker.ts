// The PGlite worker thread (started by pglite-db.ts): owns the embedded
// PostgreSQL (WebAssembly) so its work never runs on the router's event loop.
// It runs requests as they come; the router's side orders them (one
// transaction at a time) and holds every rule of the Db port.
import { parentPort, workerData } from "node:worker_threads";
import { PGlite, type Results, type Transaction } from "@electric-sql/pglite";
import { PreparedStatements } from "./pglite-prepared.js";
import { serializeError, type FromWorker, type Request, type Rows, type WorkerInit } from "./pglite-protocol.js";

const port = parentPort!;
const init = workerData as WorkerInit;

/** Thrown inside PGlite's transaction callback to make it roll back; not an error of the caller's. */
const ROLLBACK = new Error("rollback requested by the caller");

interface OpenTx {
  tx: Transaction;
  finish(commit: boolean): void;
  /** Settles when PGlite has committed or rolled back. */
  done: Promise<void>;
}

let prepared: PreparedStatements | undefined;
const transactions = new Map<number, OpenTx>();
const unlisteners = new Map<number, () => Promise<void>>();

const post = (m: FromWorker) => port.postMessage(m);

function rows(res: Results): Rows {
  // rowCount as the pg driver gives it: rows changed by a write, else rows returned.
  return { rows: res.rows, rowCount: res.rowCount ?? res.affectedRows ?? res.rows.length };
}

function inTx(id: number | undefined): Transaction | undefined {
  if (id === undefined) return undefined;
  const t = transactions.get(id);
  if (!t) throw new Error("this transaction has already ended");
  return t.tx;
}

async function begin(pg: PGlite, id: number): Promise<void> {
  let started!: (tx: Transaction) => void;
  const ready = new Promise<Transaction>((r) => (started = r));
  let finish!: (commit: boolean) => void;
  const decided = new Promise<boolean>((r) => (finish = r));
  const done = pg
    .transaction(async (tx) => {
      started(tx);
      if (!(await decided)) throw ROLLBACK;
    })
    .catch((err: unknown) => {
      if (err !== ROLLBACK) throw err;
    });
  // A failed BEGIN rejects `done` before the callback ever runs.
  const tx = await Promise.race([ready, done.then(() => Promise.reject(new Error("BEGIN did not start a transaction")))]);
  transactions.set(id, { tx, finish, done });
}

async function end(id: number, commit: boolean): Promise<void> {
  const t = transactions.get(id);
  if (!t) return;
  transactions.delete(id);
  t.finish(commit);
  await t.done;
}

async function handle(pg: PGlite, req: Request): Promise<Rows | undefined> {
  switch (req.op) {
    case "query":
      inTx(req.tx); // an ended transaction's query is refused, not run outside it
      return rows(await prepared!.query(req.sql, req.params));
    case "exec":
      await (inTx(req.tx) ?? pg).exec(req.sql);
      return undefined;
    case "begin":
      await begin(pg, req.tx);
      return undefined;
    case "end":
      await end(req.tx, req.commit);
      return undefined;
    case "listen": {
      const listener = req.listener;
      const unlisten = await pg.listen(req.channel, (payload) => post({ type: "notification", listener, payload }));
      unlisteners.set(listener, unlisten);
      return undefined;
    }
    case "unlisten": {
      const unlisten = unlisteners.get(req.listener);
      unlisteners.delete(req.listener);
      await unlisten?.();
      return undefined;
    }
    case "close":
      for (const id of [...transactions.keys()]) await end(id, false);
      await pg.close();
      return undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  let pg: PGlite;
  try {
    pg = new PGlite({ ...(init.dataDir ? { dataDir: init.dataDir } : {}), ...(init.loadDataDir ? { loadDataDir: init.loadDataDir } : {}) });
    await pg.waitReady;
    // As on pg (pg-db.ts): plan each prepared statement once, not again for every new set of parameters.
    await pg.exec("SET plan_cache_mode = force_generic_plan");
    prepared = new PreparedStatements(pg);
  } catch (err) {
    post({ type: "failed", error: serializeError(err) });
    return;
  }
  port.on("message", (req: Request) => {
    handle(pg, req).then(
      (result) => {
        post(result ? { id: req.id, ok: true, result } : { id: req.id, ok: true });
        if (req.op === "close") port.close();
      },
      (err: unknown) => post({ id: req.id, ok: false, error: serializeError(err) }),
    );
  });
  post({ type: "ready", ms: Date.now() - started });
}

void main();
