// Who may connect the component domain when the XMPP server takes one
// connection per domain (Prosody's mod_component refuses a second one with
// `conflict`): the instance holding a PostgreSQL session-level advisory lock
// named after the domain (issue 19, active/standby). The lock lives on a
// dedicated client, so it is held exactly as long as that session: stop()
// ends it, and when the process dies (kill -9) the server ends the session
// and frees the lock at once. A standby tries again every `retryMs`, which
// bounds the takeover time (plus one component connect).
//
// While held, the session is checked every `retryMs` (`SELECT 1`); when it is
// gone (database restarted, network) the lock may be someone else's: we say
// so and try to take it again. The component stays connected meanwhile: the
// server itself lets no second connection in, so two instances never both
// serve the domain; the other one waits on `conflict` until we go.
import pg from "pg";
import type { Logger } from "../log.js";

/** First key of the two-key advisory lock: "EiMe" in ASCII, so our locks collide with nobody's. */
const LOCK_CLASS = 0x45694d65;
const CONNECT_TIMEOUT_MS = 5_000;

export interface DomainLockOptions {
  url: string;
  /** The component domain: the lock's second key is hashtext(domain). */
  domain: string;
  /** A standby tries the lock this often; the holder checks its session this often. */
  retryMs: number;
}

export interface DomainLock {
  /** Resolves true once this instance holds the lock; false when release() came first. */
  acquire(): Promise<boolean>;
  /** Lets go (ends the session). Idempotent. */
  release(): Promise<void>;
  isHeld(): boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

class AdvisoryDomainLock implements DomainLock {
  private client: pg.Client | null = null;
  private held = false;
  private stopped = false;
  private acquiring: Promise<boolean> | null = null;
  private checkTimer: NodeJS.Timeout | null = null;
  private toldWaiting = false;

  constructor(
    private readonly opts: DomainLockOptions,
    private readonly log: Logger,
  ) {}

  isHeld(): boolean {
    return this.held;
  }

  acquire(): Promise<boolean> {
    if (this.held) return Promise.resolve(true);
    if (!this.acquiring) this.stopped = false; // a stopped router may be started again
    this.acquiring ??= this.loop().finally(() => (this.acquiring = null));
    return this.acquiring;
  }

  async release(): Promise<void> {
    this.stopped = true;
    if (this.checkTimer) clearInterval(this.checkTimer);
    this.checkTimer = null;
    const wasHeld = this.held;
    this.held = false;
    await this.drop();
    if (wasHeld) this.log.info({ domain: this.opts.domain }, "component domain lock released");
  }

  private async loop(): Promise<boolean> {
    while (!this.stopped) {
      try {
        if (await this.tryOnce()) return true;
        if (!this.toldWaiting) {
          this.log.info({ domain: this.opts.domain, retryMs: this.opts.retryMs }, "standby: another instance holds the component domain");
          this.toldWaiting = true;
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "component domain lock: database not reachable; trying again");
        await this.drop();
      }
      await sleep(this.opts.retryMs);
    }
    return false;
  }

  private async tryOnce(): Promise<boolean> {
    const client = await this.connected();
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::int, hashtext($2::text)) AS ok", [
      LOCK_CLASS,
      this.opts.domain,
    ]);
    if (!rows[0]?.ok || this.stopped) return false;
    this.held = true;
    this.toldWaiting = false;
    this.log.info({ domain: this.opts.domain }, "component domain lock held: this instance is active");
    this.checkTimer ??= setInterval(() => void this.check(), this.opts.retryMs);
    this.checkTimer.unref();
    return true;
  }

  /** The holder's session still there? If not, the lock is not ours any more: take it again (or wait as standby). */
  private async check(): Promise<void> {
    if (!this.held || this.stopped) return;
    try {
      await this.client!.query("SELECT 1");
    } catch {
      this.lost("the database session of the lock ended");
    }
  }

  private lost(why: string): void {
    if (!this.held || this.stopped) return;
    this.held = false;
    this.log.error({ domain: this.opts.domain, why }, "component domain lock lost; taking it again");
    void this.drop(); // not awaited: the session is gone anyway
    void this.acquire();
  }

  private async connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.opts.url,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: "eime-router/domain-lock",
      keepAlive: true,
    });
    client.on("error", (err) => this.lost(err.message));
    client.on("end", () => this.lost("the database session of the lock ended"));
    try {
      await client.connect();
    } catch (err) {
      client.removeAllListeners("end");
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  private async drop(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    client.removeAllListeners("end");
    client.removeAllListeners("error");
    client.on("error", () => undefined);
    // end() on a session the server already ended may never settle (node-postgres): bounded.
    await Promise.race([client.end().catch(() => undefined), sleep(1000)]);
  }
}

export function createDomainLock(opts: DomainLockOptions, log: Logger): DomainLock {
  return new AdvisoryDomainLock(opts, log);
}
