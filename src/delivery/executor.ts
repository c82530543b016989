// The outbox executor (design.md rules 1–3, 7; docs/delivery.md): the one
// place where a job is claimed, run, retried and dead-lettered.
//
// - Claimed: a step's new jobs are taken by this instance in the step's own
//   statement (`mine`) and handed in with submit(); everything else (retries
//   that came due, rows that waited behind an earlier one, rows of a dead
//   instance whose lease lapsed) is claimed by the loop here. Woken by a
//   NOTIFY on outbox_enqueued (a dead letter put back through the admin API,
//   on any instance; conversation steps send none, their instance takes
//   their jobs at once), by a chain that frees rows, and every pollIntervalMs
//   (so a row that waited behind another instance's is claimed within it).
// - Run: by the handler registered for the job's type (handlers/), chains of
//   one (conversation, target) one after another in id order, chains in
//   parallel. The lease of every held row is renewed while it runs
//   (leases.ts), so nobody else runs it twice; an attempt longer than the
//   handler's budget is given up.
// - Retried: with the handler's backoff while its attempts last; the rest of
//   the chain waits behind it in the outbox, where nothing overtakes it.
// - Dead-lettered: after the last attempt, or at once when the handler says
//   the failure is final; the row moves to outbox_dead, the metric counts it
//   and the handler tells the user once.
//
// Every write of an outcome is tried until it succeeds (the database may be
// away for a while); the row stays held, so nobody waits for a lock to expire.
//
// Where no autovacuum runs (PGlite, or PostgreSQL with autovacuum off), the
// outbox, which is all churn, is vacuumed here every few seconds.
import type { Clock } from "../core/ports.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { KeyedQueue } from "../router/keyed-queue.js";
import type { Store } from "../store/index.js";
import { DeliveredRows } from "./delivered.js";
import { errorText, type Job, type JobHandler, type Outcome, type Policy } from "./job.js";
import { LeaseKeeper } from "./leases.js";

const VACUUM_EVERY_MS = 5_000;
const FLUSH_DELIVERED_MS = 50;
const WRITE_RETRY_MAX_MS = 2_000;

export interface ExecutorOptions {
  owner: string;
  pollIntervalMs: number;
  batchSize: number;
  /** Lease of a held row (renewed every third of it): a dead instance's rows are taken over after this long. */
  takeoverMs: number;
}

export interface ExecutorDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  delivered: DeliveredRows;
  options: ExecutorOptions;
}

const chainOf = (j: Job) => `${j.conversationId ?? j.id}\u0000${j.target}`;
const typeOf = (j: Job) => (typeof j.payload.type === "string" ? j.payload.type : "");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class Executor {
  private readonly handlers = new Map<string, JobHandler>();
  private readonly chains = new KeyedQueue();
  /** Chains with rows waiting behind a running one: the claim loop takes them once that one is done. */
  private readonly waiting = new Set<string>();
  /** Rows being run (or having their outcome written) here. */
  private readonly running = new Set<string>();
  private readonly leases: LeaseKeeper;
  private timer: NodeJS.Timeout | null = null;
  private vacuumTimer: NodeJS.Timeout | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private unlisten: (() => Promise<void>) | null = null;
  private claiming = false;
  private again = false;
  private stopped = true;
  private stopping = false;

  /** Jobs handed to this executor and not finished. */
  inFlight = 0;

  constructor(private readonly deps: ExecutorDeps) {
    this.leases = new LeaseKeeper(
      deps.store,
      () => this.heldIds(),
      { owner: deps.options.owner, takeoverMs: deps.options.takeoverMs },
      deps.log,
      (ids) => deps.log.warn({ rows: ids }, "outbox rows taken over by another instance while held here"),
    );
  }

  /** The handler of a job type (payload.type); one per type. */
  register(types: readonly string[], handler: JobHandler): void {
    for (const t of types) this.handlers.set(t, handler);
  }

  private heldIds(): string[] {
    return [...this.running, ...this.deps.delivered.ids()];
  }

  async start(): Promise<void> {
    const { store, log } = this.deps;
    this.stopped = false;
    this.stopping = false;
    this.unlisten = await store.outbox.onEnqueued(() => this.wake());
    this.leases.start();
    this.schedule(0);
    if (!(await store.outbox.autovacuums())) {
      if (store.db.engine === "pg") {
        log.warn(
          "autovacuum is off on this PostgreSQL server: the router vacuums its outbox itself; turn autovacuum on for the other tables",
        );
      }
      this.vacuumTimer = setInterval(() => {
        store.outbox.vacuum().catch((err: unknown) => log.warn({ err }, "outbox vacuum failed"));
      }, VACUUM_EVERY_MS);
      this.vacuumTimer.unref();
    }
  }

  /** Stops claiming; running jobs finish (see idle()), the ones not started yet are handed back. */
  async stopClaiming(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.vacuumTimer) clearInterval(this.vacuumTimer);
    this.vacuumTimer = null;
    await this.unlisten?.();
    this.unlisten = null;
  }

  /** After idle(): deletes the delivered rows, and lets go of every row still held so another instance takes it at once. */
  async close(): Promise<void> {
    await this.stopClaiming();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    await this.flushDelivered();
    await this.leases.stop();
    await this.deps.store.outbox
      .releaseOwner(this.deps.options.owner)
      .catch((err: unknown) => this.deps.log.warn({ err }, "could not release held outbox rows (they are taken over after their lease)"));
  }

  idle(): Promise<void> {
    return this.chains.idle();
  }

  /** Look at the outbox soon (coalesced). */
  wake(): void {
    if (this.stopped) return;
    if (this.claiming) this.again = true;
    else this.schedule(5);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.claim(), ms);
    this.timer.unref();
  }

  private async claim(): Promise<void> {
    this.timer = null;
    if (this.claiming || this.stopped) return;
    this.claiming = true;
    const { store, options, log } = this.deps;
    let full = false;
    try {
      const jobs = await store.outbox.claim({
        owner: options.owner,
        limit: options.batchSize,
        lockMs: options.takeoverMs,
        exclude: this.heldIds(),
      });
      full = jobs.length === options.batchSize;
      if (jobs.length > 0) {
        log.debug({ jobs: jobs.length }, "outbox rows claimed");
        this.submit(jobs.map((j) => ({ ...j, mine: true })));
      }
    } catch (err) {
      log.error({ err }, "outbox claim failed");
    } finally {
      this.claiming = false;
    }
    const soon = full || this.again;
    this.again = false;
    this.schedule(soon ? 5 : options.pollIntervalMs);
  }

  /** Runs the jobs this instance holds (`mine`), chain by chain; the others are left for the claim loop. */
  submit(jobs: readonly Job[]): void {
    const groups = new Map<string, Job[]>();
    for (const j of jobs) {
      const chain = chainOf(j);
      if (j.mine === false) {
        this.waiting.add(chain);
        continue;
      }
      this.running.add(j.id);
      const group = groups.get(chain);
      if (group) group.push(j);
      else groups.set(chain, [j]);
    }
    if (groups.size === 0 && jobs.length > 0) this.wake();
    for (const [chain, group] of groups) {
      this.inFlight += group.length;
      void this.chains
        .run(chain, () => this.runChain(group))
        .catch((err: unknown) => this.deps.log.error({ err }, "job chain failed"))
        .finally(async () => {
          this.inFlight -= group.length;
          for (const j of group) this.running.delete(j.id);
          // Rows that waited behind this chain are free now (once its delivered rows are gone): claim them at once.
          if (this.waiting.delete(chain)) {
            if (group[0]?.conversationId) await this.flushDelivered(group[0].conversationId);
            this.wake();
          }
        });
    }
  }

  private async runChain(group: Job[]): Promise<void> {
    for (let i = 0; i < group.length; i++) {
      const job = group[i]!;
      if (this.stopping) {
        await this.handBack(group.slice(i), "router stopping");
        return;
      }
      const handler = this.handlers.get(typeOf(job));
      if (!handler) {
        await this.deadLetter(job, undefined, `no handler for job type "${typeOf(job)}"`);
        this.running.delete(job.id);
        continue;
      }
      const policy = await handler.policy(job);
      const outcome = await this.attempt(handler, job, policy);
      const held = await this.settle(handler, job, policy, outcome);
      this.running.delete(job.id);
      if (held) {
        // The rest of the chain waits behind it in the outbox.
        await this.handBack(group.slice(i + 1), `waiting behind ${job.id}`);
        return;
      }
    }
  }

  /** One attempt, bounded by the handler's budget; a throw is a failure that may be retried. */
  private async attempt(handler: JobHandler, job: Job, policy: Policy): Promise<Outcome> {
    let timer: NodeJS.Timeout | undefined;
    const run = handler.run(job).catch((err: unknown): Outcome => {
      this.deps.log.error({ err, job: job.idempotencyKey }, "job failed unexpectedly");
      return { status: "retry", error: errorText(err) };
    });
    if (policy.budgetMs === null) return run;
    const overrun = new Promise<Outcome>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: "retry", error: `no outcome within its budget of ${policy.budgetMs} ms` }),
        policy.budgetMs!,
      );
      timer.unref();
    });
    try {
      return await Promise.race([run, overrun]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Writes the outcome; true when the row stays in the outbox for a later attempt (its chain waits behind it). */
  private async settle(handler: JobHandler, job: Job, policy: Policy, outcome: Outcome): Promise<boolean> {
    const { store, clock, delivered } = this.deps;
    switch (outcome.status) {
      case "done":
        if (!outcome.completed) await this.durably("outbox complete", () => store.outbox.complete(job.id));
        if (outcome.jobs?.length) this.submit(outcome.jobs);
        return false;
      case "sent":
        this.deps.metrics.stanzasOut.inc({ type: typeof job.payload.kind === "string" ? job.payload.kind : "client" });
        if (job.conversationId) {
          delivered.add(job.conversationId, job.id);
          this.scheduleFlush(FLUSH_DELIVERED_MS);
        } else {
          await this.durably("outbox complete", () => store.outbox.complete(job.id));
        }
        return false;
      case "failed":
        await this.deadLetter(job, handler, outcome.error);
        return false;
      case "retry": {
        if (outcome.jobs?.length) this.submit(outcome.jobs);
        if (job.attempts >= policy.attempts) {
          await this.deadLetter(job, handler, outcome.error);
          return false;
        }
        const at = new Date(clock.now().getTime() + policy.backoffMs(job.attempts));
        this.deps.log.info({ job: job.idempotencyKey, attempt: job.attempts, err: outcome.error }, "delivery failed; retrying later");
        await this.durably("outbox retry", () => store.outbox.retry(job.id, outcome.error, at));
        this.wake();
        return true;
      }
    }
  }

  private async deadLetter(job: Job, handler: JobHandler | undefined, error: string): Promise<void> {
    const { store, log, metrics } = this.deps;
    const moved = await this.durably("outbox dead letter", () => store.outbox.deadLetter(job.id, error));
    if (!moved) return;
    metrics.deadLetters.inc({ target: job.target });
    log.warn({ job: job.idempotencyKey, target: job.target, attempts: job.attempts, err: error }, "delivery failed for good: dead letter");
    if (!handler?.deadLettered) return;
    try {
      this.submit(await handler.deadLettered(job, error));
    } catch (err) {
      log.error({ err, job: job.idempotencyKey }, "could not tell the user of a dead letter");
    }
  }

  /** Hands rows not run back to the outbox, due now, so nothing overtakes them. */
  private async handBack(jobs: readonly Job[], why: string): Promise<void> {
    const now = this.deps.clock.now();
    for (const j of jobs) {
      await this.durably("outbox retry", () => this.deps.store.outbox.retry(j.id, why, now));
      this.running.delete(j.id);
    }
    if (jobs.length > 0) this.wake();
  }

  /** Runs a write until it succeeds (the database may be away), unless the executor is closed. */
  private async durably<T>(what: string, write: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await write();
      } catch (err) {
        if (this.stopping && n >= 3) throw err;
        if (n === 0) this.deps.log.warn({ err: errorText(err) }, `${what} failed; trying again`);
        await sleep(Math.min(WRITE_RETRY_MAX_MS, 100 * 2 ** n));
      }
    }
  }

  private scheduleFlush(ms: number): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushDelivered();
    }, ms);
    this.flushTimer.unref();
  }

  /** Deletes delivered rows now (of one conversation, or all); on failure they stay held and are tried again. */
  async flushDelivered(conversationId?: string): Promise<void> {
    const { delivered, store, log } = this.deps;
    const taken = conversationId ? new Map([[conversationId, delivered.take(conversationId)]]) : delivered.takeAll();
    const ids = [...taken.values()].flat();
    if (ids.length === 0) return;
    try {
      await store.outbox.completeMany(ids);
    } catch (err) {
      log.warn({ err: errorText(err), rows: ids.length }, "could not delete delivered outbox rows; trying again");
      for (const [id, rows] of taken) delivered.giveBack(id, rows);
      if (!this.stopping) this.scheduleFlush(500);
    }
  }
}
