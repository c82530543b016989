// The conversation state machine (protocol.md section 5), pure: given a
// conversation, an event and the context (clock, route, timing), it returns
// the new conversation and the effects to run. No I/O, no hidden clock.
//
//   bot ──handoff──▶ queued ──agent joins──▶ operator ──ends──▶ bot (or closed)
//   closed ◀─────────────── any end ◀──────────┘        closed ──vote──▶ voting ──▶ closed
import { matchOption, readBotReplies, type HandoffRequest } from "./bot.js";
import type { ClientMessage } from "./client-message.js";
import type { Effect } from "./effects.js";
import type { ConversationEvent, OperatorEvent } from "./events.js";
import { openingState } from "./hours.js";
import type { ChannelRoute, Conversation, ConversationState, OperatorEpisode } from "./model.js";
import { ASK_OPERATOR, splitForPlainClient } from "./plain-messages.js";
import type { ErrorCode } from "../errors.js";
import type { Attachment } from "../protocol/attachment.js";
import { checkAttachments, displayName, type AttachmentPolicy } from "./attachment-policy.js";
import { placeBotFile, type BotFilePolicy } from "./bot-files.js";
import { CALLBACK_REQUEST, callbackOffer, offerStands, readDesiredTime } from "./callback.js";

export interface Timing {
  idleTimeoutMs: number;
  /** ROUTER_INACTIVITY_WARNING#0001 this long before the idle close; default 60 s. */
  idleWarningMs?: number;
  queueTimeoutMs: number;
  queuedNoticeIntervalMs: number;
  votingWindowMs: number;
}

export interface DecideContext {
  now: Date;
  /** The channel's route as the directory has it now; null when the channel has none. */
  route: ChannelRoute | null;
  /** False when no Genesys is configured (EIME_GENESYS_URL unset). */
  operatorsAvailable: boolean;
  timing: Timing;
  newUuid: () => string;
  /** Episodes waiting in the queue of a service across all instances (read before deciding when the route sets maxQueued). */
  queued?: (serviceName: string) => number | undefined;
  /** ROUTER_QUEUED#0001 `estimatedWaitSeconds` of a service, when one can be estimated (issue 17). */
  estimatedWaitSeconds?: (serviceName: string) => number | undefined;
  /** backends.md section 2c: a GMS is configured, so a route's callback service can book (EIME_GENESYS_URL). */
  gmsCallbacks?: boolean;
  /** Bot images may be http: (security.allowPrivateTargets: tests, demos); otherwise https only. */
  allowHttpImages?: boolean;
  /** protocol.md section 10; unset: no attachment is accepted. */
  attachments?: AttachmentPolicy;
  /** Whether the operator back-end of a service takes files (GMS and Genesys Cloud do, when configured). Unset: none does. */
  operatorTakesFiles?: (serviceName: string) => boolean;
  /** protocol.md section 10: which bot files the router fetches and serves itself; unset: none (each is sent at its own URL). */
  botFiles?: BotFilePolicy;
}

const NO_ATTACHMENTS: AttachmentPolicy = { allowedHosts: [], maxBytes: 0, allowedTypes: [], maxPerEpisode: 0, allowHttp: false };

export interface Refusal {
  code: ErrorCode;
  field: string;
  message: string;
}

export interface Decision {
  conversation: Conversation;
  effects: Effect[];
  /** Set when the user's request is refused: it is answered with this error and nothing changes. */
  refusal?: Refusal;
}

/** Client → router notice codes (protocol.md section 4). */
export const CLOSE_BY_USER = "GENESYS_CLOSE_BY_USER#0001";
export const OPEN_FOR_VOTING = "GENESYS_OPEN_FOR_VOTING#0001";

export function routeHasBot(route: ChannelRoute | null): boolean {
  return !!route && (route.mode === "bot" || route.mode === "bot+operator") && !!route.bot;
}

function routeHasOperator(route: ChannelRoute | null): boolean {
  return !!route?.genesys || !!route?.genesysCloud;
}

/** backends.md 2b: a Genesys Cloud episode's serviceName (adapters/genesys-cloud/service-name.ts reads it). */
const cloudServiceName = (g: NonNullable<ChannelRoute["genesysCloud"]>) =>
  `genesys-cloud:${g.integrationId}${g.queueId ? `/${g.queueId}` : ""}`;

/** Where a conversation rests when no operator owns it. */
export function restingState(route: ChannelRoute | null): ConversationState {
  return routeHasBot(route) ? "bot" : "closed";
}

export function episodeIsOpen(c: Conversation): boolean {
  return (c.state === "queued" || c.state === "operator") && !!c.episode && !c.episode.endedAt;
}

/**
 * The GMS service for a new episode: the bot's `queue` when it names one the
 * channel lists in `genesys.queues` ("premium" and "default" select the
 * channel's own; any other is ignored), else the premium
 * service for premium users when the channel has one.
 */
export function serviceNameFor(route: ChannelRoute, premium: boolean, queue?: string): string | null {
  const g = route.genesys;
  if (!g) return route.genesysCloud ? cloudServiceName(route.genesysCloud) : null;
  if (queue === "premium") return g.premiumServiceName ?? g.serviceName;
  if (queue === "default") return g.serviceName;
  if (queue && g.queues?.includes(queue)) return queue; // a bot may pick only a service the channel lists
  return (premium && g.premiumServiceName) || g.serviceName;
}

/**
 * A mutable working copy and the effects gathered while deciding. Only the
 * conversation's own fields and its episode's are ever assigned here; nested
 * values (addressing, botOptions, the Genesys chat, dates) are replaced,
 * never changed in place, so the copy shares them with the original: a copy
 * of two flat objects per event instead of a deep clone (issue 14).
 */
class Draft {
  readonly c: Conversation;
  readonly effects: Effect[] = [];

  constructor(
    original: Conversation,
    readonly ctx: DecideContext,
  ) {
    this.c = { ...original, episode: original.episode && { ...original.episode } };
  }

  send(message: ClientMessage, episodeUuid: string | null = null): void {
    this.effects.push({ type: "send_client", message, episodeUuid });
  }

  notice(code: string, data?: Record<string, unknown>, episodeUuid: string | null = null): void {
    this.send({ kind: "notice", code, ...(data ? { data } : {}) }, episodeUuid);
  }

  done(): Decision {
    return { conversation: this.c, effects: this.effects };
  }
}

function refuse(conversation: Conversation, code: ErrorCode, field: string, message: string): Decision {
  return { conversation, effects: [], refusal: { code, field, message } };
}

export function decide(conversation: Conversation, event: ConversationEvent, ctx: DecideContext): Decision {
  switch (event.type) {
    case "user_text":
      return onUserText(conversation, event, ctx);
    case "user_notice":
      return onUserNotice(conversation, event, ctx);
    case "user_chat_state": {
      const d = new Draft(conversation, ctx);
      if (episodeIsOpen(d.c) && d.c.state === "operator") {
        d.effects.push({ type: "operator_typing", episodeUuid: d.c.episode!.uuid, typing: event.state === "composing" });
      }
      return d.done();
    }
    case "bot_replied":
      return onBotReplied(conversation, event.replies, ctx);
    case "operator_accepted": {
      const d = new Draft(conversation, ctx);
      const ep = d.c.episode;
      if (!ep || ep.uuid !== event.episodeUuid) return d.done();
      ep.chat = event.chat;
      // The user left (or it timed out) while the request was under way: leave the new chat too.
      if (ep.endedAt) d.effects.push({ type: "disconnect_operator", episodeUuid: ep.uuid });
      return d.done();
    }
    case "operator_request_failed": {
      const d = new Draft(conversation, ctx);
      if (episodeIsOpen(d.c) && d.c.episode!.uuid === event.episodeUuid) endEpisode(d, "GENESYS#0001", false);
      return d.done();
    }
    case "operator_update":
      return onOperatorUpdate(conversation, event, ctx);
    case "callback_booked":
    case "callback_failed":
      return onCallbackOutcome(conversation, event, ctx);
    case "user_displayed":
      return onDisplayed(conversation, event.transcriptIndex, ctx);
    case "user_renamed":
      return onRenamed(conversation, event, ctx);
    case "tick":
      return onTick(conversation, ctx);
  }
}

function onUserText(conversation: Conversation, event: Extract<ConversationEvent, { type: "user_text" }>, ctx: DecideContext): Decision {
  const d = new Draft(conversation, ctx);
  const c = d.c;
  if (c.state === "voting" && c.votingUntil && ctx.now <= c.votingUntil && c.episode) {
    // protocol.md section 5: the next message is the vote; then the conversation closes again.
    d.effects.push({ type: "submit_vote", episodeUuid: c.episode.uuid, text: event.text, messageId: event.messageId });
    c.state = restingState(ctx.route);
    c.votingUntil = null;
    d.notice("ROUTER_VOTE_RECORDED#0001", undefined, c.episode.uuid);
    return d.done();
  }
  if (c.state === "voting") {
    c.state = restingState(ctx.route);
    c.votingUntil = null;
  }
  foregroundNotice(d, event.threadEpisode);
  if (episodeIsOpen(c) && c.episode!.idleWarnedAt) {
    // Issue 17: a user message after the inactivity warning keeps the episode open.
    c.episode!.idleWarnedAt = null;
    c.episode!.lastActivityAt = ctx.now;
  }
  if (event.resetSession) c.attachmentsSent = 0; // a fresh bot session is a new episode
  const files = acceptAttachments(d, event.attachments ?? []);
  // Only refused files and no text: the refusals were told, nothing goes on.
  if (event.text === "" && event.attachments?.length && !files) return d.done();
  const withFiles = files ? { attachments: files } : {};
  if (episodeIsOpen(c)) {
    // While an operator owns the conversation, user messages never reach the bot.
    sendOperator(d, event, files);
    return d.done();
  }
  if (routeHasBot(ctx.route)) {
    c.state = "bot";
    if (event.resetSession) {
      c.botSession += 1;
      c.botSessionOpen = true;
      c.botOptions = null;
      d.effects.push({
        type: "call_bot",
        event: "session_reset",
        text: event.text,
        messageId: event.messageId,
        session: c.botSession,
        ...withFiles,
      });
      return d.done();
    }
    if (!c.botSessionOpen) {
      c.botSessionOpen = true;
      d.effects.push({ type: "call_bot", event: "session_start", text: "", messageId: `${event.messageId}#start`, session: c.botSession });
    }
    const option = matchOption(event.text, c.botOptions);
    c.botOptions = null;
    d.effects.push(
      option && !files
        ? { type: "call_bot", event: "button", text: option.payload, messageId: event.messageId, session: c.botSession }
        : { type: "call_bot", event: "message", text: event.text, messageId: event.messageId, session: c.botSession, ...withFiles },
    );
    return d.done();
  }
  if (routeHasOperator(ctx.route)) {
    if (startEpisode(d, {})) {
      c.attachmentsSent = files?.length ?? 0; // a new episode, which this message's files open
      sendOperator(d, event, files);
    }
    return d.done();
  }
  return refuse(conversation, "SERVICE_UNAVAILABLE", "to", `channel ${c.channel} has no route`);
}

/**
 * The user's text and files to the open episode (protocol.md section 10):
 * each file is its own job (fetched, checked against the back-end's limits,
 * uploaded or linked), after the text. A back-end that takes no files (not
 * configured, docs/attachments.md) gets the text only, and each file is told
 * as ROUTER_ATTACHMENT_REFUSED#0001 `unavailable` rather than dropped unseen.
 */
function sendOperator(d: Draft, event: { text: string; messageId: string }, files: Attachment[] | null): void {
  const ep = d.c.episode!;
  if (event.text !== "") d.effects.push({ type: "send_operator", episodeUuid: ep.uuid, text: event.text, messageId: event.messageId });
  if (!files) return;
  if (d.ctx.operatorTakesFiles?.(ep.serviceName)) {
    files.forEach((attachment, i) =>
      d.effects.push({ type: "send_operator_file", episodeUuid: ep.uuid, attachment, messageId: `${event.messageId}#file${i}` }),
    );
    return;
  }
  for (const f of files) d.notice("ROUTER_ATTACHMENT_REFUSED#0001", { reason: "unavailable", name: displayName(f) }, ep.uuid);
  d.c.attachmentsSent = Math.max(0, (d.c.attachmentsSent ?? 0) - files.length);
}

/**
 * protocol.md section 10: the user's attachments within the policy, counted
 * for the episode; each refused one is told as ROUTER_ATTACHMENT_REFUSED#0001
 * with its reason. Null when none was accepted.
 */
function acceptAttachments(d: Draft, list: readonly Attachment[]): Attachment[] | null {
  if (list.length === 0) return null;
  const { accepted, refused } = checkAttachments(list, d.ctx.attachments ?? NO_ATTACHMENTS, d.c.attachmentsSent ?? 0);
  const episodeUuid = episodeIsOpen(d.c) ? d.c.episode!.uuid : null;
  for (const r of refused) d.notice("ROUTER_ATTACHMENT_REFUSED#0001", { reason: r.reason, name: displayName(r.attachment) }, episodeUuid);
  d.c.attachmentsSent = (d.c.attachmentsSent ?? 0) + accepted.length;
  return accepted.length > 0 ? accepted : null;
}

/**
 * protocol.md section 5, v2.1: a message on the chat's own thread while an
 * episode is open means the client lost track of the episode (a reinstall, a
 * second device): FOREGROUND_CONVERSATION#0002 on the episode's thread (the
 * encoder adds `data.thread`). A message on the thread of an episode that is
 * not the open one: FOREGROUND_CONVERSATION#0001 on the current thread. In
 * both cases the message itself goes where the conversation is now.
 */
function foregroundNotice(d: Draft, threadEpisode: string | null | undefined): void {
  const { c } = d;
  if (c.apiVersion !== "2.1" || threadEpisode === undefined) return;
  const open = episodeIsOpen(c) ? c.episode!.uuid : null;
  if (threadEpisode === null && open) d.notice("FOREGROUND_CONVERSATION#0002", undefined, open);
  else if (threadEpisode !== null && threadEpisode !== open) d.notice("FOREGROUND_CONVERSATION#0001", undefined, open);
}

function onUserNotice(
  conversation: Conversation,
  event: Extract<ConversationEvent, { type: "user_notice" }>,
  ctx: DecideContext,
): Decision {
  const d = new Draft(conversation, ctx);
  const c = d.c;
  if (event.code === CLOSE_BY_USER) {
    if (!episodeIsOpen(c)) {
      return refuse(conversation, "NO_OPERATOR_EPISODE", "payload.code", "no operator conversation is open to close");
    }
    endEpisode(d, "GENESYS#0004", true);
    return d.done();
  }
  if (event.code === ASK_OPERATOR) return askOperator(d);
  if (event.code === CALLBACK_REQUEST) return onCallbackRequest(conversation, d, event);
  if (event.code === OPEN_FOR_VOTING) {
    const ep = c.episode;
    const until = ep?.endedAt ? new Date(ep.endedAt.getTime() + ctx.timing.votingWindowMs) : null;
    if (!ep || !until || episodeIsOpen(c) || ctx.now > until) {
      return refuse(
        conversation,
        "VOTING_CLOSED",
        "payload.code",
        "voting is open only for an operator conversation closed within the voting window",
      );
    }
    c.state = "voting";
    c.votingUntil = until;
    d.notice("ROUTER_VOTING_OPEN#0001", { until: until.toISOString() }, ep.uuid);
    return d.done();
  }
  return refuse(conversation, "BAD_REQUEST", "payload.code", `unknown notice code ${JSON.stringify(event.code).slice(0, 80)}`);
}

function onBotReplied(conversation: Conversation, replies: Parameters<typeof readBotReplies>[0], ctx: DecideContext): Decision {
  const d = new Draft(conversation, ctx);
  const c = d.c;
  const outcome = readBotReplies(replies, { allowHttpImages: ctx.allowHttpImages === true });
  const messages = outcome.messages.map((m) => placeFile(m, ctx));
  for (const m of c.plain ? splitForPlainClient(messages) : messages) d.send(m);
  if (outcome.messages.length > 0) c.botOptions = outcome.options;
  if (outcome.close) {
    // The bot ended its session: the next message starts a new one, with a new tracker id.
    c.botSessionOpen = false;
    c.botSession += 1;
    c.botOptions = null;
  }
  if (outcome.handoff) {
    if (episodeIsOpen(c)) d.notice("FOREGROUND_CONVERSATION#0002", undefined, c.episode!.uuid);
    else startEpisode(d, outcome.handoff);
  }
  return d.done();
}

/** A bot's file at a URL the user can reach stays there; any other is the router's copy, fetched on delivery. */
function placeFile(m: ClientMessage, ctx: DecideContext): ClientMessage {
  if (m.kind !== "attachment" || !("url" in m.file.at) || !ctx.botFiles) return m;
  return { ...m, file: { ...m.file, at: placeBotFile(m.file.at.url, ctx.botFiles, ctx.newUuid) } };
}

/** The user asks for a human (protocol.md section 9 "operator"): as a bot handoff, without asking the bot. */
function askOperator(d: Draft): Decision {
  if (episodeIsOpen(d.c)) d.notice("FOREGROUND_CONVERSATION#0002", undefined, d.c.episode!.uuid);
  else startEpisode(d, { reason: "user_request" });
  return d.done();
}

/** Opens an operator episode (state queued); false, with the user told, when no operator service is there. */
function startEpisode(d: Draft, handoff: HandoffRequest): boolean {
  const { c, ctx } = d;
  const serviceName = ctx.route ? serviceNameFor(ctx.route, c.premium, handoff.queue) : null;
  if (!ctx.operatorsAvailable || !serviceName) {
    d.notice("ROUTER_CLOSED_HOURS#0001");
    return false;
  }
  const hours = ctx.route?.hours ? openingState(ctx.route.hours, ctx.now) : { open: true as const };
  if (!hours.open) {
    // backends.md section 2c: no handover outside the hours; the bot keeps the conversation and is told.
    d.notice("ROUTER_CLOSED_HOURS#0001", hours.opensAt === null ? undefined : { opensAt: hours.opensAt });
    if (ctx.route?.bot) {
      d.effects.push({ type: "call_bot", event: "operator_closed", text: "", messageId: `closed#${ctx.newUuid()}`, session: c.botSession });
    }
    return false;
  }
  const max = ctx.route?.maxQueued;
  if (max !== undefined && (ctx.queued?.(serviceName) ?? 0) >= max) {
    // backends.md section 2c: beyond maxQueued no handover; the conversation stays where it is, a callback offered where the route has one.
    queueFull(d);
    return false;
  }
  if (c.callback?.state === "offered") c.callback = null; // an operator now: the offer is void
  const episode: OperatorEpisode = {
    uuid: ctx.newUuid(),
    serviceName,
    chat: null,
    transcriptPosition: 1,
    queuePosition: null,
    notifiedQueuePosition: null,
    requestedAt: ctx.now,
    joinedAt: null,
    agentNickname: null,
    lastActivityAt: ctx.now,
    lastQueuedNoticeAt: ctx.now,
    endedAt: null,
    endCode: null,
  };
  c.episode = episode;
  c.state = "queued";
  c.attachmentsSent = 0; // protocol.md section 10: counted per episode
  c.votingUntil = null;
  c.botOptions = null;
  d.effects.push({ type: "request_operator", episodeUuid: episode.uuid, serviceName, handoff });
  d.notice("ROUTER_QUEUED#0001", waitData(ctx, serviceName), episode.uuid);
  return true;
}

/** ROUTER_QUEUE_FULL#0001, with a callback offer (remembered until accepted or void) where the route has one. */
function queueFull(d: Draft): void {
  const { c, ctx } = d;
  const offer = callbackOffer(ctx.route, c, { gmsCallbacks: ctx.gmsCallbacks === true, hasBot: routeHasBot(ctx.route) });
  if (offer !== undefined) c.callback = { state: "offered", serviceName: offer, since: ctx.now.toISOString(), at: null };
  d.notice("ROUTER_QUEUE_FULL#0001", { callbackOffered: offer !== undefined });
}

/**
 * ROUTER_CALLBACK_REQUEST#0001 (docs/protocol.md): the user accepts the
 * standing offer, once. A GMS service books it (a book_callback job; the user
 * hears ROUTER_CALLBACK_REGISTERED#0001 when it is booked); on a "bot" route
 * the bot gets `operator_callback` (the desired time, if any, as its message)
 * and the user sees what it answers.
 */
function onCallbackRequest(conversation: Conversation, d: Draft, event: { messageId: string; data?: Record<string, unknown> }): Decision {
  const { c, ctx } = d;
  if (!offerStands(c.callback, ctx.now)) {
    return refuse(
      conversation,
      "NO_CALLBACK_OFFER",
      "payload.code",
      "no callback is on offer: it is offered when the operator queue is full",
    );
  }
  const desired = readDesiredTime(event.data, ctx.now);
  if (!desired.ok) return refuse(conversation, "BAD_REQUEST", "payload.data.desiredTime", desired.message);
  const serviceName = c.callback.serviceName;
  if (serviceName === null) {
    c.callback = null;
    c.botSessionOpen = true;
    const text = desired.value ?? "";
    d.effects.push({ type: "call_bot", event: "operator_callback", text, messageId: event.messageId, session: c.botSession });
    return d.done();
  }
  c.callback = { state: "requested", serviceName, since: ctx.now.toISOString(), at: desired.value };
  d.effects.push({ type: "book_callback", serviceName, desiredTime: desired.value });
  return d.done();
}

/** The book_callback job's outcome; one for a request no longer under way (late, repeated) changes nothing. */
function onCallbackOutcome(
  conversation: Conversation,
  event: Extract<ConversationEvent, { type: "callback_booked" | "callback_failed" }>,
  ctx: DecideContext,
): Decision {
  const d = new Draft(conversation, ctx);
  const c = d.c;
  if (c.callback?.state !== "requested") return d.done();
  if (event.type === "callback_failed") {
    c.callback = null;
    d.notice("ROUTER_CALLBACK_FAILED#0001");
    return d.done();
  }
  const at = event.at ?? c.callback.at;
  c.callback = { ...c.callback, state: "booked", since: ctx.now.toISOString(), at };
  d.notice("ROUTER_CALLBACK_REGISTERED#0001", at ? { at } : undefined);
  return d.done();
}

/** Ends the open episode with a notice; the conversation goes back to the bot if the channel has one. */
function endEpisode(d: Draft, code: string, disconnect: boolean): void {
  const { c, ctx } = d;
  const ep = c.episode!;
  if (disconnect) d.effects.push({ type: "disconnect_operator", episodeUuid: ep.uuid });
  d.notice(code, undefined, ep.uuid);
  ep.endedAt = ctx.now;
  ep.endCode = code;
  c.state = restingState(ctx.route);
  if (c.state === "bot") {
    c.botSessionOpen = true;
    d.effects.push({ type: "call_bot", event: "operator_returned", text: "", messageId: `${ep.uuid}#returned`, session: c.botSession });
  }
}

/**
 * A back-end answer's events (backends.md section 2). Each GMS index is
 * handled once: an index below the episode's position came in an answer
 * applied before (a poll's and a send's answers overlap), so it is skipped;
 * the position then moves to the answer's nextPosition, never back.
 */
function onOperatorUpdate(
  conversation: Conversation,
  { episodeUuid, events, nextPosition, alias }: Extract<ConversationEvent, { type: "operator_update" }>,
  ctx: DecideContext,
): Decision {
  const d = new Draft(conversation, ctx);
  const c = d.c;
  const handledBelow = c.episode?.uuid === episodeUuid ? c.episode.transcriptPosition : Infinity;
  for (const e of events) {
    // Events of an ended or replaced episode are late: nothing to tell the user.
    if (!episodeIsOpen(c) || c.episode!.uuid !== episodeUuid) break;
    if (e.index !== undefined && e.index < handledBelow) continue;
    const ep = c.episode!;
    switch (e.kind) {
      case "queue":
        ep.queuePosition = e.position;
        maybeQueuedNotice(d);
        break;
      case "joined":
        // The same agent told twice (Genesys Cloud: its first message and a state read racing it) is one join.
        if (c.state === "operator" && ep.agentNickname === e.nickname) break;
        ep.agentNickname = e.nickname;
        ep.lastActivityAt = ctx.now;
        d.notice("ROUTER_OPERATOR_JOINED#0001", { nickname: e.nickname }, ep.uuid);
        if (c.state === "queued") {
          c.state = "operator";
          ep.joinedAt = ctx.now;
          d.notice("FOREGROUND_CONVERSATION#0001", undefined, ep.uuid);
        }
        break;
      case "message": {
        ep.lastActivityAt = ctx.now;
        ep.idleWarnedAt = null;
        const message: ClientMessage = { kind: "text", text: e.text, conversationType: "operator", operator: { nickname: e.nickname } };
        d.effects.push({
          type: "send_client",
          message,
          episodeUuid: ep.uuid,
          ...(e.index !== undefined ? { transcriptIndex: e.index } : {}),
          ...(e.ackId !== undefined ? { ackId: e.ackId } : {}),
        });
        break;
      }
      case "file":
        ep.lastActivityAt = ctx.now;
        ep.idleWarnedAt = null;
        d.effects.push({ type: "receive_operator_file", episodeUuid: ep.uuid, file: withoutKind(e) });
        break;
      case "typing":
        ep.lastActivityAt = ctx.now;
        d.send({ kind: "chat_state", state: e.typing ? "composing" : "paused" }, ep.uuid);
        break;
      case "left":
        if (e.remaining <= 0) endEpisode(d, "GENESYS#0002", true);
        break;
      case "ended":
        endEpisode(d, "GENESYS#0002", false);
        break;
      case "idle_close":
        endEpisode(d, "GENESYS#0003", false);
        break;
      case "idle_alert":
        inactivityWarning(d, new Date(ctx.now.getTime() + idleWarningMs(ctx)));
        break;
      case "error":
        if (e.fatal) endEpisode(d, "GENESYS#0001", false);
        else d.notice("GENESYS_ERROR#0001", undefined, ep.uuid);
        break;
    }
  }
  const ep = c.episode;
  if (ep?.uuid !== episodeUuid) return d.done();
  if (nextPosition !== undefined) ep.transcriptPosition = Math.max(ep.transcriptPosition, nextPosition);
  // backends.md section 2: the alias GMS answered last is the one later calls carry.
  if (alias !== undefined && ep.chat) ep.chat = { ...ep.chat, alias };
  return d.done();
}

/** GMS updateNickname (issue 17) when the user's name changed; an episode that did not know its nickname (older ones) only learns it. */
function onRenamed(conversation: Conversation, e: Extract<ConversationEvent, { type: "user_renamed" }>, ctx: DecideContext): Decision {
  const d = new Draft(conversation, ctx);
  const ep = d.c.episode;
  if (!episodeIsOpen(d.c) || ep?.uuid !== e.episodeUuid || ep.nickname === e.nickname) return d.done();
  if (ep.nickname) d.effects.push({ type: "operator_nickname", episodeUuid: ep.uuid, nickname: e.nickname });
  ep.nickname = e.nickname;
  return d.done();
}

/**
 * XEP-0333 (protocol.md section 9): the client displayed the operator's
 * messages up to this index. GMS hears it as readReceipt; markers only move
 * forward (XEP-0333 section 7), and only to an index the episode has handled.
 */
function onDisplayed(conversation: Conversation, index: number, ctx: DecideContext): Decision {
  const d = new Draft(conversation, ctx);
  const ep = d.c.episode;
  if (!episodeIsOpen(d.c) || !ep?.chat || index >= ep.transcriptPosition || index <= (ep.readPosition ?? 0)) return d.done();
  ep.readPosition = index;
  d.effects.push({ type: "operator_read_receipt", episodeUuid: ep.uuid, position: index });
  return d.done();
}

const withoutKind = ({ kind: _kind, index: _index, ...file }: Extract<OperatorEvent, { kind: "file" }>) => file;

/** `estimatedWaitSeconds` when the service has an estimate. */
function waitData(ctx: DecideContext, serviceName: string): { estimatedWaitSeconds?: number } {
  const seconds = ctx.estimatedWaitSeconds?.(serviceName);
  return seconds === undefined ? {} : { estimatedWaitSeconds: seconds };
}

const idleWarningMs = (ctx: DecideContext) => ctx.timing.idleWarningMs ?? 60_000;

/** ROUTER_INACTIVITY_WARNING#0001, once until the next activity (issue 17: warn, then close). */
function inactivityWarning(d: Draft, closesAt: Date): void {
  const ep = d.c.episode!;
  if (ep.idleWarnedAt) return;
  ep.idleWarnedAt = d.ctx.now;
  d.notice("ROUTER_INACTIVITY_WARNING#0001", { closesAt: closesAt.toISOString() }, ep.uuid);
}

/** ROUTER_QUEUED#0001 is repeated when the position changes, at most every queuedNoticeIntervalMs. */
function maybeQueuedNotice(d: Draft): void {
  const ep = d.c.episode!;
  if (d.c.state !== "queued" || ep.queuePosition === null || ep.queuePosition === ep.notifiedQueuePosition) return;
  const last = ep.lastQueuedNoticeAt?.getTime() ?? -Infinity;
  if (d.ctx.now.getTime() - last < d.ctx.timing.queuedNoticeIntervalMs) return;
  ep.notifiedQueuePosition = ep.queuePosition;
  ep.lastQueuedNoticeAt = d.ctx.now;
  d.notice("ROUTER_QUEUED#0001", { position: ep.queuePosition, ...waitData(d.ctx, ep.serviceName) }, ep.uuid);
}

function onTick(conversation: Conversation, ctx: DecideContext): Decision {
  const d = new Draft(conversation, ctx);
  const c = d.c;
  const now = ctx.now.getTime();
  if (episodeIsOpen(c)) {
    const ep = c.episode!;
    if (c.state === "queued" && now - ep.requestedAt.getTime() >= ctx.timing.queueTimeoutMs) {
      endEpisode(d, "GENESYS#0003", true);
    } else if (c.state === "operator" && now - ep.lastActivityAt.getTime() >= ctx.timing.idleTimeoutMs) {
      endEpisode(d, "GENESYS#0003", true);
    } else if (c.state === "operator" && now - ep.lastActivityAt.getTime() >= ctx.timing.idleTimeoutMs - idleWarningMs(ctx)) {
      inactivityWarning(d, new Date(ep.lastActivityAt.getTime() + ctx.timing.idleTimeoutMs));
    } else {
      maybeQueuedNotice(d);
    }
  } else if (c.state === "voting" && c.votingUntil && ctx.now > c.votingUntil) {
    c.state = restingState(ctx.route);
    c.votingUntil = null;
  }
  return d.done();
}

export interface ConversationKey {
  userJid: string;
  channel: string;
  chatTitle: string;
}

/** What each client message says about the client; the latest one wins. */
export interface ClientMeta {
  apiVersion: Conversation["apiVersion"];
  lang: string;
  os: Conversation["os"];
  appVersion: string | null;
  premium: boolean;
  useChatDynamic: boolean;
  /** protocol.md section 9: a plain XMPP client, and the thread it sent (echoed). */
  plain?: boolean;
  clientThread?: string | null;
}

/** A conversation before its first message: resting where the channel's route puts it. */
export function newConversation(
  key: ConversationKey & { msisdn: string | null; addressing: Conversation["addressing"] },
  meta: ClientMeta,
  ctx: Pick<DecideContext, "now" | "route" | "newUuid">,
): Conversation {
  return {
    id: ctx.newUuid(),
    ...key,
    ...meta,
    state: restingState(ctx.route),
    botSession: 0,
    botSessionOpen: false,
    botOptions: null,
    episode: null,
    votingUntil: null,
    version: 0,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
}

/**
 * The conversation with the client's latest metadata (fields the message left
 * out keep their stored value); the same object when nothing changed.
 */
export function withClientMeta(c: Conversation, meta: Partial<ClientMeta>): Conversation {
  const given = Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) as Partial<ClientMeta>;
  const same = (Object.keys(given) as (keyof ClientMeta)[]).every((k) => c[k] === given[k]);
  return same ? c : { ...c, ...given };
}

/**
 * Whether two conversations hold the same values (dates by time, arrays and
 * objects by their values): what tells a step that it must save the
 * conversation. Made for its plain-data shape, far cheaper than a generic deep
 * equality.
 */
export function sameConversation(a: Conversation, b: Conversation): boolean {
  return a === b || sameValue(a, b, 0);
}

function sameValue(x: unknown, y: unknown, depth: number): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null || depth > 8) return false;
  if (x instanceof Date || y instanceof Date) return x instanceof Date && y instanceof Date && x.getTime() === y.getTime();
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  const xs = x as Record<string, unknown>;
  const ys = y as Record<string, unknown>;
  const keys = Object.keys(xs);
  if (keys.length !== Object.keys(ys).length) return false;
  for (const k of keys) if (!(k in ys) || !sameValue(xs[k], ys[k], depth + 1)) return false;
  return true;
}
