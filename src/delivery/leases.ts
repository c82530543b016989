// Leases of the outbox rows this instance holds (issue 19: no lock outlives
// its owner). A row is claimed for `takeoverMs`; while this process lives it
// renews every row it holds every third of that, so a job may run as long as
// its own target allows (its budget, see Policy) and no other instance takes
// it meanwhile; when the process dies, renewal stops and another instance
// takes its rows over after at most `takeoverMs`. Renewal does not require
// the lease to be unexpired: after the database was away, what nobody else
// took is still ours.
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import { errorText } from "./job.js";

export interface LeaseOptions {
  owner: string;
  takeoverMs: number;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private failing = false;

  constructor(
    private readonly store: Store,
    /** Every row id this instance holds right now (running, delivered not yet deleted, waiting for a write). */
    private readonly held: () => string[],
    private readonly opts: LeaseOptions,
    private readonly log: Logger,
    /** Rows another instance took over (we lost them): their outcome here is dropped. */
    private readonly onLost: (ids: string[]) => void,
  ) {}

  get leaseMs(): number {
    return this.opts.takeoverMs;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renewNow(), Math.max(100, Math.floor(this.opts.takeoverMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing;
  }

  /** Renews now (one statement for every held row); failures are logged and tried again next period. */
  renewNow(): Promise<void> {
    this.renewing ??= this.renew().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private async renew(): Promise<void> {
    const ids = this.held();
    if (ids.length === 0) return;
    try {
      const kept = new Set(await this.store.outbox.renew(this.opts.owner, ids, this.opts.takeoverMs));
      if (this.failing) this.log.info({ rows: ids.length }, "outbox leases renewed again");
      this.failing = false;
      // Rows gone between listing and renewing (completed meanwhile) are not lost; only rows someone else holds are.
      const lost = ids.filter((id) => !kept.has(id) && this.held().includes(id));
      if (lost.length > 0) this.onLost(lost);
    } catch (err) {
      if (!this.failing) this.log.warn({ err: errorText(err), rows: ids.length }, "could not renew outbox leases; trying again");
      this.failing = true;
    }
  }
}
