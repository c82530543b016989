// The imperative shell around the core: for one conversation at a time (a
// keyed queue, design.md rule 3) it loads the conversation, lets the core
// decide, and commits in one transaction the inbound message, the new state
// and the outbox jobs for the effects (rule 1). It returns the step's jobs and
// never runs them: the caller hands them to the delivery executor
// (src/delivery/), which holds the ones nobody waits behind from the step on.
// A concurrent update from another instance is met by reloading and deciding again.
import { isCloudServiceName } from "../adapters/genesys-cloud/service-name.js";
import type { FileFetch } from "../attachments/fetch-into-store.js";
import { attachmentPolicyOf } from "../attachments/policy-of.js";
import type { AttachmentPolicy } from "../core/attachment-policy.js";
import type { Element } from "@xmpp/xml";
import NodeCache from "node-cache";
import type { Config } from "../config/schema.js";
import {
  decide,
  newConversation,
  sameConversation,
  withClientMeta,
  type ClientMeta,
  type ConversationKey,
  type Decision,
  type DecideContext,
  episodeIsOpen,
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
  type NewOutboxItem,
  type OutboxItem,
  type Step,
  type StepResult,
  type Store,
  type TransactionStore,
} from "../store/index.js";
import type { ConversationSteps, StepHooks } from "../delivery/conversation-port.js";
import type { DeliveredRows } from "../delivery/delivered.js";
import type { GroupCommit } from "../delivery/group-commit.js";
import type { Job } from "../delivery/job.js";
import { botRequest, job, operatorAckKey, operatorMessageKey, stanzaIdFor } from "../delivery/jobs.js";
import { serializeOnce } from "../protocol/serialized.js";
import { encodeClientMessage } from "./client-encoder.js";
import type { DirectoryCache } from "./directory-cache.js";
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
  | { status: "accepted"; conversation: Conversation; jobs: readonly Job[] }
  /** `answers`: the stanzas already sent in answer to it (stored as sent, same ids), to send again. */
  | { status: "duplicate"; conversation: Conversation; jobs: readonly Job[]; answers: readonly string[] }
  | { status: "refused"; refusal: NonNullable<Decision["refusal"]>; jobs: readonly Job[] };

export type ApplyHooks = StepHooks;

/** A decided event and the jobs its step wrote (empty when nothing durable came of it). */
export interface Applied {
  decision: Decision;
  jobs: readonly Job[];
}

export interface ConversationServiceDeps {
  store: Store;
  directory: DirectoryCache;
  config: Config;
  clock: Clock;
  log: Logger;
  newUuid: () => string;
  /** This instance, as owner of the outbox rows its steps take at once. */
  owner: string;
  /** Lease of those rows (outbox.takeoverMs); the executor renews it while it holds them. */
  leaseMs: number;
  ephemeral: EphemeralEffects;
  /** ROUTER_QUEUED#0001 estimatedWaitSeconds per service (router/wait-estimates.ts); absent: none sent. */
  waitEstimates?: { get(serviceName: string): number | undefined };
  /** Rows of the conversation already delivered: deleted by its next step (given back if that fails). */
  delivered: Pick<DeliveredRows, "take" | "giveBack">;
  /** Where steps are written: with the other steps ready at the same time, in one transaction. */
  commits: Pick<GroupCommit, "run">;
  /** The signed URL of a stored file for one user (src/attachments/signed-url.ts); absent: stored files are not sent. */
  storedFileUrl?: (id: string, userBareJid: string) => string;
}

const MAX_CONFLICT_RETRIES = 5;

function withStanzas<J extends OutboxItem>(jobs: J[], stanzas: Map<string, Element>): (J & Job)[] {
  return jobs.map((j) => {
    const stanza = stanzas.get(j.idempotencyKey);
    return stanza ? { ...j, stanza } : j;
  });
}

function isEphemeral(e: Effect): boolean {
  return e.type === "operator_typing" || (e.type === "send_client" && e.message.kind === "chat_state");
}

/** The event key of a user's message; its effects' jobs and messages are keyed `{eventKey}/{n}`. */
const inboundEventKey = (conversationId: string, messageKey: string) => `in:${conversationId}:${messageKey}`;

/** The bot's answer to a call_bot job is the event `bot:{job key}` (handlers/bot-call.ts). */
const BOT_ANSWER_PREFIX = "bot:";

/** How a message to the user shows in the transcript (notices carry no text: the Genesys transcript leaves them out). */
function transcriptLine(m: ClientMessage): Pick<Step["outbound"][number], "author" | "kind" | "text"> {
  switch (m.kind) {
    case "text":
      return { author: m.conversationType, kind: "chat_text", text: m.text };
    case "rich":
      return { author: "bot", kind: "chat_dynamic", text: m.text };
    case "attachment":
      return { author: m.conversationType, kind: "chat_text", text: m.file.name };
    case "notice":
      return { author: "router", kind: "chat_notice", text: null };
    case "chat_state":
      return { author: "router", kind: "chat_state", text: null };
  }
}

/** A file to fetch and store before its message is sent (delivery/handlers/client-stanza.ts): where from, under which id. */
function fetchOf(c: Conversation, m: ClientMessage): { fetch?: FileFetch } {
  if (m.kind !== "attachment" || !("stored" in m.file.at) || !m.file.at.fetchFrom) return {};
  const origin = m.conversationType;
  return {
    fetch: { id: m.file.at.stored, url: m.file.at.fetchFrom, name: m.file.name, mediaType: m.file.mediaType, origin, channel: c.channel },
  };
}

const keyOf = (k: ConversationKey) => `${k.userJid}\u0000${k.channel}\u0000${k.chatTitle}`;

/** A conversation made on first contact and not stored yet (stored ones start at version 1). */
const isUnsaved = (c: Conversation) => c.version === 0;

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

export class ConversationService implements ConversationSteps {
  private readonly queue = new KeyedQueue();
  /** Conversations by id; the database is the truth (a save checks the version). */
  private readonly cache = new NodeCache({ stdTTL: 600, checkperiod: 120, useClones: false });
  private readonly idsByKey = new NodeCache({ stdTTL: 600, checkperiod: 120, useClones: false });

  private readonly attachmentPolicy: AttachmentPolicy;

  constructor(private readonly deps: ConversationServiceDeps) {
    this.attachmentPolicy = attachmentPolicyOf(deps.config);
  }

  /** Conversations with work queued or running. */
  get busy(): number {
    return this.queue.size;
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * How many wait in the queue of each service the route may hand over to,
   * read from the database (all instances) only when the route sets maxQueued
   * and no episode is open (backends.md section 2c).
   */
  private async queuedCounts(route: DecideContext["route"], c: Conversation): Promise<Map<string, number> | undefined> {
    const g = route?.genesys;
    if (route?.maxQueued === undefined || !g || episodeIsOpen(c)) return undefined;
    const names = [...new Set([g.serviceName, ...(g.premiumServiceName ? [g.premiumServiceName] : []), ...(g.queues ?? [])])];
    const counts = await Promise.all(names.map((n) => this.deps.store.conversations.countQueued(n)));
    return new Map(names.map((n, i) => [n, counts[i] ?? 0]));
  }

  private async contextFor(c: Conversation): Promise<DecideContext> {
    const route = await this.routeOf(c.channel);
    const counts = await this.queuedCounts(route, c);
    return { ...this.context(route), queued: (serviceName) => counts?.get(serviceName) };
  }

  private context(route: DecideContext["route"]): DecideContext {
    const { config, clock, newUuid } = this.deps;
    return {
      now: clock.now(),
      route,
      operatorsAvailable: !!config.genesys.url || !!config.genesysCloud.apiUrl,
      gmsCallbacks: !!config.genesys.url,
      allowHttpImages: config.security.allowPrivateTargets,
      attachments: this.attachmentPolicy,
      // protocol.md section 10: GMS episodes take files (its file API), Genesys Cloud ones too (a URL in the open message).
      operatorTakesFiles: (serviceName) => (isCloudServiceName(serviceName) ? !!config.genesysCloud.apiUrl : !!config.genesys.url),
      // Without a signed URL to give (no HTTP server: tools, tests), a bot's file goes at its own URL.
      ...(this.deps.storedFileUrl
        ? { botFiles: { allowedHosts: this.attachmentPolicy.allowedHosts, proxy: config.attachments.proxyBotFiles } }
        : {}),
      estimatedWaitSeconds: (serviceName) => this.deps.waitEstimates?.get(serviceName),
      timing: {
        idleTimeoutMs: config.genesys.idleTimeoutMs,
        idleWarningMs: config.genesys.idleWarningMs,
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

  /**
   * The conversation of a key; on first contact a new one (resting where its
   * route puts it) that is not stored yet (version 0): its first step stores
   * it, in the state that step decided, in the step's own transaction. So
   * opening a conversation costs one statement more than a message in an open
   * one, not a commit and a save more (issue 14).
   */
  private async open(input: Pick<InboundInput, "key" | "msisdn" | "addressing" | "meta">): Promise<Conversation> {
    const k = keyOf(input.key);
    const id = this.idsByKey.get<string>(k);
    const known = id ? await this.load(id) : null;
    if (known) return known;
    const route = await this.routeOf(input.key.channel);
    const fresh = newConversation(
      { ...input.key, msisdn: input.msisdn, addressing: input.addressing },
      fullMeta(input.meta),
      this.context(route),
    );
    this.cache.set(fresh.id, fresh);
    this.idsByKey.set(k, fresh.id);
    return fresh;
  }

  /** The stored conversation of a key: another instance (or this one before its cache forgot it) stored it first. */
  private adopt(key: ConversationKey, freshId: string, stored: Conversation): void {
    this.cache.del(freshId);
    this.cache.set(stored.id, stored);
    this.idsByKey.set(keyOf(key), stored.id);
  }

  /** The existing conversation of a key, or null (chat states never create one). */
  async find(key: ConversationKey): Promise<Conversation | null> {
    const k = keyOf(key);
    const id = this.idsByKey.get<string>(k);
    if (id) {
      const c = await this.load(id);
      if (c?.version !== 0) return c; // one not stored yet is not there for anybody else
    }
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
    const tooMany = await this.openLimit(input.key);
    if (tooMany) return { status: "refused", refusal: tooMany, jobs: [] };
    const opened = await this.open(input);
    const result = await this.queue.run(opened.id, () =>
      this.withConflictRetry(opened.id, async (current): Promise<ReceiveResult | { status: "taken"; stored: Conversation }> => {
        const before = withClientMeta(current, input.meta);
        const decision = decide(before, input.event, await this.contextFor(before));
        if (decision.refusal) return { status: "refused", refusal: decision.refusal, jobs: [] } as const;
        const eventKey = inboundEventKey(current.id, input.message.dedupeKey ?? this.deps.newUuid());
        const committed = await this.commit(current, decision, eventKey, {}, input.message);
        if (committed.full) return { status: "refused", refusal: this.tooMany(input.key), jobs: [] } as const;
        if (committed.taken) return { status: "taken", stored: committed.saved };
        if (!committed.written)
          return { status: "duplicate", conversation: current, jobs: [], answers: await this.answersTo(current.id, input.message) };
        this.afterCommit(committed.saved, decision);
        return { status: "accepted", conversation: committed.saved, jobs: committed.jobs } as const;
      }),
    );
    if (result.status !== "taken") return result;
    // The key was stored already: decide again on that conversation, in its own queue (this recursion ends: it is stored).
    this.adopt(input.key, opened.id, result.stored);
    return this.receive(input);
  }

  /**
   * security.maxOpenConversationsPerUser (issue 13): a message that would
   * create a conversation, or reopen a closed one, while the user already has
   * that many open is refused (TOO_MANY_CONVERSATIONS, docs/errors.md). The
   * count is the database's, so it holds across instances (two first messages
   * racing on two instances may both pass: the bound is exceeded by at most
   * the instances' number). A conversation not stored yet is counted by its
   * own insert (create() below), in the step's transaction: no count here.
   */
  private async openLimit(key: ConversationKey): Promise<NonNullable<Decision["refusal"]> | null> {
    // Issue 14: an open conversation opens nothing; a new one is counted by its insert; only one known
    // closed (a reopening) is counted here. A key stored but forgotten by the cache is found by the
    // insert's conflict, adopted, and comes back here known.
    const id = this.idsByKey.get<string>(keyOf(key));
    const cached = id ? this.cache.get<Conversation>(id) : undefined;
    if (!cached || cached.version === 0 || cached.state !== "closed") return null;
    const max = this.deps.config.security.maxOpenConversationsPerUser;
    if ((await this.deps.store.conversations.countOpen(key.userJid)) < max) return null;
    return this.tooMany(key);
  }

  private tooMany(key: ConversationKey): NonNullable<Decision["refusal"]> {
    const max = this.deps.config.security.maxOpenConversationsPerUser;
    this.deps.log.warn({ channel: key.channel, max }, "open conversations per user: limit reached, message refused");
    return {
      code: "TOO_MANY_CONVERSATIONS",
      field: "thread",
      message: `at most ${max} conversations may be open at once: close one (or wait for one to end) and send again`,
    };
  }

  /** What was sent in answer to a stored message: its own step's messages, and the bot's answer to it. */
  private answersTo(conversationId: string, m: InboundInput["message"]): Promise<string[]> {
    if (m.dedupeKey === null) return Promise.resolve([]);
    const own = `${inboundEventKey(conversationId, m.dedupeKey)}/`;
    return this.deps.store.messages.answers(conversationId, { sender: m.sender, dedupeKey: m.dedupeKey }, [
      own,
      `${BOT_ANSWER_PREFIX}${own}`,
    ]);
  }

  /** Any other event of a known conversation (bot answer, Genesys update, tick, typing). */
  async apply(conversationId: string, event: ConversationEvent, eventKey: string, hooks: ApplyHooks = {}): Promise<Applied> {
    return this.queue.run(conversationId, () =>
      this.withConflictRetry(conversationId, async (current): Promise<Applied> => {
        const decision = decide(current, event, await this.contextFor(current));
        hooks.patch?.(decision.conversation);
        if (decision.refusal) return { decision, jobs: [] };
        const durable = decision.effects.some((e) => !isEphemeral(e));
        if (!durable && !hooks.completeJob && sameConversation(current, decision.conversation)) {
          this.afterCommit(current, decision);
          return { decision, jobs: [] };
        }
        const committed = await this.commit(current, decision, eventKey, hooks);
        this.afterCommit(committed.saved, decision);
        return { decision: { ...decision, conversation: committed.saved }, jobs: committed.jobs };
      }),
    );
  }

  /** A message for the user outside any state change (e.g. ROUTER_BOT_UNAVAILABLE#0001); once per key. */
  async tell(conversationId: string, message: ClientMessage, key: string, episodeUuid: string | null = null): Promise<readonly Job[]> {
    return this.queue.run(conversationId, async () => {
      const c = await this.load(conversationId);
      if (!c) return [];
      const stanzas = new Map<string, Element>();
      const outbound: Step["outbound"] = [];
      const { jobs } = await this.deps.commits.run(
        (tx) =>
          tx.steps.append({
            conversationId,
            version: null,
            outbound,
            enqueue: [this.clientJob(c, message, episodeUuid, key, stanzas, outbound)],
            ...this.lock(),
          }),
        false,
      );
      return withStanzas(jobs, stanzas);
    });
  }

  private lock() {
    return { owner: this.deps.owner, lockMs: this.deps.leaseMs };
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
      const item = this.jobFor(next, effect, `${eventKey}/${i}`, stanzas, step.outbound);
      if (item) (step.enqueue as NewOutboxItem[]).push(item);
    });
    const delivered = this.deps.delivered.take(current.id);
    if (delivered.length > 0) step.delivered = delivered;
    const unchanged = sameConversation(current, next);
    let result: StepResult & { saved: Conversation; taken?: boolean; full?: boolean };
    try {
      result = isUnsaved(current)
        ? await this.deps.commits.run((tx) => this.create(tx, next, step))
        : unchanged
          ? { ...(await this.deps.commits.run((tx) => tx.steps.append(step), false)), saved: current }
          : await this.deps.commits.run(async (tx) => {
              const r = await tx.steps.append(step);
              // A duplicate changes nothing, not even the conversation.
              const saved = r.written ? await tx.conversations.save(next, this.deps.clock.now()) : current;
              return { ...r, saved };
            });
    } catch (err) {
      this.deps.delivered.giveBack(current.id, delivered);
      throw err;
    }
    if (result.taken || result.full) return { ...result, jobs: [] };
    if (!result.fresh) throw new ConcurrentUpdateError(current.id, current.version);
    return { ...result, jobs: withStanzas(result.jobs, stanzas) };
  }

  /**
   * The first step of a conversation not stored yet: the conversation as the
   * step decided it, and the step, in one transaction. When the key is stored
   * already (another instance, or this one before its cache forgot it),
   * nothing is written and `taken` gives the stored conversation; when the
   * user has security.maxOpenConversationsPerUser open already, nothing is
   * written and `full` says so.
   */
  private async create(tx: TransactionStore, next: Conversation, step: Step) {
    const max = this.deps.config.security.maxOpenConversationsPerUser;
    const r = await tx.conversations.createWithinLimit({ ...next, now: this.deps.clock.now() }, max);
    if (!r) return { fresh: false, written: false, jobs: [], saved: next, full: true };
    const { conversation, created } = r;
    if (!created) return { fresh: false, written: false, jobs: [], saved: conversation, taken: true };
    return { ...(await tx.steps.append({ ...step, version: null })), saved: conversation };
  }

  private afterCommit(saved: Conversation, decision: Decision): void {
    this.cache.set(saved.id, saved);
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
      ...(this.deps.storedFileUrl ? { storedFileUrl: this.deps.storedFileUrl } : {}),
    };
  }

  /** A message for the user: stored once, as the stanza sent (the job points at it by key), and kept here to be sent now. */
  private clientJob(
    c: Conversation,
    message: ClientMessage,
    episodeUuid: string | null,
    key: string,
    stanzas: Map<string, Element>,
    outbound: Step["outbound"],
  ): NewOutboxItem {
    const stanza = encodeClientMessage(c, message, episodeUuid, stanzaIdFor(key), this.encodeOptions());
    stanzas.set(key, stanza);
    outbound.push({ ...transcriptLine(message), dedupeKey: key, stanza: serializeOnce(stanza) });
    return job(c.id, key, { type: "send_client", kind: message.kind, ...fetchOf(c, message) });
  }

  /** The durable job of an effect; null for the ephemeral ones. */
  private jobFor(
    c: Conversation,
    effect: Effect,
    key: string,
    stanzas: Map<string, Element>,
    outbound: Step["outbound"],
  ): NewOutboxItem | null {
    switch (effect.type) {
      case "send_client": {
        if (isEphemeral(effect)) return null;
        if (effect.ackId !== undefined && effect.episodeUuid && effect.message.kind === "text") {
          // Acknowledged to the back-end (Genesys Cloud receipts): keyed by its id, and the client asked for an XEP-0184 receipt.
          const asking = { ...effect.message, requestReceipt: true };
          return this.clientJob(c, asking, effect.episodeUuid, operatorAckKey(effect.episodeUuid, effect.ackId), stanzas, outbound);
        }
        if (effect.transcriptIndex === undefined || !effect.episodeUuid)
          return this.clientJob(c, effect.message, effect.episodeUuid, key, stanzas, outbound);
        // An operator's message with a GMS index: keyed by it, and markable (XEP-0333) so the client's marker maps back.
        const markable = effect.message.kind === "text" ? { ...effect.message, markable: true } : effect.message;
        const indexKey = operatorMessageKey(effect.episodeUuid, effect.transcriptIndex);
        return this.clientJob(c, markable, effect.episodeUuid, indexKey, stanzas, outbound);
      }
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
        return job(c.id, key, {
          type: "send_operator",
          episodeUuid: effect.episodeUuid,
          text: effect.text,
        });
      case "send_operator_file":
        return job(c.id, key, { type: "send_operator_file", episodeUuid: effect.episodeUuid, attachment: effect.attachment });
      case "receive_operator_file":
        return job(c.id, key, { type: "receive_operator_file", episodeUuid: effect.episodeUuid, file: effect.file });
      case "disconnect_operator":
        return job(c.id, key, { type: "disconnect_operator", episodeUuid: effect.episodeUuid });
      case "submit_vote":
        return job(c.id, key, { type: "submit_vote", episodeUuid: effect.episodeUuid, text: effect.text });
      case "book_callback":
        return job(c.id, key, { type: "book_callback", serviceName: effect.serviceName, desiredTime: effect.desiredTime });
      case "operator_read_receipt":
        return job(c.id, key, { type: "read_receipt", episodeUuid: effect.episodeUuid, position: effect.position });
      case "operator_nickname":
        return job(c.id, key, { type: "update_nickname", episodeUuid: effect.episodeUuid, nickname: effect.nickname });
    }
  }

  /** The stored conversation (cache or database). */
  get(id: string): Promise<Conversation | null> {
    return this.load(id);
  }
}
