// A fresh PostgreSQL database per router run: `eime_bench_<random>` created on
// the server of `adminUrl`, dropped afterwards (WITH (FORCE): the router may
// have left a connection behind if it was killed).
import { randomBytes } from "node:crypto";
import pg from "pg";

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

const created = new Set<BenchDatabase>();

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `eime_bench_${randomBytes(6).toString("hex")}`;
  await admin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  let dropped = false;
  const db: BenchDatabase = {
    name,
    url: u.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      created.delete(db);
      await admin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
  created.add(db);
  return db;
}

/** Drops every database this process created and has not dropped yet (bounded). */
export async function dropAll(): Promise<void> {
  await Promise.race([
    Promise.all([...created].map((d) => d.drop().catch((err: Error) => process.stderr.write(`drop ${d.name}: ${err.message}\n`)))),
    new Promise((r) => setTimeout(r, 10_000)),
  ]);
}

/** Inbound (user) messages stored in a bench database. */
export async function countInbound(url: string): Promise<number> {
  return admin(
    url,
    async (c) => (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE direction = 'in'")).rows[0]!.n,
  );
}

/** How many of these stanza ids (the duplicate keys) the router stored. */
export async function countStored(url: string, ids: string[]): Promise<number> {
  return admin(
    url,
    async (c) =>
      (
        await c.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE direction = 'in' AND dedupe_key = ANY($1::text[])", [
          ids,
        ])
      ).rows[0]!.n,
  );
}

/** Checks the server answers; a clear message otherwise. */
export async function checkServer(adminUrl: string): Promise<string> {
  try {
    return await admin(adminUrl, async (c) => (await c.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version);
  } catch (err) {
    throw new Error(`PostgreSQL at ${adminUrl} does not answer (${(err as Error).message}); start it or pass --pg-url, or --db pglite`, {
      cause: err,
    });
  }
}

/**
 * Transactions committed in database `name` so far (pg_stat_database), read on
 * `adminUrl`'s database so this query is not counted. Backends report their
 * counts when idle, at most once a second: a delta is exact only to about a
 * second of traffic at each end.
 */
export async function xactCommits(adminUrl: string, name: string): Promise<number> {
  return admin(adminUrl, async (c) => {
    const { rows } = await c.query<{ n: string }>("SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = $1", [name]);
    return Number(rows[0]?.n ?? 0);
  });
}
