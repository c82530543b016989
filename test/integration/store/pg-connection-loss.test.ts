// A PostgreSQL connection lost mid-transaction (issue 12 item 5): the backends
// of this file's database are terminated from another connection, as a server
// restart or an administrator would, while a transaction has its client
// checked out. The transaction fails with SQL_ERROR (type wait: the user may
// send again), the process lives on (no unhandled 'error' event: before the
// fix it died here), and the next transaction works.
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RouterError } from "../../../src/errors.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { createPgTestDatabase, pgConfig, silentLogging, skipPg, type TestDatabase } from "../../support/db.js";

describe.skipIf(skipPg)("PostgreSQL connection lost", () => {
  let database: TestDatabase;
  let store: Store;
  let admin: pg.Client;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);

  beforeAll(async () => {
    database = await createPgTestDatabase();
    store = await openStore(pgConfig(database.url, 3), silentLogging());
    admin = new pg.Client({ connectionString: database.url });
    admin.on("error", () => undefined);
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await store?.close();
    await database?.drop();
  });

  beforeEach(() => {
    uncaught.length = 0;
    process.on("uncaughtException", onUncaught);
  });
  afterEach(() => {
    process.off("uncaughtException", onUncaught);
  });

  /** Terminates every other backend of the database and waits (up to 5 s each, PostgreSQL 14+) until they are gone. */
  const terminateOthers = async (): Promise<number> => {
    const { rows } = await admin.query<{ n: string }>(
      `SELECT count(pg_terminate_backend(pid, 5000)) AS n FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    return Number(rows[0]!.n);
  };
  // The FATAL message and the socket's end reach the client while no statement of it runs.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

  it("fails the transaction with SQL_ERROR (wait), and the process and the next transaction live on", async () => {
    const outcome = await store
      .transaction(async (tx) => {
        await tx.conversations.get("before");
        expect(await terminateOthers()).toBeGreaterThanOrEqual(1);
        await settle();
        return tx.conversations.get("after");
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(outcome).toBeInstanceOf(RouterError);
    expect((outcome as RouterError).code).toBe("SQL_ERROR");
    expect((outcome as RouterError).spec.type).toBe("wait");

    expect(await store.transaction((tx) => tx.conversations.get("next"))).toBeNull();
    expect(await store.conversations.get("outside")).toBeNull();
    expect(uncaught).toEqual([]);
  });

  it("survives idle pool clients being terminated", async () => {
    await Promise.all([store.conversations.get("a"), store.conversations.get("b"), store.conversations.get("c")]);
    expect(await terminateOthers()).toBeGreaterThanOrEqual(1);
    await settle();
    expect(await store.transaction((tx) => tx.conversations.get("again"))).toBeNull();
    expect(uncaught).toEqual([]);
  });
});
