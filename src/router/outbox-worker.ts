// Picks up outbox rows that no running code holds: retries that came due,
// rows waiting behind an earlier one, and rows left by a crashed or stopped
// instance (their lock expired). Woken by enqueues on any instance
// (LISTEN/NOTIFY), by the job runner, and every pollIntervalMs.
//
// Every delivered row is deleted, so the outbox is all churn: where no
// autovacuum runs (PGlite, or PostgreSQL with autovacuum off) the worker
// vacuums it itself every few seconds, or its dead rows would make every
// delete and claim slower, message after message.
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import type { JobRunner } from "./job-runner.js";

const VACUUM_EVERY_MS = 5_000;

export interface OutboxWorkerOptions {
  owner: string;
  pollIntervalMs: number;
  batchSize: number;
  /** How long claimed rows stay ours before another instance may take them. */
  lockMs: number;
}

export class OutboxWorker {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = true;
  private unlisten: (() => Promise<void>) | null = null;
  private vacuumTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly runner: JobRunner,
    private readonly opts: OutboxWorkerOptions,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    this.unlisten = await this.store.outbox.onEnqueued(() => this.wake());
    this.schedule(0);
    if (!(await this.store.outbox.autovacuums())) {
      if (this.store.db.engine === "pg") {
        this.log.warn(
          "autovacuum is off on this PostgreSQL server: the router vacuums its outbox itself; turn autovacuum on for the other tables",
        );
      }
      this.vacuumTimer = setInterval(() => {
        this.store.outbox.vacuum().catch((err: unknown) => this.log.warn({ err }, "outbox vacuum failed"));
      }, VACUUM_EVERY_MS);
      this.vacuumTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.vacuumTimer) clearInterval(this.vacuumTimer);
    this.vacuumTimer = null;
    await this.unlisten?.();
    this.unlisten = null;
  }

  /** Look at the outbox soon (coalesced). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(5);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.timer = null;
    if (this.running || this.stopped) return;
    this.running = true;
    let full = false;
    try {
      const jobs = await this.store.outbox.claim({ owner: this.opts.owner, limit: this.opts.batchSize, lockMs: this.opts.lockMs });
      full = jobs.length === this.opts.batchSize;
      if (jobs.length > 0) {
        this.log.debug({ jobs: jobs.length }, "outbox rows claimed");
        this.runner.submit(jobs);
      }
    } catch (err) {
      this.log.error({ err }, "outbox claim failed");
    } finally {
      this.running = false;
    }
    const soon = full || this.again;
    this.again = false;
    this.schedule(soon ? 5 : this.opts.pollIntervalMs);
  }
}
