// The GMS Chat API v2 answer body (backends.md section 2), read defensively:
// `{statusCode, chatId, userId, secureKey, alias, chatEnded, nextPosition,
//   messages: [{from: {nickname, participantId, type}, index, type, utcTime, text?}],
//   errors: [{code, advice}]}`.
// Anything that is not a JSON object with a numeric statusCode is not a GMS
// answer (a proxy's error page, a truncated body): the caller treats it as a
// transient failure. Malformed transcript entries are dropped one by one.
import { withoutControlChars } from "../../security/safe-text.js";
import type { GmsErrorItem } from "./errors.js";
import { plainText, safeHtml } from "../../security/safe-text.js";

export interface GmsParty {
  nickname: string;
  /** As a string: GMS sends a number, some deployments a string. */
  participantId: string;
  /** "Client" | "Agent" | "Supervisor" | "External" (kept open: unknown types are ignored, not fatal). */
  type: string;
}

export interface GmsTranscriptEvent {
  from: GmsParty;
  index: number;
  /** "ParticipantJoined" | "ParticipantLeft" | "Message" | "TypingStarted" | ... (kept open). */
  type: string;
  text?: string;
  /** Attached data of the event (FileUploaded: `file-id`, `file-name`, …; the limits Notice: the limits). */
  userData?: Record<string, string>;
}

export interface GmsAnswer {
  statusCode: number;
  chatEnded: boolean;
  nextPosition: number | undefined;
  messages: GmsTranscriptEvent[];
  /** Entries of `messages` that could not be read (no integer index, no type). */
  dropped: number;
  errors: GmsErrorItem[];
  chatId: string | undefined;
  userId: string | undefined;
  secureKey: string | undefined;
  alias: string | undefined;
  /** The answer's own attached data (an upload answers `file-id` here). */
  userData: Record<string, string>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A string or a number as a string (GMS sends alias "117", some proxies 117). */
function idString(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

function integer(v: unknown): number | undefined {
  const n = typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  return typeof n === "number" && Number.isSafeInteger(n) ? n : undefined;
}

function readEvent(v: unknown): GmsTranscriptEvent | undefined {
  if (!isObj(v)) return undefined;
  const index = integer(v["index"]);
  const type = v["type"];
  if (index === undefined || typeof type !== "string") return undefined;
  const from = isObj(v["from"]) ? v["from"] : {};
  // issue 13: what an agent writes reaches clients as the safe HTML subset (text) or plain text (nickname).
  const nickname = typeof from["nickname"] === "string" ? plainText(from["nickname"]) : "";
  const event: GmsTranscriptEvent = {
    index,
    type,
    from: {
      nickname,
      participantId: idString(from["participantId"]) ?? `nickname:${nickname}`,
      type: typeof from["type"] === "string" ? from["type"] : "",
    },
  };
  if (typeof v["text"] === "string") event.text = safeHtml(v["text"]);
  const userData = readUserData(v["userData"]);
  if (Object.keys(userData).length > 0) event.userData = userData;
  return event;
}

/** `userData` as strings (GMS sends strings; numbers are taken as their text, anything else dropped). */
function readUserData(v: unknown): Record<string, string> {
  if (!isObj(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    const text = idString(value);
    if (text !== undefined) out[k] = text;
  }
  return out;
}

function readErrors(v: unknown): GmsErrorItem[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObj).map((e) => ({
    code: typeof e["code"] === "number" || typeof e["code"] === "string" ? e["code"] : "?",
    advice: typeof e["advice"] === "string" ? e["advice"] : "",
  }));
}

/** The answer, or why the body is not one. */
export function parseGmsAnswer(body: string): GmsAnswer | { invalid: string } {
  let parsed: unknown;
  try {
    // An agent's text with characters XML forbids is mended, not passed on (protocol/xml-chars.ts).
    parsed = withoutControlChars(JSON.parse(body));
  } catch {
    return { invalid: `answer is not JSON (${body.length} bytes)` };
  }
  if (!isObj(parsed)) return { invalid: "answer is not a JSON object" };
  const statusCode = integer(parsed["statusCode"]);
  if (statusCode === undefined) return { invalid: "answer has no statusCode" };
  const raw = Array.isArray(parsed["messages"]) ? parsed["messages"] : [];
  const messages: GmsTranscriptEvent[] = [];
  for (const m of raw) {
    const e = readEvent(m);
    if (e) messages.push(e);
  }
  return {
    statusCode,
    chatEnded: parsed["chatEnded"] === true || parsed["chatEnded"] === "true",
    nextPosition: integer(parsed["nextPosition"]),
    messages,
    dropped: raw.length - messages.length,
    errors: readErrors(parsed["errors"]),
    chatId: idString(parsed["chatId"]),
    userId: idString(parsed["userId"]),
    secureKey: idString(parsed["secureKey"]),
    alias: idString(parsed["alias"]),
    userData: readUserData(parsed["userData"]),
  };
}
