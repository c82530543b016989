// The component domain lock (issue 19, Prosody active/standby) on a real
// PostgreSQL: one holder per domain; a standby takes over within its retry
// period when the holder lets go, and when the holder's session is killed
// (what kill -9 of the process does); a release while waiting gives up.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDomainLock, type DomainLock } from "../../../src/store/domain-lock.js";
import { createPgTestDatabase, silentLogging, skipPg, type TestDatabase } from "../../support/db.js";

// Bound of the waits: what is proved is that it happens; takeover figures are the fault suite's.
const BOUND_MS = 10_000;
const RETRY_MS = 200;
const log = silentLogging().child("lock");

describe.skipIf(skipPg)("component domain lock on PostgreSQL", () => {
  let database: TestDatabase;
  let admin: pg.Client;
  const locks: DomainLock[] = [];
  const lock = (domain = "router.localhost") => {
    const l = createDomainLock({ url: database.url, domain, retryMs: RETRY_MS }, log);
    locks.push(l);
    return l;
  };
  const settle = <T>(p: Promise<T>) => {
    const state: { value?: T; done: boolean } = { done: false };
    void p.then((value) => Object.assign(state, { value, done: true }));
    return state;
  };
  const waitUntil = async (cond: () => boolean, ms: number) => {
    const start = Date.now();
    while (!cond()) {
      if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - start;
  };

  beforeAll(async () => {
    database = await createPgTestDatabase();
    admin = new pg.Client({ connectionString: database.url });
    admin.on("error", () => undefined);
    await admin.connect();
  });

  afterAll(async () => {
    for (const l of locks) await l.release();
    await admin?.end().catch(() => undefined);
    await database?.drop();
  });

  it("one holder per domain; the standby takes over within its retry period once the holder releases", async () => {
    const a = lock();
    const b = lock();
    expect(await a.acquire()).toBe(true);
    const standby = settle(b.acquire());
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    expect(standby.done).toBe(false);
    expect(b.isHeld()).toBe(false);
    const other = lock("other.localhost");
    expect(await other.acquire()).toBe(true); // another domain is another lock
    await other.release();

    await a.release();
    const took = await waitUntil(() => standby.done, BOUND_MS);
    expect(standby.value).toBe(true);
    expect(b.isHeld()).toBe(true);
    expect(took).toBeLessThan(2 * RETRY_MS + 2000); // a retry or two; generous, the test command runs files in parallel
    await b.release();
  });

  it("the holder's session killed: exactly one of the two holds the lock again, and when it lets go the other takes it", async () => {
    const a = lock("crash.localhost");
    const b = lock("crash.localhost");
    expect(await a.acquire()).toBe(true);
    const standby = settle(b.acquire());
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'eime-router/domain-lock' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::int = hashtext($1))",
      ["crash.localhost"],
    );
    expect(rows[0]!.n).toBe(1);
    // A dead process never comes back (the fault suite's standby scenario); a live one whose session died
    // takes the lock again if it is quicker than the standby. Either way one holder, never two.
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS)); // a learns its session is gone (its check runs every retryMs)
    await waitUntil(() => a.isHeld() !== b.isHeld(), BOUND_MS);
    const [holder, other] = a.isHeld() ? [a, b] : [b, a];
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    expect([holder.isHeld(), other.isHeld()]).toEqual([true, false]);
    await holder.release();
    await waitUntil(() => other.isHeld(), BOUND_MS);
    await other.release();
    await waitUntil(() => standby.done, BOUND_MS);
  });

  it("release() while waiting: acquire() resolves false and nothing is left held", async () => {
    const a = lock("release.localhost");
    const b = lock("release.localhost");
    expect(await a.acquire()).toBe(true);
    const waiting = b.acquire();
    await new Promise((r) => setTimeout(r, RETRY_MS));
    await b.release();
    expect(await waiting).toBe(false);
    await a.release();
    const heldNow = async () =>
      (
        await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::int = hashtext($1)",
          ["release.localhost"],
        )
      ).rows[0]!.n;
    for (let i = 0; i < 50 && (await heldNow()) > 0; i++) await new Promise((r) => setTimeout(r, 20)); // the session's backend ends just after
    expect(await heldNow()).toBe(0);
  });
});
