// The engine of the Genesys GMS Chat API v2 simulator: chats, transcripts, the
// queue, scripted and imperative agents, client timeouts and injected failures.
// No HTTP here: server.ts maps the GMS routes and the control API onto it.
//
// It follows spec/backends.md section 2 and Genesys' public GMS documentation
// (Chat API Version 2, API Responses), never the router's code.
//
// ## Transcript
// Every chat has one transcript of events, indexed from 1 with no gaps:
// `{from: {nickname, participantId, type}, index, type, utcTime (ms), text?}`.
// Index 1 is the client's own ParticipantJoined. The client's own actions
// (Message, TypingStarted/Stopped, CustomNotice, ParticipantLeft) appear in it
// too, with `from.type: "Client"`, as in GMS. Participants: the client is 1,
// agents 2, 3, ...; notices of the system (queue, idle) come from
// `{nickname: "system", participantId: 0, type: "External"}`.
//
// ## Queue position (the form the router parses)
// GMS has no queue-position field in Chat API v2: a deployment's routing
// workflow writes it into the session as a notice (Genesys "send message or
// notice to chat session from workflow"), which the client reads in the
// transcript. The simulator does the same: while a chat waits for its first
// agent it appends
//
//   {type: "Notice", from: {nickname: "system", participantId: 0, type: "External"},
//    text: "Your position in queue: 2"}
//
// once when the chat is created and again whenever the position changes (a
// chat ahead of it in the same service got an agent or ended). Parse it with
// /position in queue:\s*(\d+)/i. The position counts the waiting chats of the
// same service name, oldest first. No notice once an agent has joined.
//
// ## Answers (statusCode semantics of the public GMS "API Responses" page)
// - 0: done. `chatEnded: true` once the chat is over (then refresh still returns
//   the transcript, so the client can read the final events).
// - 1: an error the client may retry (wrong userId/secureKey/alias: code 101;
//   injected transient errors: code 104 by default). `chatEnded` false.
// - 2: an error that retrying will not fix. Unknown chatId (or a chatId of
//   another service): code 102, `chatEnded: true`. Any call but refresh and
//   disconnect on an ended chat: code 103, `chatEnded: true`. Missing or
//   malformed fields: code 100. Exception: updateData on an ended chat is
//   accepted (post-chat data such as a satisfaction vote stays attached to the
//   interaction; the router's voting flow sends the vote this way). An injected error that ends the chat: code 249
//   ("Media server was not able to execute request", as seen in public GMS
//   answers), `chatEnded: true`.
// Error answers: `{messages: [], chatEnded, statusCode, alias?, chatId?, errors: [{code, advice}]}`;
// on a non-zero code no other field is valid (GMS API Responses), which an
// injection `withFields` shows by filling them with wrong values. Codes 8209
// (user logged out) and 8210 (bad secure key) end the chat in GMS; an
// injection may answer them.
//
// ## Alias
// GMS may change a chat's `alias` within the chat (backends.md section 2):
// `changeAlias()` does; the next successful answer carries the new one (a
// call with the old alias is still served until then), and from then on calls
// with the old one are refused (code 101).
// The codes are the simulator's own, except 249.
//
// ## nextPosition (as GMS)
// Every call accepts an optional `transcriptPosition`; given it, the answer's
// `messages` are the events with index >= it. Without it (send, typing, ...)
// `messages` is empty, and `nextPosition` is still last index + 1, as GMS
// answers (`{"messages":[],...,"nextPosition":3}` after a send): a client that
// polled from a send's nextPosition would skip events, so poll from the last
// refresh's. Refresh without `transcriptPosition` returns the whole transcript.
// Request chat answers `nextPosition: 1` and no messages: the first refresh
// returns the client's own ParticipantJoined.
//
// ## Read receipts and nickname
// readReceipt (`transcriptPosition`: what the client's user has read) and
// updateNickname (`nickname`) are recorded per chat (readReceipts(),
// nicknameUpdates(), and in the control API's chat detail); a new nickname is
// the one the client's later transcript events carry. Neither adds an event
// to the transcript.
//
// ## pushUrl and push notifications (push.ts)
// `…/{chatId}/pushUrl` (field `pushUrl`) sends a URL into the chat: a
// `PushUrl` event from the client, as the eServices Web API's SendUrl it
// replaces. GMS never calls that URL. Pushes to an HTTP server are another
// mechanism (GMS custom HTTP notifications): push.ts.
//
// ## Client timeout
// A chat whose client makes no authenticated call (refresh, send, ...) for
// `clientTimeoutMs` (default 30 s, 0 = never) is dropped like Genesys drops a
// client that stops polling: the client's ParticipantLeft, then chatEnded.
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import {
  DEFAULT_FILE_LIMITS,
  FILE_ERROR,
  fileEventData,
  fileSummary,
  limitsUserData,
  newSimFile,
  uploadProblem,
  type FileLimits,
  type SimFile,
  type UploadInput,
} from "./files.js";

export * from "./files.js";

export type ParticipantType = "Client" | "Agent" | "Supervisor" | "External";

export type TranscriptEventType =
  | "ParticipantJoined"
  | "ParticipantLeft"
  | "Message"
  | "TypingStarted"
  | "TypingStopped"
  | "Notice"
  | "CustomNotice"
  | "PushUrl"
  | "FileUploaded"
  | "FileDeleted"
  | "IdleAlert"
  | "IdleClose";

export interface Party {
  nickname: string;
  participantId: number;
  type: ParticipantType;
}

export interface TranscriptEvent {
  from: Party;
  index: number;
  type: TranscriptEventType;
  utcTime: number;
  text?: string;
  /** FileUploaded / FileDeleted: file-id, file-name, file-size, file-type (files.ts). */
  userData?: Record<string, string>;
}

/** What a scripted agent does in a chat. All times in ms. */
export interface AgentScript {
  /** Join this long after the chat was requested; unset: never by itself (use agentJoin). */
  joinAfterMs?: number;
  /** The agent's nickname; default "Operatore". */
  nickname?: string;
  /** Said right after joining. */
  greeting?: string;
  /** Answer each client message: "echo" ("Echo: <text>"), a list said in turn (cycling), or a function (undefined: no answer). */
  replies?: "echo" | string[] | ((text: string) => string | undefined);
  /**
   * On joining, the agent also answers (with `replies`) the messages the client
   * sent while queued, as a person reading the backlog would. Default false.
   */
  readsBacklog?: boolean;
  /** Before each reply: TypingStarted, this long, TypingStopped, then the Message. */
  typingBeforeReplyMs?: number;
  /** Leave (and so end the chat) this long after joining. */
  leaveAfterMs?: number;
  /** Agent inactive (no join or message) this long: IdleClose, chat ended. */
  idleCloseAfterMs?: number;
  /** IdleAlert this long after the agent's last activity; default half of idleCloseAfterMs. */
  idleAlertAfterMs?: number;
}

/** What the client asked for in request chat. */
export interface ChatRequestInfo {
  serviceName: string;
  nickname: string;
  firstName?: string;
  lastName?: string;
  subject?: string;
  userData: Record<string, string>;
}

/** A script for every chat, or one chosen per chat from its request. */
export type ScriptSource = AgentScript | ((info: ChatRequestInfo) => AgentScript | undefined);

export type GmsOp =
  | "request"
  | "send"
  | "refresh"
  | "startTyping"
  | "stopTyping"
  | "disconnect"
  | "updateData"
  | "customNotice"
  | "readReceipt"
  | "updateNickname"
  | "pushUrl"
  | FileOp;

/** The file calls (files.ts): …/file/limits, …/file, …/file/{fileId}/download, …/file/{fileId}/delete. */
export type FileOp = "fileLimits" | "fileUpload" | "fileDownload" | "fileDelete";
export const FILE_OPS: readonly FileOp[] = ["fileLimits", "fileUpload", "fileDownload", "fileDelete"];

export const CHAT_OPS: readonly GmsOp[] = [
  "send",
  "refresh",
  "startTyping",
  "stopTyping",
  "disconnect",
  "updateData",
  "customNotice",
  "readReceipt",
  "updateNickname",
  "pushUrl",
];

/** A failure to inject into the next matching GMS calls; injections are consumed in order. */
export interface Injection {
  /** Only this operation; unset: any. */
  op?: GmsOp;
  /** Only calls on this chat; unset: any. */
  chatId?: string;
  /** How many matching calls fail (default 1). */
  times?: number;
  /**
   * - "http500": HTTP 500, plain-text body, nothing done;
   * - "statusCode": HTTP 200 with a non-zero statusCode, nothing done (see statusCode, code, advice, endsChat);
   * - "garbage": HTTP 200 whose body is not JSON, nothing done;
   * - { delayMs }: the normal answer, that much later (the call is carried out after the delay).
   */
  kind: "http500" | "statusCode" | "garbage" | { delayMs: number };
  /** For "statusCode": default 2 when endsChat, else 1. */
  statusCode?: 1 | 2;
  /** For "statusCode": default 249 when endsChat, else 104. */
  code?: number;
  advice?: string;
  /** For "statusCode": the chat ends (chatEnded true in this and later answers). */
  endsChat?: boolean;
  /**
   * For "statusCode": the error answer also carries the chat's transcript,
   * nextPosition and a different alias, fields the GMS documentation says are
   * not valid on a non-zero code (a client must not use them).
   */
  withFields?: boolean;
}

export interface ClientMessage {
  index: number;
  text: string;
  utcTime: number;
}

export type EndReason = "client-disconnect" | "agent-left" | "idle-close" | "client-timeout" | "ended" | "error";

export interface GmsError {
  code: number;
  advice: string;
}

/** A GMS answer body (success or error). */
export interface GmsAnswer {
  messages: TranscriptEvent[];
  chatEnded: boolean;
  statusCode: 0 | 1 | 2;
  alias?: string;
  secureKey?: string;
  userId?: string;
  chatId?: string;
  nextPosition?: number;
  errors?: GmsError[];
  /** An upload's answer: {"file-id"}. */
  userData?: Record<string, string>;
}

/** What the HTTP layer sends back. */
export type Outcome =
  | { kind: "json"; body: GmsAnswer }
  | { kind: "http500" }
  | { kind: "garbage" }
  /** A download's bytes. */
  | { kind: "file"; file: SimFile };

/** One GMS call received, for assertions. */
export interface GmsRequestRecord {
  at: number;
  op: GmsOp;
  serviceName: string;
  chatId?: string;
  form: FormBody;
}

/** A parsed form body: plain fields, and `name[key]=value` fields gathered in `name`. */
export type FormBody = Record<string, string | Record<string, string>>;

export const SYSTEM_PARTY: Party = { nickname: "system", participantId: 0, type: "External" };
export const DEFAULT_AGENT_NICKNAME = "Operatore";
export const queueNoticeText = (position: number) => `Your position in queue: ${position}`;

/** What a file call brings beside its form: the uploaded file, or the fileId of the path. */
export interface FileCall {
  upload?: Omit<UploadInput, "userData">;
  fileId?: string;
}

export class ChatEndedError extends Error {
  constructor(chatId: string) {
    super(`chat ${chatId} has ended`);
    this.name = "ChatEndedError";
  }
}

export interface EngineOptions {
  script?: ScriptSource;
  /** Scripts by service name; they win over `script`. */
  scripts?: Record<string, AgentScript>;
  /** Default 30 000; 0 never drops a client. */
  clientTimeoutMs?: number;
  /** Accepted service names; unset: any. */
  services?: string[];
  /** Queue-position notices (default true). */
  queueNotices?: boolean;
  /** Chat Server's client-file-transfer limits; unset fields keep DEFAULT_FILE_LIMITS. */
  fileLimits?: Partial<FileLimits>;
  log?: (line: string) => void;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function chatIdLike(): string {
  // GMS chat ids look like "00048aAPEQJ8000U".
  const bytes = randomBytes(12);
  let s = "0004";
  for (const b of bytes) s += ALNUM[b % ALNUM.length];
  return s;
}

/** One chat of the simulator, with the controls a test (or the control API) uses. */
export class SimChat {
  readonly chatId = chatIdLike();
  readonly userId = hex(8).toUpperCase();
  readonly secureKey = hex(8);
  /** GMS may change the alias within a chat (backends.md section 2): calls must carry the current one. */
  #alias = String(100 + (randomBytes(1)[0] ?? 0));
  /** The alias before a change, still accepted until a successful answer has carried the new one. */
  #previousAlias: string | undefined;
  readonly createdAt = Date.now();
  readonly serviceName: string;
  /** The client's nickname: request chat's, then the last updateNickname's. */
  nickname: string;
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  readonly subject: string | undefined;
  /** The chat's attached data: request chat's userData, then every updateData merged in. */
  readonly userData: Record<string, string>;
  /** Each updateData call's userData, in order. */
  readonly userDataUpdates: Record<string, string>[] = [];
  /** When the client last made an authenticated call. */
  lastClientCallAt = Date.now();

  readonly #engine: GmsEngine;
  readonly #seq: number;
  readonly #client: Party;
  readonly #transcript: TranscriptEvent[] = [];
  readonly #clientMessages: ClientMessage[] = [];
  readonly #customNotices: string[] = [];
  readonly #readReceipts: number[] = [];
  readonly #nicknameUpdates: string[] = [];
  readonly #files: SimFile[] = [];
  #downloads = 0;
  readonly #agents = new Map<number, Party>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #nextParticipantId = 2;
  #typingFromClient = false;
  #agentTyping = false;
  #everJoined = false;
  #ended = false;
  #endReason: EndReason | undefined;
  #script: AgentScript | undefined;
  #replyTurn = 0;
  #queuePosition: number | undefined;
  #clientTimer: NodeJS.Timeout | undefined;
  #joinTimer: NodeJS.Timeout | undefined;
  #idleAlertTimer: NodeJS.Timeout | undefined;
  #idleCloseTimer: NodeJS.Timeout | undefined;

  constructor(engine: GmsEngine, seq: number, info: ChatRequestInfo, script: AgentScript | undefined) {
    this.#engine = engine;
    this.#seq = seq;
    this.serviceName = info.serviceName;
    this.nickname = info.nickname;
    this.firstName = info.firstName;
    this.lastName = info.lastName;
    this.subject = info.subject;
    this.userData = { ...info.userData };
    this.#client = { nickname: info.nickname, participantId: 1, type: "Client" };
    this.#script = script;
    this.#append(this.#client, "ParticipantJoined");
    this.#armClientTimeout();
    if (script?.joinAfterMs !== undefined) this.#scheduleJoin(script.joinAfterMs);
  }

  // ---- state -------------------------------------------------------------

  get alias(): string {
    return this.#alias;
  }

  /** Whether a call may carry this alias: the current one, or the previous one until the client was told. */
  acceptsAlias(alias: string | undefined): boolean {
    return alias === this.#alias || (this.#previousAlias !== undefined && alias === this.#previousAlias);
  }

  /** @internal a successful answer carried the current alias: the previous one is refused from now on. */
  aliasAnnounced(): void {
    this.#previousAlias = undefined;
  }

  /** The chat moves to another alias (as a Chat Server failover does); the old one is refused from now on. */
  changeAlias(next?: string): string {
    this.#previousAlias = this.#alias;
    this.#alias = next ?? String(Number(this.#alias) + 1);
    this.#engine.changed();
    return this.#alias;
  }

  get ended(): boolean {
    return this.#ended;
  }
  get endReason(): EndReason | undefined {
    return this.#endReason;
  }
  /** Is the client typing (its last typing call was startTyping)? */
  get typingFromClient(): boolean {
    return this.#typingFromClient;
  }
  get agentTypingNow(): boolean {
    return this.#agentTyping;
  }
  /** Agents in the chat now. */
  get agents(): Party[] {
    return [...this.#agents.values()];
  }
  /** Waiting for its first agent (and not ended). */
  get waiting(): boolean {
    return !this.#ended && !this.#everJoined;
  }
  /** The last queue position reported in the transcript, if any. */
  get queuePositionReported(): number | undefined {
    return this.#queuePosition;
  }
  get script(): AgentScript | undefined {
    return this.#script;
  }
  /** Last index + 1. */
  get nextPosition(): number {
    return this.#transcript.length + 1;
  }
  /** @internal creation order, for the queue. */
  get seq(): number {
    return this.#seq;
  }

  transcript(): TranscriptEvent[] {
    return this.#transcript.map((e) => ({ ...e, from: { ...e.from }, ...(e.userData ? { userData: { ...e.userData } } : {}) }));
  }
  /** Events with index >= position. */
  transcriptFrom(position: number): TranscriptEvent[] {
    return this.transcript().slice(Math.max(0, position - 1));
  }
  /** The texts the client sent (send), in order. */
  clientMessages(): ClientMessage[] {
    return this.#clientMessages.map((m) => ({ ...m }));
  }
  /** The messages of the client's customNotice calls, in order. */
  customNotices(): string[] {
    return [...this.#customNotices];
  }
  /** The transcriptPosition of each readReceipt call, in order: what the client said its user has read. */
  readReceipts(): number[] {
    return [...this.#readReceipts];
  }
  /** The nickname of each updateNickname call, in order. */
  nicknameUpdates(): string[] {
    return [...this.#nicknameUpdates];
  }

  /** Every file of the chat (the client's and the agents'), oldest first. */
  files(): SimFile[] {
    return [...this.#files];
  }

  /** The files the client uploaded that are not deleted: what the agent received. */
  filesFromClient(): SimFile[] {
    return this.#files.filter((f) => f.from === "Client" && !f.deleted);
  }

  findFile(fileId: string): SimFile | undefined {
    return this.#files.find((f) => f.fileId === fileId);
  }

  // ---- agent control -----------------------------------------------------

  /** An agent joins (ParticipantJoined); the chat leaves the queue. Returns the agent. */
  agentJoin(nickname?: string): Party {
    this.#assertOpen();
    const agent: Party = {
      nickname: nickname ?? this.#script?.nickname ?? DEFAULT_AGENT_NICKNAME,
      participantId: this.#nextParticipantId++,
      type: "Agent",
    };
    this.#agents.set(agent.participantId, agent);
    this.#clear(this.#joinTimer);
    const first = !this.#everJoined;
    this.#everJoined = true;
    this.#append(agent, "ParticipantJoined");
    if (first) this.#engine.recomputeQueue(this.serviceName);
    this.#armIdle();
    return agent;
  }

  /** The (first present) agent says text. */
  agentSay(text: string): void {
    const agent = this.#agent();
    this.#append(agent, "Message", text);
    this.#armIdle();
  }

  /** The (first present) agent sends a file: a FileUploaded event the client downloads. */
  agentSendFile(input: UploadInput): SimFile {
    const agent = this.#agent();
    const file = newSimFile(input, "Agent");
    this.#files.push(file);
    this.#append(agent, "FileUploaded", undefined, fileEventData(file));
    this.#armIdle();
    return file;
  }

  /** TypingStarted (on) or TypingStopped (off) from the agent. */
  agentTyping(on: boolean): void {
    const agent = this.#agent();
    this.#agentTyping = on;
    this.#append(agent, on ? "TypingStarted" : "TypingStopped");
  }

  /**
   * The (last joined) agent leaves: ParticipantLeft. When no agent is left the
   * chat ends (chatEnded), unless endChat is false.
   */
  agentLeave(opts: { endChat?: boolean } = {}): void {
    this.#assertOpen();
    const agent = [...this.#agents.values()].at(-1);
    if (!agent) throw new Error(`chat ${this.chatId} has no agent to leave`);
    this.#agents.delete(agent.participantId);
    this.#agentTyping = false;
    this.#append(agent, "ParticipantLeft");
    if (this.#agents.size === 0) {
      this.#clearIdle();
      if (opts.endChat ?? true) this.#end("agent-left");
    }
  }

  /** An IdleAlert notice (the chat stays open). */
  idleAlert(text = "The chat will be closed soon because of inactivity."): void {
    this.#assertOpen();
    this.#append(SYSTEM_PARTY, "IdleAlert", text);
  }

  /** IdleClose, then the chat ends. */
  idleClose(text = "The chat was closed because of inactivity."): void {
    this.#assertOpen();
    this.#append(SYSTEM_PARTY, "IdleClose", text);
    this.#end("idle-close");
  }

  /**
   * Chat Server's idle control as the GMS documentation describes it
   * (backends.md section 2): a Notice naming IDLE_CONTROL_ALERT (the chat
   * stays open) or IDLE_CONTROL_CLOSE (then the chat ends).
   */
  idleControl(stage: "alert" | "close"): void {
    this.#assertOpen();
    this.#append(SYSTEM_PARTY, "Notice", stage === "alert" ? "IDLE_CONTROL_ALERT" : "IDLE_CONTROL_CLOSE");
    if (stage === "close") this.#end("idle-close");
  }

  /** The chat ends with no event in the transcript (chatEnded: true from now on). */
  end(reason: EndReason = "ended"): void {
    this.#assertOpen();
    this.#end(reason);
  }

  /** Reports a queue position now (a Notice), whatever the computed one. */
  queuePosition(position: number): void {
    this.#assertOpen();
    this.#queuePosition = position;
    this.#append(SYSTEM_PARTY, "Notice", queueNoticeText(position));
  }

  /** Any other event, e.g. a PushUrl or a Supervisor's message. */
  appendEvent(from: Party, type: TranscriptEventType, text?: string): TranscriptEvent {
    this.#assertOpen();
    return this.#append(from, type, text);
  }

  /** Replaces this chat's script; schedules its join when no agent joined yet. */
  applyScript(script: AgentScript | undefined): void {
    this.#script = script;
    this.#clear(this.#joinTimer);
    this.#joinTimer = undefined;
    if (!this.#ended && !this.#everJoined && script?.joinAfterMs !== undefined) this.#scheduleJoin(script.joinAfterMs);
  }

  // ---- client actions (the GMS calls) ------------------------------------

  /** @internal any authenticated call keeps the client alive. */
  clientCalled(): void {
    this.lastClientCallAt = Date.now();
    this.#armClientTimeout();
  }

  clientSend(text: string): void {
    this.#assertOpen();
    const e = this.#append(this.#client, "Message", text);
    this.#clientMessages.push({ index: e.index, text, utcTime: e.utcTime });
    this.#engine.changed(); // again: #append announced the change before the message was recorded here
    this.#scheduleReply(text);
  }

  clientTyping(on: boolean): void {
    this.#assertOpen();
    this.#typingFromClient = on;
    this.#append(this.#client, on ? "TypingStarted" : "TypingStopped");
  }

  clientDisconnect(): void {
    if (this.#ended) return;
    this.#typingFromClient = false;
    this.#append(this.#client, "ParticipantLeft");
    this.#end("client-disconnect");
  }

  /** Also after the end: post-chat data (a vote) stays attached to the interaction. */
  clientUpdateData(data: Record<string, string>): void {
    this.userDataUpdates.push({ ...data });
    Object.assign(this.userData, data);
    this.#engine.changed();
  }

  /** The client's upload: the file-id, or why the limits refuse it. */
  clientUpload(limits: FileLimits, input: UploadInput): SimFile | { problem: string } {
    this.#assertOpen();
    const problem = uploadProblem(limits, this.#files, input, this.#agents.size > 0);
    if (problem) return { problem };
    const file = newSimFile(input, "Client");
    this.#files.push(file);
    this.#append(this.#client, "FileUploaded", undefined, fileEventData(file));
    return file;
  }

  /** @internal the limits Notice's userData. */
  fileLimitsData(limits: FileLimits): Record<string, string> {
    return limitsUserData(
      limits,
      this.#files.filter((f) => !f.deleted),
      this.#downloads,
    );
  }

  /** A file the client may download (not deleted), counted; "spent" past download-attempts. */
  clientDownload(fileId: string, limits: FileLimits): SimFile | "spent" | undefined {
    const f = this.findFile(fileId);
    if (!f || f.deleted) return undefined;
    if (this.#downloads >= limits.downloadAttempts) return "spent";
    this.#downloads++;
    return f;
  }

  clientDeleteFile(fileId: string): boolean {
    this.#assertOpen();
    const f = this.findFile(fileId);
    if (!f || f.deleted) return false;
    f.deleted = true;
    this.#append(this.#client, "FileDeleted", undefined, { "file-id": fileId });
    return true;
  }

  /** readReceipt: the client's user has read the transcript up to `position`. */
  clientReadReceipt(position: number): void {
    this.#assertOpen();
    this.#readReceipts.push(position);
    this.#engine.changed();
  }

  /** updateNickname: the client goes by another name from now on (its later events carry it). */
  clientUpdateNickname(nickname: string): void {
    this.#assertOpen();
    this.#nicknameUpdates.push(nickname);
    this.nickname = nickname;
    this.#client.nickname = nickname;
    this.#engine.changed();
  }

  /** The client shares a page: a PushUrl event with the URL as its text (the agent sees it). */
  clientPushUrl(url: string): void {
    this.#assertOpen();
    this.#append(this.#client, "PushUrl", url);
  }

  clientCustomNotice(text: string): void {
    this.#assertOpen();
    this.#customNotices.push(text);
    this.#append(this.#client, "CustomNotice", text);
  }

  // ---- internals ---------------------------------------------------------

  /** @internal called by the engine when the queue may have moved. */
  reportQueuePosition(position: number): void {
    if (this.#ended || this.#everJoined || this.#queuePosition === position) return;
    this.queuePosition(position);
  }

  /** @internal */
  dispose(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#clientTimer = this.#joinTimer = this.#idleAlertTimer = this.#idleCloseTimer = undefined;
  }

  #append(from: Party, type: TranscriptEventType, text?: string, userData?: Record<string, string>): TranscriptEvent {
    const e: TranscriptEvent = { from: { ...from }, index: this.#transcript.length + 1, type, utcTime: Date.now() };
    if (text !== undefined) e.text = text;
    if (userData !== undefined) e.userData = { ...userData };
    this.#transcript.push(e);
    this.#engine.appended(this, e);
    this.#engine.log(
      `chat ${this.chatId} #${e.index} ${type} from ${from.type}:${from.nickname}${text !== undefined ? ` ${JSON.stringify(text)}` : ""}`,
    );
    this.#engine.changed();
    return e;
  }

  #end(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#endReason = reason;
    this.#agentTyping = false;
    this.dispose();
    this.#engine.log(`chat ${this.chatId} ended (${reason})`);
    this.#engine.recomputeQueue(this.serviceName);
    this.#engine.changed();
  }

  #assertOpen(): void {
    if (this.#ended) throw new ChatEndedError(this.chatId);
  }

  #agent(): Party {
    this.#assertOpen();
    const agent = this.#agents.values().next().value;
    if (!agent) throw new Error(`chat ${this.chatId} has no agent`);
    return agent;
  }

  #later(ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        if (this.#ended) return;
        try {
          fn();
        } catch (err) {
          // A scripted step can race with the test ending the chat; that is fine.
          if (!(err instanceof ChatEndedError)) this.#engine.log(`chat ${this.chatId} script error: ${String(err)}`);
        }
      },
      Math.max(0, ms),
    );
    this.#timers.add(t);
    return t;
  }

  #clear(t: NodeJS.Timeout | undefined): void {
    if (t === undefined) return;
    clearTimeout(t);
    this.#timers.delete(t);
  }

  #armClientTimeout(): void {
    this.#clear(this.#clientTimer);
    this.#clientTimer = undefined;
    const ms = this.#engine.clientTimeoutMs;
    if (this.#ended || ms <= 0) return;
    this.#clientTimer = this.#later(ms, () => {
      this.#engine.log(`chat ${this.chatId}: no client call for ${ms} ms, dropping the client`);
      this.#typingFromClient = false;
      this.#append(this.#client, "ParticipantLeft");
      this.#end("client-timeout");
    });
  }

  #scheduleJoin(ms: number): void {
    this.#joinTimer = this.#later(ms, () => {
      const script = this.#script;
      this.agentJoin(script?.nickname);
      if (script?.greeting !== undefined) this.agentSay(script.greeting);
      if (script?.readsBacklog) this.#answerBacklog();
      if (script?.leaveAfterMs !== undefined) {
        this.#later(script.leaveAfterMs, () => {
          if (this.#agents.size > 0) this.agentLeave();
        });
      }
    });
  }

  #answerBacklog(): void {
    for (const m of this.#clientMessages) this.#scheduleReply(m.text);
  }

  #scheduleReply(text: string): void {
    const script = this.#script;
    const replies = script?.replies;
    if (replies === undefined || this.#agents.size === 0) return;
    let answer: string | undefined;
    if (replies === "echo") answer = `Echo: ${text}`;
    else if (Array.isArray(replies)) answer = replies.length > 0 ? replies[this.#replyTurn++ % replies.length] : undefined;
    else answer = replies(text);
    if (answer === undefined) return;
    const say = answer;
    const typingMs = script?.typingBeforeReplyMs ?? 0;
    if (typingMs > 0) {
      this.agentTyping(true);
      this.#later(typingMs, () => {
        if (this.#agents.size === 0) return;
        this.agentTyping(false);
        this.agentSay(say);
      });
    } else {
      this.#later(0, () => {
        if (this.#agents.size > 0) this.agentSay(say);
      });
    }
  }

  #clearIdle(): void {
    this.#clear(this.#idleAlertTimer);
    this.#clear(this.#idleCloseTimer);
    this.#idleAlertTimer = this.#idleCloseTimer = undefined;
  }

  /** Agent activity: restarts the inactivity timers of the script, if it has them. */
  #armIdle(): void {
    this.#clearIdle();
    const closeMs = this.#script?.idleCloseAfterMs;
    if (closeMs === undefined || this.#ended || this.#agents.size === 0) return;
    const alertMs = this.#script?.idleAlertAfterMs ?? Math.floor(closeMs / 2);
    if (alertMs < closeMs) this.#idleAlertTimer = this.#later(alertMs, () => this.idleAlert());
    this.#idleCloseTimer = this.#later(closeMs, () => this.idleClose());
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function str(form: FormBody, key: string): string | undefined {
  const v = form[key];
  return typeof v === "string" ? v : undefined;
}

function map(form: FormBody, key: string): Record<string, string> {
  const v = form[key];
  return typeof v === "object" ? { ...v } : {};
}

function errorAnswer(
  statusCode: 1 | 2,
  code: number,
  advice: string,
  chatEnded: boolean,
  chat?: { alias: string; chatId: string },
): GmsAnswer {
  const body: GmsAnswer = { messages: [], chatEnded, statusCode };
  if (chat) {
    body.alias = chat.alias;
    body.chatId = chat.chatId;
  }
  body.errors = [{ code, advice }];
  return body;
}

export const ERROR = {
  badRequest: 100,
  credentials: 101,
  chatNotFound: 102,
  chatEnded: 103,
  transient: 104,
  unknownService: 105,
  mediaServer: 249,
} as const;

/** The simulator's state and the GMS call handling, without HTTP. */
export class GmsEngine {
  readonly clientTimeoutMs: number;
  readonly requests: GmsRequestRecord[] = [];
  readonly #chats = new Map<string, SimChat>();
  readonly #emitter = new EventEmitter();
  #injections: (Injection & { left: number })[] = [];
  #script: ScriptSource | undefined;
  readonly #scripts: Record<string, AgentScript>;
  readonly #services: string[] | undefined;
  readonly #queueNotices: boolean;
  readonly #log: (line: string) => void;
  /** Chat Server's client-file-transfer limits (setFileLimits changes them). */
  fileLimits: FileLimits;
  #seq = 0;

  constructor(opts: EngineOptions = {}) {
    this.clientTimeoutMs = opts.clientTimeoutMs ?? 30_000;
    this.#script = opts.script;
    this.#scripts = { ...opts.scripts };
    this.#services = opts.services;
    this.#queueNotices = opts.queueNotices ?? true;
    this.fileLimits = { ...DEFAULT_FILE_LIMITS, ...opts.fileLimits };
    this.#log = opts.log ?? (() => {});
    this.#emitter.setMaxListeners(0);
  }

  log(line: string): void {
    this.#log(line);
  }

  /** @internal something changed: wake the waiters. */
  changed(): void {
    this.#emitter.emit("change");
  }

  /** @internal a chat's transcript got an event. */
  appended(chat: SimChat, event: TranscriptEvent): void {
    this.#emitter.emit("event", chat, event);
  }

  /** Calls `listener` with every transcript event appended from now on (push.ts); returns the function that stops it. */
  onTranscriptEvent(listener: (chat: SimChat, event: TranscriptEvent) => void): () => void {
    this.#emitter.on("event", listener);
    return () => this.#emitter.off("event", listener);
  }

  // ---- control -----------------------------------------------------------

  /** The default script for chats requested from now on (per-service scripts still win). */
  setScript(script: ScriptSource | undefined): void {
    this.#script = script;
  }

  /** Chat Server's file limits from now on (unset fields keep their value). */
  setFileLimits(limits: Partial<FileLimits>): void {
    this.fileLimits = { ...this.fileLimits, ...limits };
  }

  /** The script for chats of one service, requested from now on. */
  setServiceScript(serviceName: string, script: AgentScript | undefined): void {
    if (script) this.#scripts[serviceName] = script;
    else delete this.#scripts[serviceName];
  }

  chat(chatId: string): SimChat {
    const c = this.#chats.get(chatId);
    if (!c) throw new Error(`no chat ${chatId}`);
    return c;
  }

  findChat(chatId: string): SimChat | undefined {
    return this.#chats.get(chatId);
  }

  /** Every chat, oldest first. */
  chats(): SimChat[] {
    return [...this.#chats.values()];
  }

  inject(injection: Injection): void {
    this.#injections.push({ ...injection, left: injection.times ?? 1 });
  }

  clearInjections(): void {
    this.#injections = [];
  }

  /** Injections not used up yet. */
  pendingInjections(): Injection[] {
    return this.#injections.map(({ left, ...i }) => ({ ...i, times: left }));
  }

  /** Resolves with the first chat (now or later) for which predicate holds. */
  waitForChat(predicate: (chat: SimChat) => boolean, timeoutMs = 5_000): Promise<SimChat> {
    return this.#wait(() => this.chats().find((c) => safe(predicate, c)), timeoutMs, "waitForChat");
  }

  /** Resolves with the chat once it exists and predicate holds. */
  waitFor(chatId: string, predicate: (chat: SimChat) => boolean, timeoutMs = 5_000): Promise<SimChat> {
    return this.#wait(
      () => {
        const c = this.#chats.get(chatId);
        return c && safe(predicate, c) ? c : undefined;
      },
      timeoutMs,
      `waitFor(${chatId})`,
    );
  }

  /** Recomputes the queue positions of a service and reports the changed ones. */
  recomputeQueue(serviceName: string): void {
    if (!this.#queueNotices) return;
    const waiting = this.chats()
      .filter((c) => c.serviceName === serviceName && c.waiting)
      .sort((a, b) => a.seq - b.seq);
    waiting.forEach((c, i) => c.reportQueuePosition(i + 1));
  }

  /** Ends nothing, forgets every chat, injection and request. */
  reset(): void {
    for (const c of this.#chats.values()) c.dispose();
    this.#chats.clear();
    this.#injections = [];
    this.requests.length = 0;
    this.changed();
  }

  dispose(): void {
    for (const c of this.#chats.values()) c.dispose();
  }

  summary(chat: SimChat): ChatSummary {
    return {
      chatId: chat.chatId,
      serviceName: chat.serviceName,
      nickname: chat.nickname,
      subject: chat.subject,
      createdAt: chat.createdAt,
      ended: chat.ended,
      endReason: chat.endReason,
      waiting: chat.waiting,
      queuePosition: chat.queuePositionReported,
      agents: chat.agents.map((a) => a.nickname),
      typingFromClient: chat.typingFromClient,
      nextPosition: chat.nextPosition,
      clientMessages: chat.clientMessages().length,
      userData: { ...chat.userData },
    };
  }

  detail(chat: SimChat): ChatDetail {
    return {
      ...this.summary(chat),
      transcript: chat.transcript(),
      clientMessages: chat.clientMessages(),
      customNotices: chat.customNotices(),
      readReceipts: chat.readReceipts(),
      nicknameUpdates: chat.nicknameUpdates(),
      userDataUpdates: chat.userDataUpdates.map((u) => ({ ...u })),
      files: chat.files().map(fileSummary),
    };
  }

  // ---- the GMS calls -----------------------------------------------------

  async handle(op: GmsOp, serviceName: string, chatId: string | undefined, form: FormBody, file?: FileCall): Promise<Outcome> {
    const record: GmsRequestRecord = { at: Date.now(), op, serviceName, form };
    if (chatId !== undefined) record.chatId = chatId;
    this.requests.push(record);

    const injection = this.#take(op, chatId);
    if (injection) {
      const k = injection.kind;
      this.log(`${op}${chatId ? ` ${chatId}` : ""}: injected ${typeof k === "object" ? `delay ${k.delayMs} ms` : k}`);
      if (typeof k === "object") await sleep(k.delayMs);
      else if (k === "http500") return { kind: "http500" };
      else if (k === "garbage") return { kind: "garbage" };
      else {
        const chat = chatId === undefined ? undefined : this.#chats.get(chatId);
        const ends = injection.endsChat ?? false;
        if (ends && chat && !chat.ended) chat.end("error");
        const statusCode = injection.statusCode ?? (ends ? 2 : 1);
        const code = injection.code ?? (ends ? ERROR.mediaServer : ERROR.transient);
        const advice =
          injection.advice ?? (ends ? "Media server was not able to execute request." : "Chat Server is temporarily unavailable, retry.");
        this.changed();
        const body = errorAnswer(statusCode, code, advice, ends || (chat?.ended ?? false), chat);
        if (injection.withFields && chat) {
          body.messages = chat.transcript();
          body.nextPosition = chat.nextPosition + 10;
          body.alias = `${chat.alias}9`;
        }
        return { kind: "json", body };
      }
    }

    if (op === "request") return { kind: "json", body: this.#request(serviceName, form) };
    if ((FILE_OPS as readonly string[]).includes(op)) return this.#fileOp(op as FileOp, serviceName, chatId ?? "", form, file ?? {});
    return { kind: "json", body: this.#chatOp(op, serviceName, chatId ?? "", form) };
  }

  #request(serviceName: string, form: FormBody): GmsAnswer {
    if (this.#services && !this.#services.includes(serviceName)) {
      return errorAnswer(2, ERROR.unknownService, `Service ${serviceName} is not configured.`, false);
    }
    const firstName = str(form, "firstName");
    const lastName = str(form, "lastName");
    const nicknameField = str(form, "nickname");
    if (!nicknameField && !(firstName && lastName)) {
      return errorAnswer(2, ERROR.badRequest, "Either nickname or both firstName and lastName should be supplied.", false);
    }
    const info: ChatRequestInfo = {
      serviceName,
      nickname: nicknameField || `${firstName} ${lastName}`,
      userData: map(form, "userData"),
    };
    if (firstName !== undefined) info.firstName = firstName;
    if (lastName !== undefined) info.lastName = lastName;
    const subject = str(form, "subject");
    if (subject !== undefined) info.subject = subject;

    const source = this.#script;
    const script = this.#scripts[serviceName] ?? (typeof source === "function" ? source(info) : source);
    const chat = new SimChat(this, ++this.#seq, info, script);
    this.#chats.set(chat.chatId, chat);
    this.log(`chat ${chat.chatId} requested on ${serviceName} by ${info.nickname}`);
    this.recomputeQueue(serviceName);
    this.changed();
    return {
      messages: [],
      chatEnded: false,
      statusCode: 0,
      alias: chat.alias,
      secureKey: chat.secureKey,
      userId: chat.userId,
      chatId: chat.chatId,
      nextPosition: 1,
    };
  }

  /** The chat a call names, when its ids are right; the error answer otherwise. */
  #authorized(serviceName: string, chatId: string, form: FormBody): SimChat | GmsAnswer {
    const chat = this.#chats.get(chatId);
    if (!chat || chat.serviceName !== serviceName) {
      return errorAnswer(2, ERROR.chatNotFound, `Chat session ${chatId} was not found.`, true);
    }
    if (str(form, "userId") !== chat.userId || str(form, "secureKey") !== chat.secureKey || !chat.acceptsAlias(str(form, "alias"))) {
      return errorAnswer(1, ERROR.credentials, "Invalid userId, secureKey or alias for this chat session.", false, chat);
    }
    chat.clientCalled();
    return chat;
  }

  /** The file calls (files.ts). */
  #fileOp(op: FileOp, serviceName: string, chatId: string, form: FormBody, call: FileCall): Outcome {
    const chat = this.#authorized(serviceName, chatId, form);
    if (!(chat instanceof SimChat)) return { kind: "json", body: chat };
    const json = (body: GmsAnswer): Outcome => ({ kind: "json", body });
    if (chat.ended && op !== "fileDownload") return json(errorAnswer(2, ERROR.chatEnded, "Chat session has ended.", true, chat));
    switch (op) {
      case "fileLimits": {
        const answer = this.#ok(chat, undefined);
        delete answer.nextPosition;
        const from = { nickname: chat.nickname, participantId: 1, type: "Client" as const };
        const data = chat.fileLimitsData(this.fileLimits);
        answer.messages = [{ from, index: 0, type: "Notice", utcTime: Date.now(), text: "file-client-cfg-get", userData: data }];
        return json(answer);
      }
      case "fileUpload": {
        if (!call.upload) return json(errorAnswer(2, ERROR.badRequest, "file is required (multipart/form-data).", false, chat));
        const done = chat.clientUpload(this.fileLimits, { ...call.upload, userData: map(form, "userData") });
        if ("problem" in done) return json(errorAnswer(2, FILE_ERROR.limit, done.problem, false, chat));
        return json({ ...this.#ok(chat, undefined), userData: { "file-id": done.fileId } });
      }
      case "fileDownload": {
        const f = chat.clientDownload(call.fileId ?? "", this.fileLimits);
        if (f === "spent") return json(errorAnswer(2, FILE_ERROR.downloads, "download-attempts reached.", chat.ended, chat));
        return f
          ? { kind: "file", file: f }
          : json(errorAnswer(2, FILE_ERROR.noFile, `File ${call.fileId} was not found.`, chat.ended, chat));
      }
      case "fileDelete":
        if (!chat.clientDeleteFile(call.fileId ?? ""))
          return json(errorAnswer(2, FILE_ERROR.noFile, `File ${call.fileId} was not found.`, false, chat));
        return json(this.#ok(chat, undefined));
    }
  }

  #chatOp(op: GmsOp, serviceName: string, chatId: string, form: FormBody): GmsAnswer {
    const chat = this.#authorized(serviceName, chatId, form);
    if (!(chat instanceof SimChat)) return chat;

    const rawPosition = str(form, "transcriptPosition");
    let position: number | undefined;
    if (rawPosition !== undefined && rawPosition !== "") {
      if (!/^-?\d+$/.test(rawPosition)) {
        return errorAnswer(2, ERROR.badRequest, "transcriptPosition must be an integer.", chat.ended, chat);
      }
      position = Math.max(1, Number(rawPosition));
    }

    if (chat.ended && op !== "updateData") {
      if (op === "refresh" || op === "disconnect") return this.#ok(chat, op === "refresh" ? (position ?? 1) : position);
      return errorAnswer(2, ERROR.chatEnded, "Chat session has ended.", true, chat);
    }

    switch (op) {
      case "refresh":
        return this.#ok(chat, position ?? 1);
      case "send": {
        const message = str(form, "message");
        if (!message) return errorAnswer(2, ERROR.badRequest, "message is required.", false, chat);
        chat.clientSend(message);
        break;
      }
      case "startTyping":
      case "stopTyping":
        chat.clientTyping(op === "startTyping");
        break;
      case "disconnect":
        chat.clientDisconnect();
        break;
      case "updateData":
        chat.clientUpdateData(map(form, "userData"));
        break;
      case "customNotice":
        chat.clientCustomNotice(str(form, "message") ?? "");
        break;
      case "readReceipt":
        // The position is what was read, not where an answer's messages start.
        if (position === undefined) return errorAnswer(2, ERROR.badRequest, "transcriptPosition is required.", false, chat);
        chat.clientReadReceipt(position);
        return this.#ok(chat, undefined);
      case "updateNickname": {
        const nickname = str(form, "nickname");
        if (!nickname) return errorAnswer(2, ERROR.badRequest, "nickname is required.", false, chat);
        chat.clientUpdateNickname(nickname);
        break;
      }
      case "pushUrl": {
        // GMS Chat API v2 …/pushUrl, as the eServices Web API's SendUrl (field pushUrl): a URL sent into the chat.
        const url = str(form, "pushUrl");
        if (!url) return errorAnswer(2, ERROR.badRequest, "pushUrl is required.", false, chat);
        chat.clientPushUrl(url);
        break;
      }
      default:
        break;
    }
    return this.#ok(chat, position);
  }

  #ok(chat: SimChat, position: number | undefined): GmsAnswer {
    chat.aliasAnnounced();
    return {
      messages: position === undefined ? [] : chat.transcriptFrom(position),
      chatEnded: chat.ended,
      statusCode: 0,
      alias: chat.alias,
      secureKey: chat.secureKey,
      userId: chat.userId,
      chatId: chat.chatId,
      nextPosition: chat.nextPosition,
    };
  }

  #take(op: GmsOp, chatId: string | undefined): Injection | undefined {
    const i = this.#injections.findIndex(
      (inj) => (inj.op === undefined || inj.op === op) && (inj.chatId === undefined || inj.chatId === chatId),
    );
    if (i < 0) return undefined;
    const inj = this.#injections[i];
    if (!inj) return undefined;
    inj.left -= 1;
    if (inj.left <= 0) this.#injections.splice(i, 1);
    return inj;
  }

  #wait(find: () => SimChat | undefined, timeoutMs: number, what: string): Promise<SimChat> {
    return new Promise((resolve, reject) => {
      const now = find();
      if (now) return resolve(now);
      const onChange = () => {
        const c = find();
        if (!c) return;
        cleanup();
        resolve(c);
      };
      const timer = setTimeout(() => {
        cleanup();
        const chats = this.chats().map((c) => this.summary(c));
        reject(new Error(`${what}: nothing matched within ${timeoutMs} ms; chats: ${JSON.stringify(chats)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#emitter.off("change", onChange);
      };
      this.#emitter.on("change", onChange);
    });
  }
}

export interface ChatSummary {
  chatId: string;
  serviceName: string;
  nickname: string;
  subject: string | undefined;
  createdAt: number;
  ended: boolean;
  endReason: EndReason | undefined;
  waiting: boolean;
  queuePosition: number | undefined;
  agents: string[];
  typingFromClient: boolean;
  nextPosition: number;
  clientMessages: number;
  userData: Record<string, string>;
}

export interface ChatDetail extends Omit<ChatSummary, "clientMessages"> {
  transcript: TranscriptEvent[];
  clientMessages: ClientMessage[];
  customNotices: string[];
  readReceipts: number[];
  nicknameUpdates: string[];
  userDataUpdates: Record<string, string>[];
  files: ReturnType<typeof fileSummary>[];
}

function safe(predicate: (chat: SimChat) => boolean, chat: SimChat): boolean {
  try {
    return predicate(chat);
  } catch {
    return false;
  }
}
