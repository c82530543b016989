// ROUTER_QUEUED#0001 `estimatedWaitSeconds` (issue 17 item 2): the median time
// from request to agent joined of the recent episodes of a service, read from
// the database (so every instance sees every episode) and kept for a while in
// memory: the core decides synchronously, and an estimate a minute old is as
// good as a fresh one. The first request of a service has no estimate yet; it
// starts the read for the next ones.
import type { Clock } from "../core/ports.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";

export interface WaitEstimatesOptions {
  /** Episodes requested this long ago or less count; default 1 h. */
  windowMs?: number;
  /** How long an estimate is used before it is read again; default 60 s. */
  ttlMs?: number;
}

interface Entry {
  seconds: number | undefined;
  readAt: number;
}

export class WaitEstimates {
  private readonly entries = new Map<string, Entry>();
  /** Reads under way, so concurrent callers share one query. */
  private readonly reading = new Map<string, Promise<number | undefined>>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: WaitEstimatesOptions = {},
  ) {}

  /** The estimate known now (undefined: none yet, or no episode joined); refreshed in the background when stale. */
  get(serviceName: string): number | undefined {
    const entry = this.entries.get(serviceName);
    const now = this.clock.now().getTime();
    // No estimate yet (no episode joined) is read again sooner: the first joins make one.
    const ttl = entry?.seconds === undefined ? Math.min(this.opts.ttlMs ?? 60_000, 5_000) : (this.opts.ttlMs ?? 60_000);
    if (!entry || now - entry.readAt >= ttl) void this.refresh(serviceName);
    return entry?.seconds;
  }

  /** Reads the estimate of a service now (or joins the read under way). */
  refresh(serviceName: string): Promise<number | undefined> {
    const pending = this.reading.get(serviceName);
    if (pending) return pending;
    const read = this.read(serviceName).finally(() => this.reading.delete(serviceName));
    this.reading.set(serviceName, read);
    return read;
  }

  private async read(serviceName: string): Promise<number | undefined> {
    try {
      const now = this.clock.now();
      const since = new Date(now.getTime() - (this.opts.windowMs ?? 3_600_000));
      const { median } = await this.store.conversations.medianWaitSeconds(serviceName, since);
      const seconds = median === null ? undefined : Math.max(0, Math.round(median));
      this.entries.set(serviceName, { seconds, readAt: now.getTime() });
      return seconds;
    } catch (err) {
      this.log.warn({ err, serviceName }, "cannot estimate the operator wait");
      return this.entries.get(serviceName)?.seconds;
    }
  }
}
