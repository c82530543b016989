// The imperative shell around the core: for one conversation at a time (a
// keyed queue, design.md rule 3) it loads the conversation, lets the core
// decide, and commits in one transaction the inbound message, the new state
// and the outbox jobs for the effects (rule 1). Jobs nobody waits behind are
// handed straight to the job runner; the rest wait for the outbox worker.
// A concurrent update from another instance is met by reloading and deciding again.
import { isDeepStrictEqual } from "node:util";
import type { Element } from "@xmpp/xml";
import NodeCache from "node-cache";
import type { Config } from "../config/schema.js";
import {
  decide,
  newConversation,
  withClientMeta,
  type ClientMeta,
  type ConversationKey,
  type Decision,
  type DecideContext,
} from "../core/conversation.js";
import type { ClientMessage } from "../core/client-message.js";
import type { Effect } from "../core/effects.js";
import type { ConversationEvent } from "../core/events.js";
import type { Addressing, Conversation } from "../core/model.js";
import type { Clock } from "../core/ports.js";
import type { Logger } from "../log.js";
import {
  ConcurrentUpdateError,
  isConcurrentUpdate,
  type EnqueuedItem,
  type NewOutboxItem,
  type OutboxItem,
  type Step,
  type Store,
} from "../store/index.js";
import { encodeClientMessage } from "./client-encoder.js";
import type { DirectoryCache } from "./directory-cache.js";
import { botRequest, job, stanzaIdFor } from "./jobs.js";
import { KeyedQueue } from "./keyed-queue.js";

/** Effects that are not worth a durable job: a typing hint is stale in seconds. */
export interface EphemeralEffects {
  sendToClient(stanza: Element): Promise<void>;
  operatorTyping(c: Conversation, episodeUuid: string, typing: boolean): Promise<void>;
}

export interface InboundInput {
  key: ConversationKey;
  msisdn: string | null;
  addressing: Addressing;
  /** What this message says about the client; left-out fields keep their stored value. */
  meta: Partial<ClientMeta> & Pick<ClientMeta, "apiVersion" | "lang">;
  event: Extract<ConversationEvent, { type: "user_text" | "user_notice" }>;
  /** The message as stored (payload without the token). */
  message: { sender: string; dedupeKey: string | null; kind: string; text: string | null; payload: Record<string, unknown> | null };
}

export type ReceiveResult =
  | { status: "accepted"; conversation: Conversation }
  | { status: "duplicate"; conversation: Conversation }
  | { status: "refused"; refusal: NonNullable<Decision["refusal"]> };

export interface ApplyHooks {
  /** An outbox job this event completes, deleted in the same transaction. */
  completeJob?: string;
  /** A change the shell makes beside the core's (e.g. the Genesys transcript position). */
  patch?: (c: Conversation) => void;
}

export interface ConversationServiceDeps {
  store: Store;
  directory: DirectoryCache;
  config: Config;
  clock: Clock;
  log: Logger;
  newUuid: () => string;
  /** This instance, as owner of the outbox rows it runs itself. */
  owner: string;
  ephemeral: EphemeralEffects;
  /** Rows of the conversation already delivered: deleted by its next step (given back if that fails). */
  takeDelivered: (conversationId: string) => string[];
  giveBackDelivered: (conversationId: string, ids: string[]) => void;
  /** Receives the jobs written by each commit (`mine`: held by this instance, to run now). */
  runJobs: (jobs: (EnqueuedItem & RunnableJob)[]) => void;
}

const MAX_CONFLICT_RETRIES = 5;

/** A job as the runner takes it: a client job built here carries its stanza, so it is not parsed back. */
export type RunnableJob = OutboxItem & { stanza?: Element };

function withStanzas<J extends OutboxItem>(jobs: J[], stanzas: Map<string, Element>): (J & RunnableJob)[] {
  return jobs.map((j) => {
    const stanza = stanzas.get(j.idempotencyKey);
    return stanza ? { ...j, stanza } : j;
  });
}

function isEphemeral(e: Effect): boolean {
  return e.type === "operator_typing" || (e.type === "send_client" && e.message.kind === "chat_state");
}

/** Metadata of a new conversation: what the first message left out takes its default. */
function fullMeta(m: InboundInput["meta"]): ClientMeta {
  return {
    apiVersion: m.apiVersion,
    lang: m.lang,
    os: m.os ?? null,
    appVersion: m.appVersion ?? null,
    premium: m.premium ?? false,
    useChatDynamic: m.useChatDynamic ?? false,
    plain: m.plain ?? false,
    clientThread: m.clientThread ?? null,
  };
}

export class ConversationService {
  private readonly queue = new KeyedQueue();
  /** Conversations by id; the database is the truth (a save checks the version). */
  private readonly cache = new NodeCache({ stdTTL: 600, checkperiod: 120, useClones: false });
  private readonly idsByKey = new NodeCache({ stdTTL: 600, checkperiod: 120, useClones: false });

  constructor(private readonly deps: ConversationServiceDeps) {}

  /** Conversations with work queued or running. */
  get busy(): number {
    return this.queue.size;
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private context(route: DecideContext["route"]): DecideContext {
    const { config, clock, newUuid } = this.deps;
    return {
      now: clock.now(),
      route,
      operatorsAvailable: !!config.genesys.url,
      timing: {
        idleTimeoutMs: config.genesys.idleTimeoutMs,
        queueTimeoutMs: config.genesys.queueTimeoutMs,
        queuedNoticeIntervalMs: config.genesys.queuedNoticeIntervalMs,
        votingWindowMs: config.voting.windowMs,
      },
      newUuid,
    };
  }

  private async routeOf(channel: string) {
    return (await this.deps.directory.get()).channels.get(channel)?.route ?? null;
  }

  private async load(id: string): Promise<Conversation | null> {
    const cached = this.cache.get<Conversation>(id);
    if (cached) return cached;
    const c = await this.deps.store.conversations.get(id);
    if (c) this.cache.set(id, c);
    return c;
  }

  /** The conversation of a key, created (resting where its route puts it) on first contact. */
  async open(input: Pick<InboundInput, "key" | "msisdn" | "addressing" | "meta">): Promise<Conversation> {
    const k = `${input.key.userJid}\u0000${input.key.channel}\u0000${input.key.chatTitle}`;
    const id = this.idsByKey.get<string>(k);
    const known = id ? await this.load(id) : null;
    if (known) return known;
    const route = await this.routeOf(input.key.channel);
    const fresh = newConversation(
      { ...input.key, msisdn: input.msisdn, addressing: input.addressing },
      fullMeta(input.meta),
      this.context(route),
    );
    const { conversation } = await this.deps.store.conversations.createIfAbsent({ ...fresh, now: fresh.createdAt });
    this.cache.set(conversation.id, conversation);
    this.idsByKey.set(k, conversation.id);
    return conversation;
  }

  /** The existing conversation of a key, or null (chat states never create one). */
  async find(key: ConversationKey): Promise<Conversation | null> {
    const k = `${key.userJid}\u0000${key.channel}\u0000${key.chatTitle}`;
    const id = this.idsByKey.get<string>(k);
    if (id) return this.load(id);
    const c = await this.deps.store.conversations.findByKey(key.userJid, key.channel, key.chatTitle);
    if (c) {
      this.cache.set(c.id, c);
      this.idsByKey.set(k, c.id);
    }
    return c;
  }

  /**
   * A user's message or notice: stored once (a duplicate key is reported, not
   * routed), then decided. A refusal stores nothing.
   */
  async receive(input: InboundInput): Promise<ReceiveResult> {
    const opened = await this.open(input);
    return this.queue.run(opened.id, () =>
      this.withConflictRetry(opened.id, async (current) => {
        const before = withClientMeta(current, input.meta);
        const decision = decide(before, input.event, this.context(await this.routeOf(current.channel)));
        if (decision.refusal) return { status: "refused", refusal: decision.refusal } as const;
        const eventKey = `in:${current.id}:${input.message.dedupeKey ?? this.deps.newUuid()}`;
        const committed = await this.commit(current, decision, eventKey, {}, input.message);
        if (!committed.written) return { status: "duplicate", conversation: current } as const;
        this.afterCommit(committed.saved, decision, committed.jobs);
        return { status: "accepted", conversation: committed.saved } as const;
      }),
    );
  }

  /** Any other event of a known conversation (bot answer, Genesys update, tick, typing). */
  async apply(conversationId: string, event: ConversationEvent, eventKey: string, hooks: ApplyHooks = {}): Promise<Decision | null> {
    return this.queue.run(conversationId, () =>
      this.withConflictRetry(conversationId, async (current) => {
        const decision = decide(current, event, this.context(await this.routeOf(current.channel)));
        hooks.patch?.(decision.conversation);
        if (decision.refusal) return decision;
        const durable = decision.effects.some((e) => !isEphemeral(e));
        if (!durable && !hooks.completeJob && isDeepStrictEqual(current, decision.conversation)) {
          this.afterCommit(current, decision, []);
          return decision;
        }
        const committed = await this.commit(current, decision, eventKey, hooks);
        this.afterCommit(committed.saved, decision, committed.jobs);
        return { ...decision, conversation: committed.saved };
      }),
    );
  }

  /** A message for the user outside any state change (e.g. ROUTER_BOT_UNAVAILABLE#0001); once per key. */
  async tell(conversationId: string, message: ClientMessage, key: string, episodeUuid: string | null = null): Promise<void> {
    await this.queue.run(conversationId, async () => {
      const c = await this.load(conversationId);
      if (!c) return;
      const stanzas = new Map<string, Element>();
      const { jobs } = await this.deps.store.steps.append({
        conversationId,
        version: null,
        outbound: [],
        enqueue: [this.clientJob(c, message, episodeUuid, key, stanzas)],
        ...this.lock(),
      });
      this.deps.runJobs(withStanzas(jobs, stanzas));
    });
  }

  private lock() {
    return { owner: this.deps.owner, lockMs: 60_000 };
  }

  private async withConflictRetry<T>(id: string, fn: (current: Conversation) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.load(id);
      if (!current) throw new Error(`conversation ${id} not found`);
      try {
        return await fn(current);
      } catch (err) {
        if (!isConcurrentUpdate(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        // Another instance moved it: decide again on what it stored.
        this.cache.del(id);
        this.deps.log.debug({ conversationId: id, attempt }, "concurrent update, deciding again");
      }
    }
  }

  /**
   * Writes a decided step (design.md rule 1): the user's message, the messages
   * and jobs of the effects, the job it completes — one statement — and, when
   * the conversation itself changed, its new state in the same transaction.
   * Nothing is written for a duplicate; a conversation another instance moved
   * meanwhile is a ConcurrentUpdateError (decide again).
   */
  private async commit(current: Conversation, decision: Decision, eventKey: string, hooks: ApplyHooks, inbound?: InboundInput["message"]) {
    const next = decision.conversation;
    const step: Step = {
      conversationId: current.id,
      version: current.version,
      ...(inbound ? { inbound } : {}),
      outbound: [],
      enqueue: [],
      ...(hooks.completeJob ? { completeJob: hooks.completeJob } : {}),
      ...this.lock(),
    };
    const stanzas = new Map<string, Element>();
    decision.effects.forEach((effect, i) => {
      const key = `${eventKey}/${i}`;
      const item = this.jobFor(next, effect, key, stanzas);
      if (!item) return;
      (step.enqueue as NewOutboxItem[]).push(item);
      if (effect.type === "send_client" && (effect.message.kind === "text" || effect.message.kind === "rich")) {
        step.outbound.push({
          author: effect.message.kind === "text" ? effect.message.conversationType : "bot",
          kind: effect.message.kind === "text" ? "chat_text" : "chat_dynamic",
          text: effect.message.text,
          dedupeKey: key,
        });
      }
    });
    const delivered = this.deps.takeDelivered(current.id);
    if (delivered.length > 0) step.delivered = delivered;
    const unchanged = isDeepStrictEqual(current, next);
    let result;
    try {
      result = unchanged
        ? { ...(await this.deps.store.steps.append(step)), saved: current }
        : await this.deps.store.transaction(async (tx) => {
            const r = await tx.steps.append(step);
            // A duplicate changes nothing, not even the conversation.
            const saved = r.written ? await tx.conversations.save(next, this.deps.clock.now()) : current;
            return { ...r, saved };
          });
    } catch (err) {
      this.deps.giveBackDelivered(current.id, delivered);
      throw err;
    }
    if (!result.fresh) throw new ConcurrentUpdateError(current.id, current.version);
    return { ...result, jobs: withStanzas(result.jobs, stanzas) };
  }

  private afterCommit(saved: Conversation, decision: Decision, jobs: (EnqueuedItem & RunnableJob)[]): void {
    this.cache.set(saved.id, saved);
    this.deps.runJobs(jobs);
    for (const effect of decision.effects) this.runEphemeral(saved, effect);
  }

  private runEphemeral(c: Conversation, effect: Effect): void {
    const fail = (err: unknown) => this.deps.log.warn({ conversationId: c.id, err }, "typing notification not delivered");
    if (effect.type === "operator_typing") {
      this.deps.ephemeral.operatorTyping(c, effect.episodeUuid, effect.typing).catch(fail);
    } else if (effect.type === "send_client" && effect.message.kind === "chat_state") {
      const stanza = encodeClientMessage(c, effect.message, effect.episodeUuid, stanzaIdFor(`${c.id}:${Date.now()}`), this.encodeOptions());
      this.deps.ephemeral.sendToClient(stanza).catch(fail);
    }
  }

  private encodeOptions() {
    const { config } = this.deps;
    return {
      domain: config.xmpp.domain,
      namespace: config.protocol.namespace,
      timeZone: config.protocol.timeZone,
      plainCommands: config.plain.commands,
      defaultLang: config.protocol.defaultLang,
    };
  }

  private clientJob(
    c: Conversation,
    message: ClientMessage,
    episodeUuid: string | null,
    key: string,
    stanzas: Map<string, Element>,
  ): NewOutboxItem {
    const stanza = encodeClientMessage(c, message, episodeUuid, stanzaIdFor(key), this.encodeOptions());
    stanzas.set(key, stanza);
    return job(c.id, key, { type: "send_client", xml: stanza.toString(), kind: message.kind });
  }

  /** The durable job of an effect; null for the ephemeral ones. */
  private jobFor(c: Conversation, effect: Effect, key: string, stanzas: Map<string, Element>): NewOutboxItem | null {
    switch (effect.type) {
      case "send_client":
        return isEphemeral(effect) ? null : this.clientJob(c, effect.message, effect.episodeUuid, key, stanzas);
      case "operator_typing":
        return null;
      case "call_bot":
        return job(c.id, key, { type: "call_bot", channel: c.channel, request: botRequest(c, effect) });
      case "request_operator":
        return job(c.id, key, {
          type: "request_operator",
          episodeUuid: effect.episodeUuid,
          serviceName: effect.serviceName,
          handoff: effect.handoff,
        });
      case "send_operator":
        return job(c.id, key, { type: "send_operator", episodeUuid: effect.episodeUuid, text: effect.text });
      case "disconnect_operator":
        return job(c.id, key, { type: "disconnect_operator", episodeUuid: effect.episodeUuid });
      case "submit_vote":
        return job(c.id, key, { type: "submit_vote", episodeUuid: effect.episodeUuid, text: effect.text });
    }
  }

  /** The stored conversation (cache or database). */
  get(id: string): Promise<Conversation | null> {
    return this.load(id);
  }
}
