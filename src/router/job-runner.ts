// Runs outbox jobs (design.md rules 1–3, 7). Jobs of one (conversation,
// target) chain run one after another in id order; when one fails it is
// rescheduled with backoff and the rest of its chain is handed back to the
// outbox, where nothing overtakes it. Chains run in parallel.
//
// A delivered stanza's row is not deleted on its own: the deletion rides on
// the conversation's next step (one statement), or on a batch every 50 ms.
// Until then the row stays locked by this instance; after a crash it is sent
// again, with the same stanza id, so clients can drop the repeat.
import { parse } from "ltx";
import axios from "axios";
import type { Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import type { BotReply } from "../core/bot.js";
import type { Conversation } from "../core/model.js";
import type { BotPort, Clock, OperatorPort } from "../core/ports.js";
import type { Logger } from "../log.js";
import { keyRingFrom } from "../security/keyring.js";
import type { Metrics } from "../metrics.js";
import type { OutboxItem, Store } from "../store/index.js";
import type { ConversationService, RunnableJob } from "./conversation-service.js";
import type { DirectoryCache } from "./directory-cache.js";
import type { JobPayload } from "./jobs.js";
import { KeyedQueue } from "./keyed-queue.js";

export interface JobRunnerDeps {
  store: Store;
  service: () => ConversationService;
  directory: DirectoryCache;
  send: (stanza: Element) => Promise<void>;
  bot: BotPort;
  operator: OperatorPort | null;
  config: Config;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** Called when rows were handed back to the outbox, so the worker looks again soon. */
  wakeWorker: () => void;
}

const chainOf = (j: OutboxItem) => `${j.conversationId ?? j.id}\u0000${j.target}`;

/** Job outcome: done (row deleted), or retry at a time (row kept). */
type Outcome = { done: true } | { done: false; error: string; retryInMs: number };

const DONE: Outcome = { done: true };

/** Genesys calls that fail are retried this many times before the user is told. */
const GENESYS_ATTEMPTS = 3;

export class JobRunner {
  private readonly chains = new KeyedQueue();
  /** Chains with rows enqueued behind a running one: the worker takes them once that one is done. */
  private readonly waiting = new Set<string>();
  /** Conversation id → rows delivered and not deleted yet. */
  private readonly delivered = new Map<string, string[]>();
  private flushTimer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(private readonly deps: JobRunnerDeps) {}

  /** Jobs handed to this runner and not finished. */
  inFlight = 0;

  idle(): Promise<void> {
    return this.chains.idle();
  }

  stop(): void {
    this.stopping = true;
  }

  /** The delivered rows of a conversation, for its next step to delete (give them back if it fails). */
  takeDelivered(conversationId: string): string[] {
    const ids = this.delivered.get(conversationId) ?? [];
    this.delivered.delete(conversationId);
    return ids;
  }

  giveBackDelivered(conversationId: string, ids: string[]): void {
    if (ids.length === 0) return;
    this.delivered.set(conversationId, [...ids, ...(this.delivered.get(conversationId) ?? [])]);
    this.scheduleFlush();
  }

  /** Deletes every delivered row now (also at stop). */
  async flushDelivered(conversationId?: string): Promise<void> {
    const ids = conversationId ? this.takeDelivered(conversationId) : [...this.delivered.values()].flat();
    if (!conversationId) this.delivered.clear();
    if (ids.length === 0) return;
    try {
      await this.deps.store.outbox.completeMany(ids);
    } catch (err) {
      // Not lost: they are sent again after their lock expires, with the same stanza ids.
      this.deps.log.warn({ err, rows: ids.length }, "could not delete delivered outbox rows");
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      void this.flushDelivered();
    }, 50);
    this.flushTimer.unref();
  }

  /** Rows left for the worker because an earlier row of their chain is running here. */
  noteWaiting(jobs: OutboxItem[]): void {
    for (const j of jobs) this.waiting.add(chainOf(j));
    this.deps.wakeWorker();
  }

  /** Runs the given rows (held by this instance), chain by chain. */
  submit(jobs: RunnableJob[]): void {
    const groups = new Map<string, RunnableJob[]>();
    for (const j of jobs) {
      const chain = chainOf(j);
      const group = groups.get(chain);
      if (group) group.push(j);
      else groups.set(chain, [j]);
    }
    for (const [chain, group] of groups) {
      this.inFlight += group.length;
      void this.chains
        .run(chain, () => this.runChain(group))
        .catch((err: unknown) => this.deps.log.error({ err }, "job chain failed"))
        .finally(async () => {
          this.inFlight -= group.length;
          // Rows that waited behind this chain's are free now (once its delivered rows are gone): the worker takes them at once.
          if (this.waiting.delete(chain)) {
            if (group[0]?.conversationId) await this.flushDelivered(group[0].conversationId);
            this.deps.wakeWorker();
          }
        });
    }
  }

  private backoff(attempts: number): number {
    const { backoffBaseMs, backoffMaxMs } = this.deps.config.outbox;
    return Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.max(0, attempts - 1));
  }

  private async runChain(group: RunnableJob[]): Promise<void> {
    const { store } = this.deps;
    for (let i = 0; i < group.length; i++) {
      const item = group[i]!;
      let outcome: Outcome;
      if (this.stopping) {
        outcome = { done: false, error: "router stopping", retryInMs: 0 };
      } else {
        try {
          outcome = await this.execute(item);
        } catch (err) {
          this.deps.log.error({ err, job: item.idempotencyKey }, "job failed unexpectedly");
          outcome = { done: false, error: err instanceof Error ? err.message : String(err), retryInMs: this.backoff(item.attempts) };
        }
      }
      if (outcome.done) continue;
      const now = this.deps.clock.now().getTime();
      await store.outbox.retry(item.id, outcome.error, new Date(now + outcome.retryInMs));
      // The rest of the chain waits behind it in the outbox.
      for (const later of group.slice(i + 1)) await store.outbox.retry(later.id, `waiting behind ${item.id}`, new Date(now));
      this.deps.wakeWorker();
      return;
    }
  }

  private async execute(item: RunnableJob): Promise<Outcome> {
    const payload = item.payload as JobPayload;
    switch (payload.type) {
      case "send_client":
        return this.sendClient(item, payload);
      case "call_bot":
        return this.callBot(item, payload);
      case "request_operator":
      case "send_operator":
      case "disconnect_operator":
      case "submit_vote":
        return this.operatorJob(item, payload);
      default:
        this.deps.log.error({ job: item.idempotencyKey }, "unknown job type: dropped");
        await this.deps.store.outbox.complete(item.id);
        return DONE;
    }
  }

  private async sendClient(item: RunnableJob, payload: Extract<JobPayload, { type: "send_client" }>): Promise<Outcome> {
    try {
      await this.deps.send(item.stanza ?? parse(payload.xml));
    } catch (err) {
      // Offline with a full queue, or stopping: try again later, in order.
      return { done: false, error: err instanceof Error ? err.message : String(err), retryInMs: this.backoff(item.attempts) };
    }
    this.deps.metrics.stanzasOut.inc({ type: payload.kind });
    if (item.conversationId) {
      const list = this.delivered.get(item.conversationId);
      if (list) list.push(item.id);
      else this.delivered.set(item.conversationId, [item.id]);
      this.scheduleFlush();
    } else {
      await this.deps.store.outbox.complete(item.id);
    }
    return DONE;
  }

  private async callBot(item: OutboxItem, payload: Extract<JobPayload, { type: "call_bot" }>): Promise<Outcome> {
    const { directory, store, log } = this.deps;
    const conversationId = item.conversationId!;
    const bot = (await directory.get()).channels.get(payload.channel)?.route?.bot;
    if (!bot) {
      log.warn({ conversationId, channel: payload.channel }, "channel has no bot any more: message not sent to a bot");
      await store.outbox.complete(item.id);
      return DONE;
    }
    let replies: BotReply[];
    try {
      replies = await this.deps.bot.send(bot.url, payload.request, {
        ...(bot.timeoutMs ? { timeoutMs: bot.timeoutMs } : {}),
        ...(bot.secret ? { secret: bot.secret } : {}),
      });
    } catch (err) {
      this.deps.metrics.errors.inc({ code: "BOT_UNAVAILABLE" });
      if (item.attempts <= 1) {
        // backends.md section 1: the user is told once; the message stays queued.
        await this.deps
          .service()
          .tell(conversationId, { kind: "notice", code: "ROUTER_BOT_UNAVAILABLE#0001" }, `${item.idempotencyKey}/unavailable`);
      }
      return { done: false, error: err instanceof Error ? err.message : String(err), retryInMs: this.backoff(item.attempts) };
    }
    await this.deps
      .service()
      .apply(conversationId, { type: "bot_replied", replies, cause: payload.request.metadata.event }, `bot:${item.idempotencyKey}`, {
        completeJob: item.id,
      });
    return DONE;
  }

  private async operatorJob(
    item: OutboxItem,
    payload: Extract<JobPayload, { type: "request_operator" | "send_operator" | "disconnect_operator" | "submit_vote" }>,
  ): Promise<Outcome> {
    const { store, log } = this.deps;
    const service = this.deps.service();
    const conversationId = item.conversationId!;
    const c = await service.get(conversationId);
    const episode = c?.episode;
    if (!c || !episode || episode.uuid !== payload.episodeUuid) {
      await store.outbox.complete(item.id);
      return DONE;
    }
    const operator = this.deps.operator;
    try {
      if (!operator) throw new Error("no operator service is configured");
      switch (payload.type) {
        case "request_operator": {
          if (episode.endedAt) break;
          const ids = await operator.requestChat(await this.chatRequest(c, payload));
          const { nextPosition, ...chat } = ids;
          await service.apply(
            conversationId,
            { type: "operator_accepted", episodeUuid: episode.uuid, chat },
            `acc:${item.idempotencyKey}`,
            {
              completeJob: item.id,
              patch: (next) => {
                if (next.episode?.uuid === episode.uuid) next.episode.transcriptPosition = nextPosition;
              },
            },
          );
          return DONE;
        }
        case "send_operator":
          if (episode.endedAt) break;
          if (!episode.chat) return { done: false, error: "chat not accepted yet", retryInMs: this.backoff(item.attempts) };
          await operator.send(episode.serviceName, episode.chat, payload.text);
          break;
        case "disconnect_operator":
          if (episode.chat) await operator.disconnect(episode.serviceName, episode.chat);
          break;
        case "submit_vote":
          await this.submitVote(c, payload.text, operator);
          break;
      }
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      // A refusal that a retry will not change (statusCode 2, a 4xx, the chat ended) is final at once.
      const final = (err as { transient?: boolean }).transient === false;
      if (!final && item.attempts < GENESYS_ATTEMPTS)
        return { done: false, error, retryInMs: Math.min(this.backoff(item.attempts), 5_000) };
      log.warn({ conversationId, job: payload.type, err: error }, "operator call failed for good");
      if (payload.type === "request_operator") {
        await service.apply(
          conversationId,
          { type: "operator_request_failed", episodeUuid: episode.uuid, reason: error },
          `reqfail:${item.idempotencyKey}`,
          {
            completeJob: item.id,
          },
        );
        return DONE;
      }
      if (payload.type !== "disconnect_operator") {
        await service.tell(conversationId, { kind: "notice", code: "GENESYS_ERROR#0001" }, `${item.idempotencyKey}/failed`, episode.uuid);
      }
    }
    await store.outbox.complete(item.id);
    return DONE;
  }

  /** backends.md section 2: nickname, subject and userData, with the bot transcript. No raw MSISDN leaves the router. */
  private async chatRequest(c: Conversation, payload: Extract<JobPayload, { type: "request_operator" }>) {
    const { store, config } = this.deps;
    const transcript = await store.messages.transcript(c.id, 50);
    const user = c.msisdn ? await store.users.get(c.msisdn) : null;
    const lines = transcript
      .filter((m) => m.text)
      .map((m) => `${m.direction === "in" ? "user" : m.author}: ${m.text}`)
      .join("\n");
    return {
      serviceName: payload.serviceName,
      nickname: user?.name ?? config.genesys.nickname,
      subject: payload.handoff.reason ?? c.chatTitle,
      userData: {
        ...payload.handoff.userData,
        msisdnHash: c.msisdn ? keyRingFrom(config.security.secretKey).msisdnHash(c.msisdn) : "", // keyed: not reversible by enumeration
        channel: c.channel,
        chatTitle: c.chatTitle,
        os: c.os ?? "",
        appVersion: c.appVersion ?? "",
        premium: String(c.premium),
        conversationId: c.id,
        episodeUuid: payload.episodeUuid,
        botTranscript: lines,
      },
    };
  }

  private async submitVote(c: Conversation, text: string, operator: OperatorPort): Promise<void> {
    const episode = c.episode!;
    const { surveyUrl } = this.deps.config.voting;
    if (surveyUrl) {
      await axios.post(
        surveyUrl,
        { conversationId: c.id, episodeUuid: episode.uuid, channel: c.channel, vote: text, at: this.deps.clock.now().toISOString() },
        { timeout: this.deps.config.genesys.requestTimeoutMs },
      );
      return;
    }
    if (!episode.chat) throw new Error("the episode has no Genesys chat to vote on");
    await operator.updateData(episode.serviceName, episode.chat, { vote: text, voteAt: this.deps.clock.now().toISOString() });
  }
}
