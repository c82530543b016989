// PGlite in its worker thread (src/store/pglite-db.ts, pglite-worker.ts): what
// the store suite cannot see. The router's event loop keeps running while the
// embedded database works, errors keep their SQLSTATE across the thread, and a
// closed database lets the process end.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUniqueViolation, sqlState, type Db } from "../../../src/store/db.js";
import { openDb } from "../../../src/store/open-db.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const logging = silentLogging();
let db: Db;

beforeAll(async () => {
  db = await openDb(pgliteConfig(), logging.child("store"));
  await db.exec("CREATE TABLE t (id int PRIMARY KEY, v text)");
});

afterAll(async () => {
  await db.close();
});

describe("PGlite in a worker thread", () => {
  it("keeps the event loop running while a long query runs", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM generate_series(1, 3000000)");
    const ms = performance.now() - t0;
    clearInterval(timer);
    expect(rows[0]!.n).toBe(3_000_000);
    // On the router's own thread a timer cannot fire until the query returns.
    expect(ms).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThanOrEqual(2);
  });

  it("gives errors their SQLSTATE and fields from the worker", async () => {
    await db.query("INSERT INTO t (id, v) VALUES ($1, $2)", [1, "a"]);
    const dup = await db.query("INSERT INTO t (id, v) VALUES ($1, $2)", [1, "b"]).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Error);
    expect(isUniqueViolation(dup)).toBe(true);
    expect(dup).toMatchObject({ code: "23505", constraint: "t_pkey", table: "t" });
    expect((dup as Error).message).toMatch(/duplicate key/);

    const serialization = await db
      .exec("DO $$ BEGIN RAISE EXCEPTION 'could not serialize' USING ERRCODE = '40001'; END $$")
      .catch((e: unknown) => e);
    expect(sqlState(serialization)).toBe("40001");
  });

  it("commits, rolls back, and notifies listeners only of what was committed", async () => {
    const heard: string[] = [];
    const stop = await db.listen("t_changed", (p) => heard.push(p));

    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO t (id, v) VALUES ($1, $2)", [10, "kept"]);
      await tx.query("SELECT pg_notify('t_changed', $1)", ["kept"]);
    });
    const failed = await db
      .transaction(async (tx) => {
        await tx.query("INSERT INTO t (id, v) VALUES ($1, $2)", [11, "dropped"]);
        await tx.query("SELECT pg_notify('t_changed', $1)", ["dropped"]);
        throw new Error("changed my mind");
      })
      .catch((e: unknown) => e);
    expect((failed as Error).message).toBe("changed my mind");
    // A statement error inside the transaction: rolled back, SQLSTATE kept.
    const aborted = await db
      .transaction(async (tx) => {
        await tx.query("INSERT INTO t (id, v) VALUES ($1, $2)", [12, "x"]);
        await tx.query("INSERT INTO t (id, v) VALUES ($1, $2)", [12, "y"]);
      })
      .catch((e: unknown) => e);
    expect(sqlState(aborted)).toBe("23505");

    await db.notify("t_changed", "outside");
    await expect.poll(() => heard, { timeout: 10_000 }).toEqual(["kept", "outside"]);
    const { rows } = await db.query<{ id: number }>("SELECT id FROM t WHERE id >= 10 ORDER BY id");
    expect(rows.map((r) => r.id)).toEqual([10]);
    await stop();
    await db.notify("t_changed", "after stop");
    await db.query("SELECT 1");
    await new Promise((r) => setTimeout(r, 50));
    expect(heard).toEqual(["kept", "outside"]);
  });

  it("runs a statement again after the table under it changed shape (prepared once, re-parsed when stale)", async () => {
    await db.exec("CREATE TABLE shape (id int)");
    await db.query("INSERT INTO shape (id) VALUES ($1)", [1]);
    expect((await db.query("SELECT * FROM shape")).rows).toEqual([{ id: 1 }]);
    await db.exec("ALTER TABLE shape ADD COLUMN label text DEFAULT 'x'");
    expect((await db.query("SELECT * FROM shape")).rows).toEqual([{ id: 1, label: "x" }]);
    expect((await db.query("SELECT * FROM shape WHERE id = $1", [1])).rowCount).toBe(1);
  });

  it("answers queries issued at once, each with its own result", async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => db.query<{ n: number }>("SELECT $1::int * 2 AS n", [i])));
    expect(results.map((r) => r.rows[0]!.n)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it("refuses queries once closed, and a closed database lets the process exit by itself", async () => {
    const other = await openDb(pgliteConfig(), logging.child("store"));
    await other.close();
    await expect(other.query("SELECT 1")).rejects.toThrow(/closed/);

    // A script that opens, queries and closes, with no process.exit: it must end on its own.
    const script = [
      'import { openDb } from "./src/store/open-db.ts";',
      'import { createLogging } from "./src/log.ts";',
      'const db = await openDb({ dataDir: "memory://", poolMax: 1 }, createLogging({ level: "silent", modules: {} }).child("store"));',
      'const { rows } = await db.query("SELECT 41 + 1 AS n");',
      "await db.close();",
      "console.log(rows[0].n);",
    ].join("\n");
    const { stdout } = await promisify(execFile)("npx", ["tsx", "--input-type=module", "-e", script], { timeout: 60_000 });
    expect(stdout.trim()).toBe("42");
  }, 90_000);
});
