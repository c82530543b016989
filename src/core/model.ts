// The router's domain records, shared by the routing core, the store and the
// adapters. Plain data: no methods, no I/O. Row types and mappers live in
// store/, wire forms in protocol/.

import type { OpeningHours } from "./hours.js";

/** apiVersion of a conversation (protocol.md section 3); "1" also stands for none. */
export type ApiVersion = "1" | "2" | "2.1";

export type Platform = "web" | "android" | "ios";

/** protocol.md section 5: bot → queued → operator → closed → (voting → closed). */
export type ConversationState = "bot" | "queued" | "operator" | "closed" | "voting";

export const CONVERSATION_STATES: readonly ConversationState[] = ["bot", "queued", "operator", "closed", "voting"];

/** How the conversation was addressed (protocol.md section 1), which decides the thread of replies. */
export type Addressing =
  /** At the channel JID with an EiMe thread (section 3). */
  | { kind: "channel" }
  /** At the server-address JID with the channel address as thread; replies carry it back. */
  | { kind: "server"; serverAddress: string };

/** A bot button; `payload` is what the bot gets back when the user picks it. */
export interface BotOption {
  title: string;
  payload: string;
}

/**
 * One human-operator episode of a conversation (backends.md section 2).
 * v2.1 clients see `uuid` in the thread of its messages.
 */
export interface OperatorEpisode {
  uuid: string;
  /** GMS service name the chat was requested on (premium users may get another). */
  serviceName: string;
  /** Set once Genesys accepted the chat request. */
  chat: GenesysChatIds | null;
  /** Next `transcriptPosition` to poll with: every index below it was handled. */
  transcriptPosition: number;
  queuePosition: number | null;
  /** The position last told to the user (ROUTER_QUEUED#0001 is sent on change, rate-limited). */
  notifiedQueuePosition: number | null;
  requestedAt: Date;
  joinedAt: Date | null;
  agentNickname: string | null;
  /** Last sign of life from the operator side, for the idle timeout. */
  lastActivityAt: Date;
  lastQueuedNoticeAt: Date | null;
  /** When ROUTER_INACTIVITY_WARNING#0001 was sent; cleared by activity. Absent means never. */
  idleWarnedAt?: Date | null;
  /** The highest transcript index the user's client marked displayed (XEP-0333), told to GMS as readReceipt. Absent: none. */
  readPosition?: number | null;
  /** The `nickname` Genesys knows the user by (request chat, then updateNickname). Absent: not known (older episodes). */
  nickname?: string | null;
  endedAt: Date | null;
  /** Notice code sent when it ended, e.g. "GENESYS#0002". */
  endCode: string | null;
}

/**
 * A callback offered with ROUTER_QUEUE_FULL#0001 (backends.md section 2c) and
 * what became of it. ISO 8601 strings, as they travel (the row keeps it as JSON).
 */
export interface CallbackRequest {
  /** offered: the user may accept; requested: being booked (book_callback job); booked: ROUTER_CALLBACK_REGISTERED#0001 sent. */
  state: "offered" | "requested" | "booked";
  /** The GMS Callback service that books it; null: the bot takes the request (`operator_callback`). */
  serviceName: string | null;
  /** When the state was entered. */
  since: string;
  /** The time the user asked for (requested) or the one booked; null: as soon as possible. */
  at: string | null;
}

export interface GenesysChatIds {
  chatId: string;
  userId: string;
  secureKey: string;
  alias: string;
}

export interface Conversation {
  id: string;
  /** The user's bare JID; with channel and chatTitle it is the conversation's key. */
  userJid: string;
  /** Normalised MSISDN (the JID localpart) when it is one. */
  msisdn: string | null;
  channel: string;
  chatTitle: string;
  addressing: Addressing;
  apiVersion: ApiVersion;
  os: Platform | null;
  appVersion: string | null;
  premium: boolean;
  useChatDynamic: boolean;
  /**
   * A plain XMPP client (protocol.md section 9: no `x` element): replies are
   * rendered for it (src/protocol/plain-render.ts). Absent means false.
   */
  plain?: boolean;
  /** The `<thread>` a plain client last sent, echoed in replies; null when it sent none. */
  clientThread?: string | null;
  /** Attachments the user sent in this episode (bot session or operator episode); absent means 0. */
  attachmentsSent?: number;
  lang: string;
  state: ConversationState;
  /** Incremented by resetSession: the bot's `sender` is `{id}` or `{id}:{botSession}` after a reset. */
  botSession: number;
  /** False until the bot has been told `session_start` (again after it closed its session). */
  botSessionOpen: boolean;
  /** Options last offered in a chat_interactive reply, so "2" or a title selects one. */
  botOptions: BotOption[] | null;
  /** The open episode, or the last closed one (kept for voting). */
  episode: OperatorEpisode | null;
  votingUntil: Date | null;
  /** backends.md section 2c: the callback offered at a full queue, and its request (absent or null: none). */
  callback?: CallbackRequest | null;
  /** Optimistic concurrency: bumped by every save. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export type MessageDirection = "in" | "out";

/** A message of a conversation as stored (design.md rule 1). */
export interface StoredMessage {
  id: string;
  conversationId: string;
  direction: MessageDirection;
  /** "user", "bot", "operator" or "router". */
  author: "user" | "bot" | "operator" | "router";
  /** The x type: chat_text, chat_notice, chat_dynamic, chat_interactive. */
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  /** Duplicate-detection key, unique per sender (origin-id or stanza id). */
  dedupeKey: string | null;
  createdAt: Date;
}

export interface User {
  msisdn: string;
  /** hexsha256 of the normalised MSISDN (protocol.md section 3). */
  hash: string;
  name: string | null;
}

/** Route of a channel (operations.md, admin API): never shown to clients. */
export interface ChannelRoute {
  mode: "bot" | "operator" | "bot+operator";
  bot?: { url: string; timeoutMs?: number; secret?: string; idempotent?: boolean };
  genesys?: { serviceName: string; premiumServiceName?: string; queues?: string[] };
  /** Opening hours of the operator service (backends.md section 2c); unset: always open. */
  hours?: OpeningHours;
  /** backends.md 2b: Genesys Cloud Open Messaging in place of GMS. */
  genesysCloud?: { integrationId: string; queueId?: string };
  /** Episodes waiting in the queue of a service (all instances) beyond which a handover is refused (ROUTER_QUEUE_FULL#0001). */
  maxQueued?: number;
  /**
   * backends.md section 2c: what a full queue offers. `{serviceName}`: a GMS
   * Callback service books a call to the user's MSISDN; "bot": the request
   * goes to the bot as `operator_callback`. Unset: no callback is offered.
   */
  callback?: "bot" | { serviceName: string };
}

export interface ItemInfo {
  name: string;
  status: string;
  imageUrl: string;
  thumbUrl: string;
  /** Channels only. */
  defaultMessage?: string;
}

/** A node of the channel directory (protocol.md section 6), as the admin edits it. */
export interface DirectoryItem {
  address: string;
  type: "group" | "channel";
  serverAddress?: string;
  mobileIsPublished: boolean;
  webIsPublished: boolean;
  info: ItemInfo;
  /** Groups only. */
  items?: DirectoryItem[];
  /** Channels only. */
  route?: ChannelRoute;
}

export interface DirectoryTree {
  items: DirectoryItem[];
}
