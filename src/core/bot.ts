// The virtual-agent bot contract (backends.md section 1, Rasa REST channel
// compatible) as neutral types, and the pure reading of a bot's answer.
import { isAllowedImageUrl } from "../security/targets.js";
import { dropControlChars, plainText, safeHtml } from "../security/safe-text.js";
import { mediaTypeOf } from "./attachment-policy.js";
import type { ClientMessage } from "./client-message.js";
import type { BotOption } from "./model.js";

export type BotEvent =
  | "message"
  | "session_start"
  | "session_reset"
  | "button"
  | "operator_returned"
  | "operator_closed"
  /** backends.md section 2c: the user accepted a callback offer on a route whose `callback` is "bot". */
  | "operator_callback";

export interface BotRequest {
  /** Rasa's tracker id: the conversation id, with the session number after a reset. */
  sender: string;
  message: string;
  metadata: {
    conversationId: string;
    messageId: string;
    channel: string;
    chatTitle: string;
    locale: string;
    event: BotEvent;
    apiVersion: string;
    os: string | null;
    appVersion: string | null;
    premium: boolean;
    /** protocol.md section 10: the user's files (checked), only when the message has some. */
    attachments?: BotAttachment[];
  };
}

/** An attachment as the webhook sees it: its URL on the file share, its type, name and size when known. */
export interface BotAttachment {
  url: string;
  mediaType: string;
  name: string | null;
  size: number | null;
}

/** One element of the bot's answer array (Rasa REST output). Unknown keys are ignored. */
export interface BotReply {
  recipient_id?: string;
  text?: string;
  buttons?: BotOption[];
  image?: string;
  /** Rasa's `send_attachment`: a URL, or an object with one (`url`, or Messenger-style `payload.url`). */
  attachment?: unknown;
  custom?: Record<string, unknown>;
}

export interface HandoffRequest {
  queue?: string;
  reason?: string;
  userData?: Record<string, string>;
}

/** What a bot answer means: messages for the user, then at most one control. */
export interface BotOutcome {
  messages: ClientMessage[];
  /** The last buttons offered, for numbered replies of chat_interactive clients. */
  options: BotOption[] | null;
  handoff: HandoffRequest | null;
  close: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringRecord(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val !== undefined && val !== null) out[k] = typeof val === "string" ? val : JSON.stringify(val);
  }
  return out;
}

/** A bot file: a URL with an optional name and type, from `image` (a URL) or `attachment` (a URL or an object). */
interface BotFile {
  url: string;
  name: string | null;
  mediaType?: string;
  image: boolean;
}

function stringAt(o: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const k of keys) if (typeof o[k] === "string" && o[k] !== "") return o[k];
  return undefined;
}

function readAttachment(v: unknown): BotFile | null {
  if (typeof v === "string") return { url: v, name: null, image: false };
  if (!isObject(v)) return null;
  const url = stringAt(v, "url", "src") ?? (isObject(v.payload) ? stringAt(v.payload, "url", "src") : undefined);
  if (!url) return null;
  const mediaType = stringAt(v, "mediaType", "media_type", "contentType", "content_type");
  const name = stringAt(v, "name", "title", "filename");
  return { url, name: name ? plainText(name).slice(0, 256) : null, image: false, ...(mediaType ? { mediaType } : {}) };
}

/** The bot's files of one element, https only (http too when allowed: tests, demos); any other URL is dropped. */
function filesOf(reply: BotReply, allowHttp: boolean): ClientMessage[] {
  const found: BotFile[] = [];
  if (typeof reply.image === "string") found.push({ url: reply.image, name: null, image: true });
  const attachment = readAttachment(reply.attachment);
  if (attachment) found.push(attachment);
  return found
    .filter((f) => isAllowedImageUrl(f.url, allowHttp))
    .map((f) => ({
      kind: "attachment",
      conversationType: "bot",
      file: {
        name: f.name,
        mediaType: mediaTypeOf({
          url: f.url,
          ...(f.name ? { name: f.name } : {}),
          ...(f.mediaType ? { mediaType: f.mediaType } : {}),
        }).toLowerCase(),
        image: f.image,
        at: { url: f.url },
      },
    }));
}

/**
 * backends.md section 1: `custom.router.handoff` hands over to an operator after
 * the messages before it; `custom.router.close` ends the bot session; any
 * other `custom` goes to a chat_dynamic client in data.custom.
 */
export function readBotReplies(replies: BotReply[], opts: { allowHttpImages?: boolean } = {}): BotOutcome {
  const outcome: BotOutcome = { messages: [], options: null, handoff: null, close: false };
  for (const reply of replies) {
    const router = isObject(reply.custom) && isObject(reply.custom.router) ? reply.custom.router : undefined;
    if (router) {
      if (router.handoff !== undefined && !outcome.handoff) {
        const h = isObject(router.handoff) ? router.handoff : {};
        outcome.handoff = {
          ...(typeof h.queue === "string" ? { queue: h.queue } : {}),
          ...(typeof h.reason === "string" ? { reason: h.reason } : {}),
          ...(stringRecord(h.userData) ? { userData: stringRecord(h.userData)! } : {}),
        };
      }
      if (router.close) outcome.close = true;
    }
    const otherCustom = isObject(reply.custom) ? Object.fromEntries(Object.entries(reply.custom).filter(([k]) => k !== "router")) : {};
    // issue 13: what reaches clients is the safe HTML subset (text) or plain text (titles); images https only.
    const buttons = (reply.buttons ?? [])
      .filter((b): b is BotOption => isObject(b) && typeof b.title === "string" && typeof b.payload === "string")
      .map((b) => ({ ...b, title: plainText(b.title), payload: dropControlChars(b.payload) }));
    const text = typeof reply.text === "string" ? safeHtml(reply.text) : "";
    const hasCustom = Object.keys(otherCustom).length > 0;
    if (buttons.length > 0) outcome.options = buttons;
    if (buttons.length > 0 || hasCustom) {
      outcome.messages.push({
        kind: "rich",
        text,
        ...(buttons.length > 0 ? { buttons } : {}),
        ...(hasCustom ? { custom: otherCustom } : {}),
      });
    } else if (text !== "") outcome.messages.push({ kind: "text", text, conversationType: "bot" });
    // protocol.md section 10: an image or attachment is a message of its own, after the element's text.
    outcome.messages.push(...filesOf(reply, opts.allowHttpImages === true));
  }
  return outcome;
}

/**
 * A chat_interactive client answers a numbered list with the number or the
 * title of an option (protocol.md section 4); the bot then gets a `button`
 * event with the option's payload.
 */
export function matchOption(text: string, options: BotOption[] | null): BotOption | null {
  if (!options || options.length === 0) return null;
  const t = text.trim();
  if (/^\d{1,3}$/.test(t)) return options[Number(t) - 1] ?? null;
  const lower = t.toLocaleLowerCase();
  return options.find((o) => o.title.trim().toLocaleLowerCase() === lower || o.payload === t) ?? null;
}
