// The message an archive result forwards (XEP-0313 §4.2: "the original
// message as it was received"), made from a stored row. Pure.
// - The router's messages are the stanza as it was sent (messages.stanza);
//   only `to` becomes the requester's full JID, the device asking.
// - The user's messages are stored as their parts (the token taken out, the
//   stanza not kept): rebuilt with the conversation's addresses — from the
//   user's bare JID to the archive JID, the conversation's router thread (a
//   form the client accepts back, protocol.md §3; a v2.1 `_uuid` the user
//   sent is not kept), the x element with the stored payload and the body;
//   plain clients get the body (and their XEP-0066 URLs) alone.
import { parse } from "ltx";
import xml, { type Element } from "@xmpp/xml";
import type { Conversation } from "../core/model.js";
import { NS_OOB } from "./ns.js";
import { buildRouterThread } from "./thread.js";
import { encodeX, isXType } from "./x-element.js";
import { xmlSafeText } from "./xml-chars.js";

export type ArchivedConversation = Pick<
  Conversation,
  "userJid" | "apiVersion" | "msisdn" | "channel" | "chatTitle" | "plain" | "clientThread" | "addressing" | "lang"
>;

export interface ArchivedRow {
  archiveId: string;
  direction: "in" | "out";
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  stanza: string | null;
  dedupeKey: string | null;
  createdAt: Date;
  conversation: ArchivedConversation;
}

export interface ArchivedMessageOptions {
  /** The component domain. */
  domain: string;
  namespace: string;
  /** The requester's full JID. */
  requester: string;
}

/** The JID the conversation's messages were exchanged with (protocol.md §1). */
export function archiveJidOf(c: Pick<Conversation, "addressing" | "channel">, domain: string): string {
  return `${c.addressing.kind === "server" ? c.addressing.serverAddress : c.channel}@${domain}`;
}

function userThread(c: ArchivedConversation): string | undefined {
  if (c.plain) return c.clientThread ?? undefined;
  if (c.addressing.kind === "server") return c.channel;
  if (!c.msisdn) return undefined;
  return buildRouterThread({ apiVersion: c.apiVersion, msisdn: c.msisdn, channelAddress: c.channel, chatTitle: c.chatTitle });
}

function oobUrls(payload: Record<string, unknown> | null): string[] {
  const list = payload?.["attachments"];
  if (!Array.isArray(list)) return [];
  return list.flatMap((a: unknown) => {
    const url = (a as { url?: unknown } | null)?.url;
    return typeof url === "string" ? [url] : [];
  });
}

function userMessage(row: ArchivedRow, opts: ArchivedMessageOptions): Element {
  const c = row.conversation;
  const attrs: Record<string, string> = { from: c.userJid, to: archiveJidOf(c, opts.domain), type: "chat" };
  if (row.dedupeKey !== null) attrs["id"] = row.dedupeKey;
  const el = xml("message", attrs);
  const thread = userThread(c);
  if (thread !== undefined) el.append(xml("thread", {}, xmlSafeText(thread)));
  if (!c.plain && isXType(row.kind)) el.append(encodeX({ type: row.kind, payload: row.payload ?? {}, lang: c.lang }, opts.namespace));
  const body = c.plain ? (row.payload?.["text"] ?? row.text) : row.kind === "chat_text" ? row.text : null;
  if (typeof body === "string" && body !== "") el.append(xml("body", {}, xmlSafeText(body)));
  if (c.plain) for (const url of oobUrls(row.payload)) el.append(xml("x", { xmlns: NS_OOB }, xml("url", {}, xmlSafeText(url))));
  return el;
}

function routerMessage(stanza: string, opts: ArchivedMessageOptions): Element {
  const el: Element = parse(stanza);
  el.attrs.to = opts.requester;
  return el;
}

export function archivedMessage(row: ArchivedRow, opts: ArchivedMessageOptions): Element {
  return row.direction === "out" && row.stanza !== null ? routerMessage(row.stanza, opts) : userMessage(row, opts);
}
