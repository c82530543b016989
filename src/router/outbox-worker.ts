// Picks up outbox rows that no running code holds: retries that came due,
// rows waiting behind an earlier one, and rows left by a crashed or stopped
// instance (their lock expired). Woken by enqueues on any instance
// (LISTEN/NOTIFY), by the job runner, and every pollIntervalMs.
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import type { JobRunner } from "./job-runner.js";

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
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
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
