// Keeps every open operator episode alive and listened to (backends.md
// section 2): polls Genesys for each one, at least every pollIntervalMs, on
// exactly one instance (a lease in the database, design.md rule 4). The
// transcript position is saved in the same transaction as what its events
// caused, so a restart neither replays nor skips an index (rule 2). Each
// round also ticks the conversations it holds, for the idle and queue
// timeouts and the delayed queue notices.
//
// No lease outlives its owner (issue 19): the leases held are renewed every
// third of leaseMs on a timer of their own, so a slow round (Genesys at its
// request timeout) does not lose them, and an instance that died stops
// renewing: another one takes its episodes over after at most leaseMs (plus
// one poll interval).
//
// Push mode (genesys.push, adapters/genesys/gms-push.ts): GMS' push about an
// episode only wakes its poll (wake()); what the push said is not used, so
// every index is still handled once, here. Once a push has come for an
// episode, its refresh waits for the next push or genesys.pushKeepAliveMs,
// whichever comes first: a lost push costs at most that delay. The polls of
// one conversation never overlap (a wake during a round's poll runs after it).
import type { OperatorEvent } from "../core/events.js";
import type { Conversation } from "../core/model.js";
import type { Clock, OperatorPort } from "../core/ports.js";
import type { Logger } from "../log.js";
import type { Job } from "../delivery/job.js";
import type { Store } from "../store/index.js";
import type { ConversationService } from "./conversation-service.js";

export interface OperatorPollerOptions {
  owner: string;
  pollIntervalMs: number;
  leaseMs: number;
  /** Polls failing in a row (HTTP errors, timeouts) before the episode is given up with GENESYS#0001. */
  maxFailures: number;
  /** Episodes polled at once. */
  concurrency: number;
  /** Push mode: an episode GMS has pushed for is refreshed when woken, else this often; unset: every round. */
  keepAliveMs?: number;
}

export class OperatorPoller {
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private stopped = true;
  private round: Promise<void> | null = null;
  /** Conversation id → polls failed in a row. */
  private readonly failures = new Map<string, number>();
  private readonly held = new Set<string>();
  /** Conversation id → when the user was last told of a non-fatal Genesys error. */
  private readonly warnedAt = new Map<string, number>();
  /** Conversation id → its poll running now; `again`: one more was asked for meanwhile. */
  private readonly lanes = new Map<string, { again: boolean; done: Promise<void> }>();
  /** Push mode: conversation id → the episode GMS has pushed for; its last refresh; woken since. */
  private readonly pushed = new Map<string, string>();
  private readonly refreshedAt = new Map<string, number>();
  private readonly woken = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly service: ConversationService,
    private readonly operator: OperatorPort,
    private readonly clock: Clock,
    private readonly opts: OperatorPollerOptions,
    private readonly log: Logger,
    /** Hands a step's jobs to the delivery executor. */
    private readonly deliver: (jobs: readonly Job[]) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
    this.renewTimer = setInterval(() => void this.renewHeld(), Math.max(100, Math.floor(this.opts.leaseMs / 3)));
    this.renewTimer.unref();
  }

  /** Stops polling and gives the leases back, so another instance takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = null;
    await Promise.all([this.round, this.renewing, ...[...this.lanes.values()].map((l) => l.done)]);
    for (const id of this.held) await this.store.conversations.releaseLease(id, this.opts.owner).catch(() => undefined);
    this.held.clear();
  }

  /** Runs one round now (tests, and after a handover so the first poll is not a full interval late). */
  pollNow(): Promise<void> {
    if (!this.round) this.round = this.pollAll().finally(() => (this.round = null));
    return this.round;
  }

  /**
   * GMS pushed for this episode (push mode): refresh it now, on whichever
   * instance holds it (each gets the wake: router/push-wake.ts), and from now
   * on at the keep-alive pace between pushes.
   */
  wake(conversationId: string, episodeUuid: string): Promise<void> {
    if (this.stopped || this.opts.keepAliveMs === undefined) return Promise.resolve();
    this.pushed.set(conversationId, episodeUuid);
    this.woken.add(conversationId);
    return this.pollSerial(conversationId);
  }

  /** Extends every lease held; one another instance took meanwhile (ours had lapsed) is no longer ours. */
  private renewHeld(): Promise<void> {
    this.renewing ??= (async () => {
      for (const id of [...this.held]) {
        if (this.stopped) return;
        const kept = await this.store.conversations.acquireLease(id, this.opts.owner, this.opts.leaseMs).catch((err: unknown) => {
          this.log.warn({ err, conversationId: id }, "could not renew an operator lease; trying again");
          return true; // unknown: keep it, the next round or renewal tells
        });
        if (!kept) this.held.delete(id);
      }
    })().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.pollNow().finally(() => this.schedule(this.opts.pollIntervalMs));
    }, ms);
    this.timer.unref();
  }

  private async pollAll(): Promise<void> {
    let open: Conversation[];
    try {
      open = await this.store.conversations.withOpenEpisodes();
    } catch (err) {
      this.log.error({ err }, "cannot list open operator episodes");
      return;
    }
    const openIds = new Set(open.map((c) => c.id));
    for (const id of this.held) if (!openIds.has(id)) this.held.delete(id); // episode over: let its lease lapse
    for (const id of this.pushed.keys()) if (!openIds.has(id)) this.forgetPush(id);
    const queue = [...open];
    const worker = async () => {
      for (let c = queue.shift(); c && !this.stopped; c = queue.shift()) await this.pollSerial(c.id, c);
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
  }

  /**
   * Polls one conversation, never two polls of it at once: asked while one
   * runs, it polls once more after it, on a fresh read (the first one moved
   * the transcript position); asks made meanwhile share that one.
   */
  private pollSerial(id: string, c?: Conversation): Promise<void> {
    const running = this.lanes.get(id);
    if (running) {
      running.again = true;
      return running.done;
    }
    const lane = { again: false, done: Promise.resolve() };
    this.lanes.set(id, lane);
    lane.done = (async () => {
      let next: Conversation | null | undefined = c;
      try {
        do {
          lane.again = false;
          next ??= await this.store.conversations.get(id);
          if (!next || this.stopped) return;
          await this.pollOne(next);
          next = undefined;
        } while (lane.again && !this.stopped);
      } catch (err) {
        this.log.error({ err, conversationId: id }, "operator poll failed");
      } finally {
        this.lanes.delete(id);
      }
    })();
    return lane.done;
  }

  /** Whether this poll refreshes: always without push; in push mode when woken or the keep-alive is due. */
  private refreshDue(id: string, episodeUuid: string): boolean {
    const keepAlive = this.opts.keepAliveMs;
    if (keepAlive === undefined || this.pushed.get(id) !== episodeUuid) return true;
    const now = this.clock.now().getTime();
    if (!this.woken.has(id) && now - (this.refreshedAt.get(id) ?? 0) < keepAlive) return false;
    this.woken.delete(id);
    this.refreshedAt.set(id, now);
    return true;
  }

  private forgetPush(id: string): void {
    this.pushed.delete(id);
    this.refreshedAt.delete(id);
    this.woken.delete(id);
  }

  private async pollOne(c: Conversation): Promise<void> {
    const ep = c.episode;
    if (!(await this.store.conversations.acquireLease(c.id, this.opts.owner, this.opts.leaseMs))) {
      this.held.delete(c.id);
      return; // another instance polls it
    }
    this.held.add(c.id);
    if (ep?.chat && !ep.endedAt && this.refreshDue(c.id, ep.uuid)) {
      let events: OperatorEvent[] = [];
      let nextPosition = ep.transcriptPosition;
      let alias: string | undefined;
      try {
        const poll = await this.operator.refresh(ep.serviceName, ep.chat, ep.transcriptPosition);
        events = poll.events;
        nextPosition = poll.nextPosition;
        alias = poll.alias;
        this.failures.delete(c.id);
      } catch (err) {
        const n = (this.failures.get(c.id) ?? 0) + 1;
        this.failures.set(c.id, n);
        const message = err instanceof Error ? err.message : String(err);
        this.log.warn({ conversationId: c.id, failures: n, err: message }, "Genesys poll failed");
        // The user hears of it once; when Genesys stays unreachable the episode ends (GENESYS#0001).
        if (n === 1) events = [{ kind: "error", fatal: false, message }];
        else if (n >= this.opts.maxFailures) events = [{ kind: "error", fatal: true, message }];
      }
      events = this.withoutRepeatedWarnings(c.id, events);
      if (events.length > 0 || nextPosition !== ep.transcriptPosition || alias !== undefined) {
        const { jobs } = await this.service.apply(
          c.id,
          { type: "operator_update", episodeUuid: ep.uuid, events },
          `op:${ep.uuid}:${ep.transcriptPosition}:${this.failures.get(c.id) ?? 0}`,
          {
            patch: (next) => {
              if (next.episode?.uuid !== ep.uuid) return;
              next.episode.transcriptPosition = Math.max(next.episode.transcriptPosition, nextPosition);
              // backends.md section 2: the alias GMS answered last is the one later calls carry.
              if (alias !== undefined && next.episode.chat) next.episode.chat.alias = alias;
            },
          },
        );
        this.deliver(jobs);
      }
      if ((this.failures.get(c.id) ?? 0) >= this.opts.maxFailures) this.failures.delete(c.id);
    }
    this.deliver((await this.service.apply(c.id, { type: "tick" }, `tick:${c.id}:${this.clock.now().getTime()}`)).jobs);
  }

  /** A non-fatal error repeats on every poll while it lasts: GENESYS_ERROR#0001 at most once a minute. */
  private withoutRepeatedWarnings(conversationId: string, events: OperatorEvent[]): OperatorEvent[] {
    const now = this.clock.now().getTime();
    return events.filter((e) => {
      if (e.kind !== "error" || e.fatal) return true;
      const last = this.warnedAt.get(conversationId);
      if (last !== undefined && now - last < 60_000) return false;
      this.warnedAt.set(conversationId, now);
      return true;
    });
  }
}
