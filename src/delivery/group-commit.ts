// Group commit (issue 14): conversation steps that are ready at the same time
// are written in one transaction, so many messages share one commit. Batches
// form by themselves: a step that finds no writer busy is written at once,
// alone (no timer, no added latency when the router is idle); steps that
// arrive while a batch commits gather, and the writer takes them all next.
// Another writer starts only when `crowd` steps are waiting: with a free
// writer for every few steps, batches stayed at two or three steps
// (0.3–0.7 commits per message at 100 in flight, issue 14); with one writer
// only, a step could wait behind a whole batch of a hundred. A step's promise resolves only once its transaction committed,
// so receipts and routing still follow durability (design.md rule 1).
//
// A batch whose transaction fails (one bad step aborts it, or the commit
// itself fails) is rolled back whole and each of its steps is written again
// alone, so one bad step sinks only itself. Every step must therefore be safe
// to run again after a rollback, which a step is: nothing of it stays.
import type { Logger } from "../log.js";
import type { Store, TransactionStore } from "../store/index.js";
import { errorText } from "./job.js";

export type Unit<R> = (tx: TransactionStore) => Promise<R>;

export interface GroupCommitOptions {
  /** Transactions in flight at once (each on its own pool connection). */
  writers: number;
  /** Steps in one transaction at most. */
  maxBatch: number;
  /** Steps waiting that start another writer (when fewer than `writers` are busy). */
  crowd?: number;
}

interface Pending {
  unit: Unit<unknown>;
  atomic: boolean;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class GroupCommit {
  private readonly pending: Pending[] = [];
  private busy = 0;
  /** Transactions committed, and steps written in them (for the benchmark's commits per message). */
  readonly stats = { transactions: 0, steps: 0, failedBatches: 0 };

  constructor(
    private readonly store: Store,
    private readonly opts: GroupCommitOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Runs `unit` in a transaction shared with whatever other steps are ready; resolves once committed.
   * A unit that is one statement (`atomic` false) and finds nothing to share with runs without BEGIN/COMMIT.
   */
  run<R>(unit: Unit<R>, atomic = true): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ unit, atomic, resolve: resolve, reject });
      if (this.busy === 0 || (this.busy < this.opts.writers && this.pending.length >= (this.opts.crowd ?? 16))) void this.write();
    });
  }

  private async write(): Promise<void> {
    this.busy++;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.opts.maxBatch);
        if (batch.length === 1) await this.alone(batch[0]!);
        else await this.together(batch);
      }
    } finally {
      this.busy--;
    }
  }

  private async alone(p: Pending): Promise<void> {
    try {
      // A Store is a TransactionStore whose statements commit one by one.
      const value = p.atomic ? await this.store.transaction(p.unit) : await p.unit(this.store);
      this.count(1);
      p.resolve(value);
    } catch (err) {
      p.reject(err);
    }
  }

  private async together(batch: Pending[]): Promise<void> {
    let values: unknown[];
    try {
      values = await this.store.transaction(async (tx) => {
        const out: unknown[] = [];
        for (const p of batch) out.push(await p.unit(tx));
        return out;
      });
    } catch (err) {
      this.stats.failedBatches++;
      this.log.debug({ steps: batch.length, err: errorText(err) }, "a batch of steps failed; writing each alone");
      for (const p of batch) await this.alone(p);
      return;
    }
    this.count(batch.length);
    batch.forEach((p, i) => p.resolve(values[i]));
  }

  private count(steps: number): void {
    this.stats.transactions++;
    this.stats.steps += steps;
  }
}
