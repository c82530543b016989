// Databases for integration tests (design.md "Tests"): a fresh PostgreSQL
// database per test file on DATABASE_URL's server, else a local server if
// one answers; PGlite otherwise. No server and no EIME_SKIP_PG=1 is a failure.
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Config } from "../../src/config/schema.js";
import { createLogging, type Logging } from "../../src/log.js";

export const LOCAL_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** EIME_SKIP_PG=1: run no PostgreSQL suite (only where no server can be had). */
export const skipPg = process.env.EIME_SKIP_PG === "1";

export type DatabaseConfig = Config["database"];

export function silentLogging(): Logging {
  return createLogging({ level: "silent", modules: {} });
}

export function pgliteConfig(dataDir = "memory://"): DatabaseConfig {
  return { dataDir, poolMax: 1 };
}

export function pgConfig(url: string, poolMax = 5): DatabaseConfig {
  return { url, dataDir: "memory://", poolMax };
}

async function answers(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The server to create test databases on: DATABASE_URL, else the local default. Throws when it does not answer. */
export async function pgServerUrl(): Promise<string> {
  const url = process.env.DATABASE_URL || LOCAL_PG_URL;
  const failure = await answers(url);
  if (failure !== null) {
    throw new Error(
      `no PostgreSQL answers at ${redact(url)} (${failure}): set DATABASE_URL, start a local server, ` +
        "or set EIME_SKIP_PG=1 to skip the PostgreSQL suites",
    );
  }
  return url;
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A new, empty database `eime_test_<random>` on the test server; drop() removes it (even with connections left). */
export async function createPgTestDatabase(): Promise<TestDatabase> {
  const serverUrl = await pgServerUrl();
  const name = `eime_test_${randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
    client.on("error", () => undefined);
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
