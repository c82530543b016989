// The Genesys GMS Chat API v2 client (backends.md section 2), behind OperatorPort.
//
// Every call: POST {baseUrl}/genesys/2/chat/{serviceName}[/{chatId}/{op}],
// application/x-www-form-urlencoded body (`userData[key]=value` for attached
// data), JSON answer read as text and parsed here, bounded by requestTimeoutMs
// (design.md rule 7). The only retries here are of calls GMS answered with
// statusCode 1 ("retry the call": nothing was done); otherwise the router's
// outbox retries calls and its poller polls again (a GMS call is not
// idempotent: a retried request chat that had gone through would open a
// second chat).
//
// - Actions (send, typing, disconnect, updateData, customNotice, readReceipt,
//   updateNickname) resolve on statusCode 0 and throw a GenesysError otherwise
//   (errors.ts has the table of what is transient). disconnect is idempotent:
//   an answer that says the chat is over (chatEnded) is success, whatever its
//   statusCode. A send given a transcriptPosition asks GMS for the transcript
//   from there (GMS "Send Message") and resolves with it as a poll, read like
//   refresh's (backends.md section 2: every answer goes through the same
//   once-per-index handling; the core skips an index an earlier answer brought).
// - refresh never throws for a GMS answer: a non-zero statusCode becomes an
//   `error` event (fatal when it ended the chat or is statusCode 2), chatEnded
//   a final `ended` event. It throws a transient GenesysError when there is no
//   GMS answer (HTTP failure, timeout, connection, non-JSON); the poller counts
//   those.
//
// Who is in a chat (for `left.remaining`) is folded from the transcript and
// kept per chatId in memory (a bounded LRU). When the poller (or a send) asks from a
// position this instance did not reach itself (after a restart, an eviction,
// or another instance's turn with the lease), the refresh asks GMS for the
// whole transcript instead (transcriptPosition=1): the older indexes rebuild
// who is present and produce no events. One larger answer, once, and
// `remaining` stays right. Besides, GMS ends the chat (chatEnded) when the
// last agent leaves, and the router ends the episode on `ended`, so even a
// wrong count could not keep an episode open.
//
// The secure key never leaves this module in a message, a log line or an
// error's cause (errors.ts).
import axios, { type AxiosInstance } from "axios";
import type { OperatorEvent } from "../../core/events.js";
import type { GenesysChatIds } from "../../core/model.js";
import type { OperatorChatRequest, OperatorPoll, OperatorPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import { parseGmsAnswer, type GmsAnswer } from "./answer.js";
import {
  GenesysError,
  describeGenesysError,
  describeGmsErrors,
  redact,
  safeCause,
  transientHttpStatus,
  type GenesysFailureKind,
  type GmsOp,
} from "./errors.js";
import { newTrack, translateTranscript, type ChatTrack } from "./transcript.js";
import { gmsHttpClient } from "./http.js";

/** How a call ended, for the latency histogram (`outcome` label). */
export type GmsCallOutcome =
  /** statusCode 0. */
  | "ok"
  /** GMS answered a non-zero statusCode. */
  | "rejected"
  /** No answer within requestTimeoutMs. */
  | "timeout"
  /** HTTP error status, connection failure, or a body that is not a GMS answer. */
  | "failed";

export interface GmsOperatorOptions {
  /** config genesys.url: the base URL, before /genesys/2/chat. */
  baseUrl: string;
  /** Bound of each call, connect to last byte. */
  requestTimeoutMs: number;
  /** Observes every call: metrics.genesysLatency.observe({op, outcome}, seconds). */
  onCall?: (op: GmsOp, outcome: GmsCallOutcome, seconds: number) => void;
  /** Chats whose participants are remembered (least recently polled are forgotten first); default 10 000. */
  maxTrackedChats?: number;
  /** Largest answer accepted, in bytes; default 5 MiB. */
  maxAnswerBytes?: number;
  /** statusCode 1 ("retry the call", GMS API Responses): calls made again at once, at most this often; default 2. */
  statusRetries?: number;
  /** Pause before each such retry; default 100 ms. */
  statusRetryDelayMs?: number;
  /** More userData for a chat request, e.g. the push subscription of gms-push.ts (genesys.push). */
  requestUserData?: (req: OperatorChatRequest) => Record<string, string>;
}

/** The adapter: OperatorPort over GMS (a chat's participants are forgotten when it ends, or least recently polled first). */
export type GmsOperator = OperatorPort;

const API_PATH = "/genesys/2/chat";

/** backends.md section 2: error codes that end the chat whatever `chatEnded` says (8209 user logged out, 8210 bad secure key). */
const CHAT_ENDING_CODES = new Set(["8209", "8210"]);

/** Whether a (non-zero) answer ended the chat: `chatEnded`, or an error code that ends it. */
export function answerEndsChat(answer: GmsAnswer): boolean {
  return answer.chatEnded || answer.errors.some((e) => CHAT_ENDING_CODES.has(String(e.code)));
}

export function createGmsOperator(options: GmsOperatorOptions, log: Logger, http?: AxiosInstance): GmsOperator {
  const baseUrl = options.baseUrl.replace(/\/+$/, "") + API_PATH;
  const timeoutMs = options.requestTimeoutMs;
  const maxTracked = Math.max(1, options.maxTrackedChats ?? 10_000);
  const client =
    http ??
    gmsHttpClient({
      // Read the body ourselves: axios would hand back a non-JSON body as a string silently.
      responseType: "text",
      transformResponse: [(data: unknown) => data],
      maxContentLength: options.maxAnswerBytes ?? 5 * 1024 * 1024,
    });

  /** chatId → participants; Map order is recency (re-set on use), the oldest is evicted first. */
  const tracks = new Map<string, ChatTrack>();
  const remember = (chatId: string, track: ChatTrack) => {
    tracks.delete(chatId);
    tracks.set(chatId, track);
    while (tracks.size > maxTracked) {
      const oldest = tracks.keys().next().value;
      if (oldest === undefined) break;
      tracks.delete(oldest);
    }
  };

  const url = (serviceName: string, chatId?: string, op?: GmsOp) =>
    chatId === undefined
      ? `${baseUrl}/${encodeURIComponent(serviceName)}`
      : `${baseUrl}/${encodeURIComponent(serviceName)}/${encodeURIComponent(chatId)}/${op}`;

  const idsForm = (chat: GenesysChatIds) => new URLSearchParams({ userId: chat.userId, secureKey: chat.secureKey, alias: chat.alias });

  const addUserData = (form: URLSearchParams, data: Record<string, string>) => {
    for (const [k, v] of Object.entries(data)) form.append(`userData[${k}]`, v);
  };

  const where = (op: GmsOp, serviceName: string, chatId?: string) =>
    chatId === undefined ? `GMS ${op} on ${serviceName}` : `GMS ${op} ${chatId} on ${serviceName}`;

  /**
   * One POST. Resolves with the GMS answer whatever its statusCode; throws a
   * GenesysError when there is none (HTTP status, timeout, network, not JSON).
   */
  async function callOnce(op: GmsOp, serviceName: string, chat: GenesysChatIds | undefined, form: URLSearchParams): Promise<GmsAnswer> {
    const chatId = chat?.chatId;
    const secret = chat?.secureKey;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const fail = (kind: GenesysFailureKind, transient: boolean, detail: string, extra: { httpStatus?: number; cause?: unknown } = {}) => {
      const outcome: GmsCallOutcome = kind === "timeout" ? "timeout" : "failed";
      options.onCall?.(op, outcome, seconds());
      const err = new GenesysError(redact(`${where(op, serviceName, chatId)}: ${detail}`, secret), {
        op,
        kind,
        transient,
        serviceName,
        chatId,
        httpStatus: extra.httpStatus,
        cause: extra.cause === undefined ? undefined : safeCause(extra.cause, secret),
      });
      log.warn({ op, serviceName, chatId, outcome, transient, err: err.message }, "GMS call failed");
      return err;
    };

    let status: number;
    let body: string;
    try {
      const res = await client.post<string>(url(serviceName, chatId, op), form.toString(), {
        timeout: timeoutMs,
        // axios' own timeout watches the socket; this one bounds the whole call.
        signal: AbortSignal.timeout(timeoutMs),
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      });
      status = res.status;
      body = typeof res.data === "string" ? res.data : String(res.data ?? "");
    } catch (err) {
      if (isTimeout(err)) throw fail("timeout", true, `no answer within ${timeoutMs} ms`, { cause: err });
      throw fail("network", true, describeGenesysError(err, secret), { cause: err });
    }

    if (status < 200 || status > 299) {
      throw fail("http", transientHttpStatus(status), `HTTP ${status}`, { httpStatus: status });
    }
    const answer = parseGmsAnswer(body);
    if ("invalid" in answer) throw fail("invalid_answer", true, answer.invalid, { httpStatus: status });

    const outcome: GmsCallOutcome = answer.statusCode === 0 ? "ok" : "rejected";
    options.onCall?.(op, outcome, seconds());
    if (answer.dropped > 0) log.warn({ op, serviceName, chatId, dropped: answer.dropped }, "GMS transcript entries unreadable, dropped");
    log.debug({ op, serviceName, chatId, statusCode: answer.statusCode, chatEnded: answer.chatEnded }, "GMS call");
    return answer;
  }

  /**
   * One GMS call, made again (up to statusRetries) while GMS answers
   * statusCode 1: "retry the call" means nothing was done, so a retry opens
   * no second chat and sends no message twice.
   */
  async function call(op: GmsOp, serviceName: string, chat: GenesysChatIds | undefined, form: URLSearchParams): Promise<GmsAnswer> {
    const retries = Math.max(0, options.statusRetries ?? 2);
    let answer = await callOnce(op, serviceName, chat, form);
    for (let i = 0; i < retries && answer.statusCode === 1 && !answerEndsChat(answer); i++) {
      log.debug({ op, serviceName, chatId: chat?.chatId, retry: i + 1 }, "GMS statusCode 1: retrying the call");
      await new Promise((resolve) => setTimeout(resolve, options.statusRetryDelayMs ?? 100));
      answer = await callOnce(op, serviceName, chat, form);
    }
    return answer;
  }

  /** The error for a non-zero statusCode: transient only for statusCode 1. */
  function rejected(op: GmsOp, serviceName: string, chat: GenesysChatIds | undefined, answer: GmsAnswer): GenesysError {
    const secret = chat?.secureKey ?? answer.secureKey;
    const errors = answer.errors.map((e) => ({ code: e.code, advice: redact(e.advice, secret) }));
    const detail = `statusCode ${answer.statusCode}${errors.length ? ` (${describeGmsErrors(errors)})` : ""}${answerEndsChat(answer) ? ", chat ended" : ""}`;
    return new GenesysError(redact(`${where(op, serviceName, chat?.chatId)}: ${detail}`, secret), {
      op,
      kind: "status",
      transient: answer.statusCode === 1 && !answerEndsChat(answer),
      serviceName,
      chatId: chat?.chatId,
      statusCode: answer.statusCode,
      errors,
      chatEnded: answerEndsChat(answer),
    });
  }

  /** An action: its answer on statusCode 0, a GenesysError otherwise. */
  async function act(op: GmsOp, serviceName: string, chat: GenesysChatIds, form: URLSearchParams): Promise<GmsAnswer> {
    const answer = await call(op, serviceName, chat, form);
    if (answer.statusCode === 0) return answer;
    const err = rejected(op, serviceName, chat, answer);
    log.warn(
      { op, serviceName, chatId: chat.chatId, statusCode: err.statusCode, chatEnded: err.chatEnded, err: err.message },
      "GMS refused",
    );
    throw err;
  }

  /** Where to ask a chat's transcript from: `position` when this instance's track of the chat got that far, else the start. */
  const askFromFor = (chatId: string, position: number) => {
    const known = tracks.get(chatId);
    return known !== undefined && known.next >= position ? position : 1;
  };

  /**
   * A successful answer's transcript, asked from `askFrom`, as the events from
   * `position` on (backends.md section 2: every answer that has `messages`,
   * refresh's or send's, goes through here). The track is read now, not
   * before the call: another answer may have moved it meanwhile, and what it
   * folded is not folded again. One that cannot take this answer (it was
   * forgotten, asked from further on) is left as it is.
   */
  function absorb(chat: GenesysChatIds, askFrom: number, position: number, answer: GmsAnswer): OperatorPoll {
    const known = tracks.get(chat.chatId);
    const track = known && known.next >= askFrom ? known : askFrom === 1 ? newTrack() : undefined;
    const scratch = { operators: new Map(known?.operators), next: askFrom };
    const t = translateTranscript(answer.messages, track ?? scratch, track?.next ?? askFrom, position);
    const events: OperatorEvent[] = t.events;
    if (answer.chatEnded && !t.idleClosed) events.push({ kind: "ended" });
    if (t.ignored.length > 0) log.debug({ chatId: chat.chatId, ignored: t.ignored }, "GMS transcript events ignored");

    // Never backwards: every index below nextPosition has been handled.
    const nextPosition = Math.max(answer.nextPosition ?? 0, (t.lastIndex ?? 0) + 1, position);
    if (answer.chatEnded) tracks.delete(chat.chatId);
    else if (track) {
      track.next = Math.max(track.next, nextPosition);
      remember(chat.chatId, track);
    }
    // The alias may change within a chat (backends.md section 2): the caller stores the new one.
    if (answer.alias !== undefined && answer.alias !== chat.alias) return { events, nextPosition, alias: answer.alias };
    return { events, nextPosition };
  }

  return {
    async requestChat(req: OperatorChatRequest) {
      // GMS needs a nickname or both firstName and lastName (public Chat API v2
      // "Request Chat"); the router always has a nickname (the user's name or
      // config genesys.nickname), so no name is split or invented here.
      const form = new URLSearchParams({ nickname: req.nickname, subject: req.subject });
      addUserData(form, { ...req.userData, ...options.requestUserData?.(req) });
      const answer = await call("request", req.serviceName, undefined, form);
      if (answer.statusCode !== 0) {
        const err = rejected("request", req.serviceName, undefined, answer);
        log.warn({ op: "request", serviceName: req.serviceName, statusCode: err.statusCode, err: err.message }, "GMS refused the chat");
        throw err;
      }
      const { chatId, userId, secureKey, alias } = answer;
      if (!chatId || !userId || !secureKey || alias === undefined) {
        const missing = Object.entries({ chatId, userId, secureKey, alias })
          .filter(([, v]) => !v && v !== "0")
          .map(([k]) => k);
        throw new GenesysError(`${where("request", req.serviceName)}: statusCode 0 without ${missing.join(", ")}`, {
          op: "request",
          kind: "invalid_answer",
          // The chat may exist: asking again could open a second one.
          transient: false,
          serviceName: req.serviceName,
          statusCode: 0,
        });
      }
      remember(chatId, newTrack());
      log.info({ op: "request", serviceName: req.serviceName, chatId }, "GMS chat requested");
      // Nothing of the transcript has been handled yet: the first refresh starts
      // at its beginning (GMS answers a request chat with messages or without).
      return { chatId, userId, secureKey, alias, nextPosition: 1 };
    },

    async send(serviceName, chat, text, _messageId, transcriptPosition) {
      const form = idsForm(chat);
      form.set("message", text);
      if (transcriptPosition === undefined) {
        await act("send", serviceName, chat, form);
        return;
      }
      // GMS Chat API v2 "Send Message": with transcriptPosition the answer carries the transcript from there, as refresh does.
      const position = Math.max(1, Math.floor(transcriptPosition));
      const askFrom = askFromFor(chat.chatId, position);
      form.set("transcriptPosition", String(askFrom));
      return absorb(chat, askFrom, position, await act("send", serviceName, chat, form));
    },

    async typing(serviceName, chat, typing) {
      await act(typing ? "startTyping" : "stopTyping", serviceName, chat, idsForm(chat));
    },

    async disconnect(serviceName, chat) {
      const answer = await call("disconnect", serviceName, chat, idsForm(chat));
      tracks.delete(chat.chatId);
      // Idempotent: a chat that is over (already ended, or unknown to GMS) is disconnected.
      if (answer.statusCode === 0 || answerEndsChat(answer)) return;
      const err = rejected("disconnect", serviceName, chat, answer);
      log.warn({ op: "disconnect", serviceName, chatId: chat.chatId, statusCode: err.statusCode, err: err.message }, "GMS refused");
      throw err;
    },

    async updateData(serviceName, chat, data) {
      const form = idsForm(chat);
      addUserData(form, data);
      await act("updateData", serviceName, chat, form);
    },

    async customNotice(serviceName, chat, text) {
      const form = idsForm(chat);
      form.set("message", text);
      await act("customNotice", serviceName, chat, form);
    },

    async readReceipt(serviceName, chat, transcriptPosition) {
      const form = idsForm(chat);
      form.set("transcriptPosition", String(Math.max(1, Math.floor(transcriptPosition))));
      await act("readReceipt", serviceName, chat, form);
    },

    async updateNickname(serviceName, chat, nickname) {
      const form = idsForm(chat);
      form.set("nickname", nickname);
      await act("updateNickname", serviceName, chat, form);
    },

    async refresh(serviceName, chat, transcriptPosition): Promise<OperatorPoll> {
      const position = Math.max(1, Math.floor(transcriptPosition));
      // Continue from where this instance got, or re-read from the start to learn who is present.
      const askFrom = askFromFor(chat.chatId, position);
      const form = idsForm(chat);
      form.set("transcriptPosition", String(askFrom));
      const answer = await call("refresh", serviceName, chat, form);

      if (answer.statusCode !== 0) {
        // GMS API Responses: on a non-zero code no other field is valid: no event read, no position advanced, no alias taken.
        const err = rejected("refresh", serviceName, chat, answer);
        const ends = answerEndsChat(answer);
        const events: OperatorEvent[] = [{ kind: "error", fatal: ends || answer.statusCode === 2, message: err.message }];
        if (ends) {
          events.push({ kind: "ended" });
          tracks.delete(chat.chatId);
        }
        log.warn(
          { op: "refresh", serviceName, chatId: chat.chatId, statusCode: err.statusCode, chatEnded: ends, err: err.message },
          "GMS refused",
        );
        return { events, nextPosition: position };
      }
      return absorb(chat, askFrom, position, answer);
    },
  };
}

/** axios' timeout (ETIMEDOUT with clarifyTimeoutError), or our AbortSignal.timeout (a cancel). */
export function isTimeout(err: unknown): boolean {
  if (axios.isCancel(err)) return true;
  if (axios.isAxiosError(err)) return err.code === "ETIMEDOUT" || err.code === "ECONNABORTED" || err.code === "ERR_CANCELED";
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}
