// The Db port on node-postgres (production: `database.url` set).
import { createHash } from "node:crypto";
import pg from "pg";
import type { Logger } from "../log.js";
import { assertChannelName, MISSED_NOTIFICATIONS, type Db, type Queryable, type QueryResult } from "./db.js";

/** Bounds on every wait (design.md rule 7); not in the config schema yet. */
const CONNECT_TIMEOUT_MS = 10_000;
const STATEMENT_TIMEOUT_MS = 30_000;
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 10_000;

export interface PgDbOptions {
  url: string;
  poolMax: number;
}

type Listener = (payload: string) => void;

/**
 * Every parameterised statement is sent as a named prepared statement (its
 * name a hash of the text): PostgreSQL parses and plans each once per
 * connection instead of on every message. The repositories' SQL texts are
 * constant (lists go in as arrays), so the set of names stays small.
 */
const statementNames = new Map<string, string>();
function prepared(sql: string, params: unknown[] | undefined): pg.QueryConfig | string {
  if (!params) return sql;
  let name = statementNames.get(sql);
  if (!name) {
    name = "eime_" + createHash("sha1").update(sql).digest("hex").slice(0, 20);
    statementNames.set(sql, name);
  }
  return { name, text: sql, values: params };
}

function queryable(run: () => pg.ClientBase, isClosed: () => boolean): Queryable {
  const check = () => {
    if (isClosed()) throw new Error("this transaction has already ended");
  };
  return {
    async query<R>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
      check();
      const res = await run().query(prepared(sql, params) as pg.QueryConfig);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string): Promise<void> {
      check();
      await run().query(sql);
    },
  };
}

/**
 * LISTEN on one dedicated connection (not from the pool, which would hand it
 * back). When that connection drops it reconnects with backoff, LISTENs again
 * on every channel and tells each listener it may have missed something.
 */
class Notifications {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private readonly channels = new Map<string, Set<Listener>>();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay = RECONNECT_MIN_MS;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  async add(channel: string, cb: Listener): Promise<() => Promise<void>> {
    assertChannelName(channel);
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(cb);
    try {
      const client = await this.connected();
      await client.query(`LISTEN "${channel}"`);
    } catch (err) {
      this.removeListener(channel, cb);
      throw err;
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (this.removeListener(channel, cb) && this.client) {
        await this.client.query(`UNLISTEN "${channel}"`).catch((err: unknown) => {
          this.logger.warn({ err, channel }, "UNLISTEN failed");
        });
      }
    };
  }

  /** Returns true when the channel has no listener left. */
  private removeListener(channel: string, cb: Listener): boolean {
    const set = this.channels.get(channel);
    if (!set) return false;
    set.delete(cb);
    if (set.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  private connected(): Promise<pg.Client> {
    if (this.stopped) return Promise.reject(new Error("the database is closed"));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: "eime-router/listen",
      keepAlive: true,
    });
    client.on("error", (err) => {
      this.logger.warn({ err }, "notification connection failed");
      this.lost(client);
    });
    client.on("end", () => this.lost(client));
    client.on("notification", (msg) => this.dispatch(msg.channel, msg.payload ?? ""));
    try {
      await client.connect();
      for (const channel of this.channels.keys()) await client.query(`LISTEN "${channel}"`);
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      throw new Error("the database is closed");
    }
    this.client = client;
    return client;
  }

  private dispatch(channel: string, payload: string): void {
    for (const cb of this.channels.get(channel) ?? []) {
      try {
        cb(payload);
      } catch (err) {
        this.logger.error({ err, channel }, "notification listener threw");
      }
    }
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.end().catch(() => undefined);
    if (this.stopped || this.channels.size === 0) return;
    this.logger.warn({ channels: [...this.channels.keys()] }, "notification connection lost; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.retryTimer || this.stopped) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, RECONNECT_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connected().then(
        () => {
          this.retryDelay = RECONNECT_MIN_MS;
          this.logger.info("notification connection re-established");
          for (const channel of this.channels.keys()) this.dispatch(channel, MISSED_NOTIFICATIONS);
        },
        (err: unknown) => {
          this.logger.warn({ err, retryInMs: this.retryDelay }, "notification reconnect failed");
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const client = this.client ?? (await this.connecting?.catch(() => null)) ?? null;
    this.client = null;
    this.channels.clear();
    if (client) await client.end().catch(() => undefined);
  }
}

export class PgDb implements Db {
  readonly engine = "pg" as const;
  private readonly pool: pg.Pool;
  private readonly notifications: Notifications;
  private closed = false;

  constructor(
    options: PgDbOptions,
    private readonly logger: Logger,
  ) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      application_name: "eime-router",
      keepAlive: true,
      // The router's statements are key lookups: one generic plan each is right, and PostgreSQL
      // otherwise re-plans its prepared statements on every call (measured: twice the CPU per step).
      options: "-c plan_cache_mode=force_generic_plan",
    });
    // An idle client that fails (server restart, network blip) must not crash the process.
    this.pool.on("error", (err) => logger.warn({ err }, "idle database connection failed"));
    this.notifications = new Notifications(options.url, logger);
  }

  async query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const res = await this.pool.query(prepared(sql, params) as pg.QueryConfig);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let ended = false;
    let broken: Error | undefined;
    // pg-pool takes its own 'error' listener off a client it hands out; without one, a
    // connection lost while checked out (server restart, pg_terminate_backend) is an
    // unhandled 'error' event that kills the process. Here it only fails this transaction:
    // its next statement rejects, the client is destroyed on release (issue 12 item 5).
    const onError = (err: Error) => {
      broken ??= err;
      this.logger.warn({ err }, "database connection lost during a transaction");
    };
    client.on("error", onError);
    try {
      await client.query("BEGIN");
      const result = await fn(
        queryable(
          () => client,
          () => ended,
        ),
      );
      await client.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        // The connection is unusable: destroy it rather than hand it back to the pool.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw err;
    } finally {
      ended = true;
      client.release(broken);
      // After release pg-pool's idle listener is attached again (or the client is gone).
      client.removeListener("error", onError);
    }
  }

  listen(channel: string, cb: (payload: string) => void): Promise<() => Promise<void>> {
    return this.notifications.add(channel, cb);
  }

  async notify(channel: string, payload: string): Promise<void> {
    await this.pool.query("SELECT pg_notify($1, $2)", [channel, payload]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notifications.close();
    await this.pool.end();
  }
}

export async function openPgDb(options: PgDbOptions, logger: Logger): Promise<Db> {
  const db = new PgDb(options, logger);
  try {
    await db.query("SELECT 1");
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
