// protocol.md §4 (router → client messages) and §7 (command results).
// Every conversation message is type="chat", carries the conversation's
// thread, an x element and a <body> fallback for plain XMPP clients (§2).
import { plainText } from "../security/safe-text.js";
import xml, { type Element } from "@xmpp/xml";
import type { BotOption } from "../core/model.js";
import type { InboundMessage } from "./message.js";
import { buildChatMessage } from "./message.js";
import { NS_CHAT_STATES } from "./ns.js";
import { noticeLang, noticeText, type NoticeCode, type NoticeData } from "./notices.js";
import { encodeX } from "./x-element.js";
import { xmlSafeText } from "./xml-chars.js";

/** Addressing of one outbound conversation message. */
export interface OutboundEnvelope {
  /** The channel JID (or the server-address JID in the generic directory form, §1). */
  from: string;
  /** The user's full or bare JID. */
  to: string;
  id: string;
  /** Decided by the caller: buildRouterThread (thread.ts), or the channel address in the generic form. */
  thread: string;
  /** The conversation's language (x/lang); notice texts are localised with it. */
  lang: string;
  /** Config `protocol.namespace`. */
  namespace: string;
}

/**
 * `payload.data` of router-made conversation messages (§4). The caller sets
 * `chatTitle` (the decoded title) for v2.1 conversations: v2.1 server
 * messages carry it (§3); v1 and v2 leave it out.
 */
export interface ServerData {
  conversationType: "bot" | "operator";
  chatTitle?: string;
  operator?: { nickname: string };
  /** protocol.md section 10: a file for the user, at the router's signed URL. */
  attachment?: { url: string; mediaType: string; name: string | null; size: number };
}

function serverData(d: ServerData): Record<string, unknown> {
  const out: Record<string, unknown> = { conversationType: d.conversationType };
  if (d.chatTitle !== undefined) out["chatTitle"] = d.chatTitle;
  if (d.operator !== undefined) out["operator"] = { nickname: d.operator.nickname };
  if (d.attachment !== undefined) {
    const { url, mediaType, name, size } = d.attachment;
    out["attachment"] = { url, mediaType, ...(name !== null ? { name } : {}), size };
  }
  return out;
}

function conversationMessage(
  m: OutboundEnvelope,
  type: "chat_text" | "chat_dynamic" | "chat_interactive" | "chat_notice",
  payload: Record<string, unknown>,
  body: string,
): Element {
  return buildChatMessage({
    from: m.from,
    to: m.to,
    id: m.id,
    type: "chat",
    thread: m.thread,
    x: encodeX({ type, payload, lang: m.lang }, m.namespace),
    body: plainText(body), // clients that show only the body get no markup (issue 13)
  });
}

/** chat_text `{text, data:{conversationType, chatTitle?, operator?, attachment?}}`; body = text. */
export function chatText(m: OutboundEnvelope & { text: string; data: ServerData }): Element {
  return conversationMessage(m, "chat_text", { text: m.text, data: serverData(m.data) }, m.text);
}

/** A file as data.attachment carries it (protocol.md section 10), the same shape a client sends. */
export interface AttachmentData {
  url: string;
  mediaType: string;
  name?: string;
  size?: number;
}

/**
 * chat_text `{text: "", data:{conversationType, chatTitle?, operator?,
 * attachment:{url, mediaType, name?, size?}}}` (protocol.md section 10); body
 * = the URL, so a client that shows only the body still has the link.
 */
export function chatAttachment(m: OutboundEnvelope & { attachment: AttachmentData; data: ServerData }): Element {
  const a = m.attachment;
  const attachment = {
    url: a.url,
    mediaType: a.mediaType,
    ...(a.name ? { name: a.name } : {}),
    ...(a.size !== undefined ? { size: a.size } : {}),
  };
  return conversationMessage(m, "chat_text", { text: "", data: { ...serverData(m.data), attachment } }, a.url);
}

/** Bot content with options, as chatDynamic and chatInteractive take it. */
export interface RichContent {
  text: string;
  buttons?: BotOption[];
  /** Image URL. */
  image?: string;
}

/**
 * The text of rich content for clients without rich rendering: the text,
 * then one "N. Title" line per button, then the image URL.
 */
export function flattenRich(c: RichContent): string {
  const lines = [c.text];
  (c.buttons ?? []).forEach((b, i) => lines.push(`${i + 1}. ${b.title}`));
  if (c.image !== undefined && c.image !== "") lines.push(c.image);
  return lines.join("\n");
}

/**
 * chat_dynamic (client said useChatDynamic) `{text, data:{conversationType,
 * chatTitle?, operator?, buttons?, image?, custom?}}`. `custom` carries a
 * bot's extra JSON for clients that know it. Body = the flattened text.
 */
export function chatDynamic(m: OutboundEnvelope & RichContent & { data: ServerData; custom?: Record<string, unknown> }): Element {
  const data = serverData(m.data);
  if (m.buttons !== undefined && m.buttons.length > 0) data["buttons"] = m.buttons.map((b) => ({ title: b.title, payload: b.payload }));
  if (m.image !== undefined && m.image !== "") data["image"] = m.image;
  if (m.custom !== undefined) data["custom"] = m.custom;
  return conversationMessage(m, "chat_dynamic", { text: m.text, data }, flattenRich(m));
}

/**
 * chat_interactive (otherwise): the same content flattened into the text
 * ("1. Title" lines, then the image URL); body = the same text. A reply of
 * just the number or the title selects an option (the router keeps them).
 */
export function chatInteractive(m: OutboundEnvelope & RichContent & { data: ServerData }): Element {
  const text = flattenRich(m);
  return conversationMessage(m, "chat_interactive", { text, data: serverData(m.data) }, text);
}

/**
 * chat_notice `{code, text, data?}`: `text` is localised with `lang`; `data`
 * is sent when given (add chatTitle to it for v2.1). Body = text.
 */
export function chatNotice(
  m: OutboundEnvelope & { code: NoticeCode; data?: NoticeData & { chatTitle?: string }; timeZone?: string },
): Element {
  const text = noticeText(m.code, m.lang, m.data ?? {}, m.timeZone === undefined ? {} : { timeZone: m.timeZone });
  const payload: Record<string, unknown> = { code: m.code, text };
  if (m.data !== undefined && Object.keys(m.data).length > 0) payload["data"] = m.data;
  return conversationMessage(m, "chat_notice", payload, text);
}

/**
 * errorCode values: the five of §7, and two registry codes the spec has no
 * word for (no roster privilege on the server; a roster write that failed).
 */
export const COMMAND_ERROR_CODES = [
  "SQL_ERROR",
  "NO_USER_FOUND",
  "NO_CHANNEL_FOUND",
  "BAD_REQUEST",
  "RATE_LIMITED",
  "ROSTER_NOT_PERMITTED",
  "INTERNAL_ERROR",
] as const;
export type CommandErrorCode = (typeof COMMAND_ERROR_CODES)[number];

export interface SearchUserHit {
  msisdn: string;
  jid: string;
  name?: string;
}

/** Result fields of §7: cmd_add_to_roster adds added/unchanged, cmd_search_users adds users. */
export interface CommandFields {
  added?: string[];
  unchanged?: string[];
  users?: SearchUserHit[];
}

export type CommandResult =
  ({ status: 0 } & CommandFields) | ({ status: 1; errorCode: CommandErrorCode; errorMessages: string[] } & CommandFields);

const COMMAND_BODY = {
  it: { done: (t: string) => `Comando ${t} eseguito.`, failed: (t: string, c: string) => `Comando ${t} non riuscito (${c})` },
  en: { done: (t: string) => `Command ${t} done.`, failed: (t: string, c: string) => `Command ${t} failed (${c})` },
} as const;

/**
 * §7: the answer to a command: same x type/action, same stanza id, from and
 * to swapped, the request's thread (if any) and message type (chat or
 * normal) kept. Payload `{status:0, ...}` or `{status:1, errorCode,
 * errorMessage:[{message}], ...}`; body = a one-line summary.
 */
export function commandResult(request: InboundMessage, result: CommandResult, opts: { namespace: string }): Element {
  const payload: Record<string, unknown> = { status: result.status };
  if (result.status === 1) {
    payload["errorCode"] = result.errorCode;
    payload["errorMessage"] = result.errorMessages.map((message) => ({ message }));
  }
  if (result.added !== undefined) payload["added"] = result.added;
  if (result.unchanged !== undefined) payload["unchanged"] = result.unchanged;
  if (result.users !== undefined) {
    payload["users"] = result.users.map((u) =>
      u.name === undefined ? { msisdn: u.msisdn, jid: u.jid } : { msisdn: u.msisdn, jid: u.jid, name: u.name },
    );
  }
  const words = COMMAND_BODY[noticeLang(request.x.lang)];
  const body =
    result.status === 0
      ? words.done(request.x.type)
      : `${words.failed(request.x.type, result.errorCode)}${result.errorMessages.length > 0 ? `: ${result.errorMessages.join("; ")}` : "."}`;
  const attrs: Record<string, string> = { from: request.to, to: request.from, type: request.messageType === "chat" ? "chat" : "normal" };
  if (request.id !== undefined) attrs["id"] = request.id;
  const children: Element[] = [];
  if (request.thread !== undefined) children.push(xml("thread", {}, xmlSafeText(request.thread)));
  children.push(encodeX({ type: request.x.type, payload, lang: request.x.lang }, opts.namespace), xml("body", {}, xmlSafeText(body)));
  return xml("message", attrs, ...children);
}

/** The states the router sends (§4 Typing); a bot's typing hint is `composing`. */
export type OutboundChatState = "composing" | "paused" | "active";

/**
 * XEP-0085 standalone notification (https://xmpp.org/extensions/xep-0085.html#definitions):
 * `<message type="chat"><thread/><composing xmlns=".../chatstates"/></message>`, no body.
 */
export function chatState(m: { from: string; to: string; id?: string; thread?: string; state: OutboundChatState }): Element {
  const attrs: Record<string, string> = { from: m.from, to: m.to, type: "chat" };
  if (m.id !== undefined) attrs["id"] = m.id;
  const children: Element[] = [];
  if (m.thread !== undefined) children.push(xml("thread", {}, m.thread));
  children.push(xml(m.state, { xmlns: NS_CHAT_STATES }));
  return xml("message", attrs, ...children);
}
