// The ports the router's shell needs from the outside world. Each adapter in
// adapters/ implements one; the core and the tests depend only on these.
import type { BotReply, BotRequest } from "./bot.js";
import type { OperatorEvent } from "./events.js";
import type { GenesysChatIds } from "./model.js";

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** backends.md section 1. Resolves with the bot's answer or rejects with a BotUnavailableError. */
export interface BotPort {
  send(url: string, request: BotRequest, options?: { timeoutMs?: number; secret?: string }): Promise<BotReply[]>;
}

export interface OperatorChatRequest {
  serviceName: string;
  nickname: string;
  subject: string;
  userData: Record<string, string>;
}

/** What one poll of an operator chat brought. */
export interface OperatorPoll {
  events: OperatorEvent[];
  /** transcriptPosition for the next poll. */
  nextPosition: number;
  /** The chat's alias when the back end changed it (GMS may, within a chat): later calls use it. */
  alias?: string;
}

/** backends.md sections 2 and 2b: a human-operator service (Genesys GMS Chat API v2, Genesys Cloud Open Messaging). */
export interface OperatorPort {
  requestChat(req: OperatorChatRequest): Promise<GenesysChatIds & { nextPosition: number }>;
  /**
   * `messageId`: a stable id of this message across retries, where the back-end takes one (Genesys Cloud).
   * `transcriptPosition`: where the back-end, if it can (GMS), answers with the transcript from
   * there on, as a refresh would; then the answer is that poll.
   */
  send(
    serviceName: string,
    chat: GenesysChatIds,
    text: string,
    messageId?: string,
    transcriptPosition?: number,
  ): Promise<OperatorPoll | void>;
  refresh(serviceName: string, chat: GenesysChatIds, transcriptPosition: number): Promise<OperatorPoll>;
  typing(serviceName: string, chat: GenesysChatIds, typing: boolean): Promise<void>;
  disconnect(serviceName: string, chat: GenesysChatIds): Promise<void>;
  updateData(serviceName: string, chat: GenesysChatIds, data: Record<string, string>): Promise<void>;
  customNotice(serviceName: string, chat: GenesysChatIds, text: string): Promise<void>;
  /** GMS readReceipt: the user has seen the transcript up to this index. Absent: the back-end has none (Genesys Cloud). */
  readReceipt?(serviceName: string, chat: GenesysChatIds, transcriptPosition: number): Promise<void>;
  /** GMS updateNickname: the user goes by another name from now on. Absent: the back-end has none. */
  updateNickname?(serviceName: string, chat: GenesysChatIds, nickname: string): Promise<void>;
}

/** backends.md section 2, GMS `…/file/limits` (Chat Server client-file-transfer options). */
export interface OperatorFileLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  /** Extensions allowed (lower case, no dot); empty: any. */
  fileTypes: string[];
  /** Chat Server's upload-need-agent: uploads only once an agent is in the chat. */
  needsAgent: boolean;
  /** What this chat has used already. */
  usedFiles: number;
  usedTotalBytes: number;
  /** Chat Server's download-attempts: downloads the client may make in this chat; absent: no limit given. */
  maxDownloads?: number;
  /** used-download-attempts: the downloads made so far. */
  usedDownloads?: number;
}

export interface OperatorFile {
  name: string;
  mediaType: string;
  content: Buffer;
}

/** The operator back-end's file calls (GMS Chat API v2 file management); only GMS has them. */
export interface OperatorFilesPort {
  limits(serviceName: string, chat: GenesysChatIds): Promise<OperatorFileLimits>;
  /** Uploads into the chat; `key` marks the upload so a retry can tell it already went (uploadedBefore). */
  upload(serviceName: string, chat: GenesysChatIds, file: OperatorFile, key: string): Promise<{ fileId: string }>;
  /** Whether the chat's transcript already has the client's upload marked with `key`. */
  uploadedBefore(serviceName: string, chat: GenesysChatIds, key: string): Promise<boolean>;
  /** At most `maxBytes`; larger is an error. */
  download(serviceName: string, chat: GenesysChatIds, fileId: string, maxBytes: number): Promise<OperatorFile>;
}

/** A file the back-end fetches itself, at the router's signed URL. */
export interface LinkedFile {
  url: string;
  name: string;
  mediaType: string;
}

/** Genesys Cloud Open Messaging's files (backends.md 2b): a URL in the message, both ways. */
export interface OperatorLinkFilesPort {
  /** The inbound open message with the file as its content; `messageId` is the same on every retry. */
  sendLink(serviceName: string, chat: GenesysChatIds, file: LinkedFile, messageId: string): Promise<void>;
  /** Downloads an agent's attachment from the URL Genesys gave, at most `maxBytes` (attachments/fetch.ts FetchFailure otherwise). */
  fetch(url: string, maxBytes: number): Promise<{ content: Buffer; mediaType: string | null }>;
}

/** backends.md section 3: `data.token` checks. */
export interface TokenVerifier {
  verify(token: string | undefined, msisdn: string): Promise<boolean>;
}

export interface RosterItem {
  jid: string;
  name?: string;
  groups: string[];
  subscription: "none" | "to" | "from" | "both" | "remove";
}

/** backends.md section 4: a user's roster on the XMPP server (XEP-0356). */
export interface RosterPort {
  /** Whether the server granted roster access; false means every call fails. */
  permitted(): boolean;
  get(userBareJid: string): Promise<RosterItem[]>;
  set(userBareJid: string, item: Omit<RosterItem, "subscription">): Promise<void>;
}

/** A callback as the back-end booked it. */
export interface BookedCallback {
  /** The back-end's id (GMS `_id`). */
  id: string;
  /** ISO 8601 time it is booked for, when the back-end says; null: as soon as possible. */
  at: string | null;
}

/** backends.md section 2c: the GMS Callback Services API (adapters/genesys/gms-callback.ts). */
export interface CallbackPort {
  /**
   * Books a call to `customerNumber` (the normalised MSISDN; it goes nowhere
   * else). `requestId` marks the booking so find() can tell it was made.
   */
  book(serviceName: string, request: { customerNumber: string; desiredTime: string | null; requestId: string }): Promise<BookedCallback>;
  /** The booking marked `requestId`, or null when the service has none. */
  find(serviceName: string, requestId: string): Promise<BookedCallback | null>;
}
