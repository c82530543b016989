// What an EiMe client sends and reads (protocol.md sections 2–4), built the
// way a client author would: xml() elements, the payload as JSON text.
import { createHash } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";

export const NS_X = "urn:eime:x:0";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** v2/v2.1 client thread: base64(hexsha256(msisdn)), optionally `|$|` base64(title). */
export function v2Thread(msisdn: string, title?: string): string {
  return b64(sha(msisdn)) + (title === undefined ? "" : `|$|${b64(title)}`);
}

/** The router thread of the spec's table, as a client expects it in replies. */
export function routerThread(channel: string, msisdn: string, title: string, uuid?: string): string {
  return `${sha(channel)}:${v2Thread(msisdn, title)}${uuid ? `_${uuid}` : ""}`;
}

export interface XOptions {
  to: string;
  thread?: string;
  id?: string;
  lang?: string;
  originId?: string;
  type?: string;
  receipt?: boolean;
}

export function xMessage(type: string, payload: unknown, o: XOptions): Element {
  const children: Element[] = [];
  if (o.thread !== undefined) children.push(xml("thread", {}, o.thread));
  children.push(
    xml(
      "x",
      { xmlns: NS_X },
      xml("type", {}, type),
      xml("action", {}, type),
      xml("payload", {}, typeof payload === "string" ? payload : JSON.stringify(payload)),
      ...(o.lang ? [xml("lang", {}, o.lang)] : []),
    ),
  );
  if (o.originId) children.push(xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: o.originId }));
  if (o.receipt) children.push(xml("request", { xmlns: "urn:xmpp:receipts" }));
  const body = (payload as { text?: string }).text;
  if (typeof body === "string") children.push(xml("body", {}, body));
  return xml("message", { to: o.to, type: o.type ?? "chat", id: o.id ?? `m-${Math.random().toString(36).slice(2)}` }, ...children);
}

export function chatText(text: string, data: Record<string, unknown>, o: XOptions): Element {
  return xMessage("chat_text", { text, data }, o);
}

export function chatNotice(code: string, data: Record<string, unknown>, o: XOptions): Element {
  return xMessage("chat_notice", { code, data }, o);
}

export interface XRead {
  type: string;
  payload: Record<string, unknown> & { text?: string; code?: string; data?: Record<string, unknown> };
  thread: string | undefined;
  from: string;
  id: string | undefined;
  body: string | undefined;
}

/** Reads the x element of a received message (null if it has none). */
export function readX(el: Element): XRead | null {
  const x = el.getChild("x", NS_X);
  if (!x) return null;
  return {
    type: x.getChildText("type") ?? "",
    payload: JSON.parse(x.getChildText("payload") ?? "null") as XRead["payload"],
    thread: el.getChildText("thread") ?? undefined,
    from: String(el.attrs.from),
    id: el.attrs.id as string | undefined,
    body: el.getChildText("body") ?? undefined,
  };
}

export const isX = (type?: string, from?: string) => (el: Element) => {
  if (!el.is("message") || el.attrs.type === "error") return false;
  const r = readX(el);
  return !!r && (type === undefined || r.type === type) && (from === undefined || String(el.attrs.from).startsWith(from));
};

export const isNotice = (code: string) => (el: Element) => isX("chat_notice")(el) && readX(el)!.payload.code === code;

/** A stanza error reply: its condition and application element names. */
export function readError(el: Element): { condition: string; app: string; text: string } | null {
  const err = el.getChild("error");
  if (el.attrs.type !== "error" || !err) return null;
  const children = err.children.filter((c): c is Element => typeof c !== "string");
  return {
    condition: children.find((c) => c.attrs.xmlns === "urn:ietf:params:xml:ns:xmpp-stanzas" && c.name !== "text")?.name ?? "",
    app: children.find((c) => c.attrs.xmlns === NS_X)?.name ?? "",
    text: err.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas") ?? "",
  };
}

export const isError = (id?: string) => (el: Element) => el.attrs.type === "error" && (id === undefined || el.attrs.id === id);
