// protocol.md §2: an inbound EiMe `<message>` (RFC 6121 §5,
// https://www.rfc-editor.org/rfc/rfc6121#section-5), and the builder every
// outbound conversation message goes through.
import { Element } from "@xmpp/xml";
import { NS_SID } from "./ns.js";
import { fail, ok, type Result } from "./result.js";
import { firstForbidden, isXmlSafe, xmlSafeText } from "./xml-chars.js";
import { decodeX, type XDecodeOptions, type XElement } from "./x-element.js";

export type MessageDecodeOptions = XDecodeOptions;

export interface InboundMessage {
  id?: string;
  from: string;
  to: string;
  /** The `type` attribute as sent (chat, normal, ...); absent means normal (RFC 6121 §5.2.2). */
  messageType?: string;
  /** Trimmed `<thread>` text; absent when missing or empty. */
  thread?: string;
  body?: string;
  /** XEP-0359 `<origin-id id>`. */
  originId?: string;
  /** protocol.md §2: origin-id if present, else the stanza id; scope it to the sender's bare JID. */
  dedupeKey?: string;
  x: XElement;
}

/** Longest stanza id or origin-id kept as a duplicate-detection key. */
export const MAX_ID_LENGTH = 256;

/** Direct children named `name` in the parent's own namespace (jabber:client, jabber:component:accept, ...). */
function stanzaChildren(el: Element, name: string): Element[] {
  const ns = el.getNS();
  return el.getChildren(name).filter((c) => c.getNS() === ns);
}

function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

/** The body without xml:lang, else the one in the stanza's language, else the first (RFC 6121 §5.2.3). */
function pickBody(el: Element): string | undefined {
  const bodies = stanzaChildren(el, "body");
  const stanzaLang = attr(el, "xml:lang");
  const chosen =
    bodies.find((b) => attr(b, "xml:lang") === undefined) ?? bodies.find((b) => attr(b, "xml:lang") === stanzaLang) ?? bodies[0];
  return chosen?.getText();
}

/**
 * Decodes an inbound message. It depends on names and namespaces only, never
 * on child order or extra children (servers reorder, add xml:lang, stanza-id,
 * delay...). Error fields: "stanza", "from", "to", "id", "origin-id",
 * "thread", then those of decodeX.
 *
 * Callers must not answer a `type="error"` message with an error
 * (RFC 6120 §8.3.1); see canReplyWithError in stanza-error.ts.
 */
export function decodeMessage(el: Element, opts: MessageDecodeOptions): Result<InboundMessage> {
  if (el.getName() !== "message") return fail("BAD_REQUEST", "stanza", "not a message");
  const from = attr(el, "from");
  if (from === undefined || from === "") return fail("BAD_REQUEST", "from", "missing");
  const to = attr(el, "to");
  if (to === undefined || to === "") return fail("BAD_REQUEST", "to", "missing");
  const id = attr(el, "id");
  if (id !== undefined && id.length > MAX_ID_LENGTH) return fail("BAD_REQUEST", "id", `longer than ${MAX_ID_LENGTH}`);

  let originId: string | undefined;
  const origin = el.getChildren("origin-id", NS_SID)[0];
  if (origin !== undefined) {
    const v = attr(origin, "id");
    if (v === undefined || v === "") return fail("BAD_REQUEST", "origin-id", "missing id attribute");
    if (v.length > MAX_ID_LENGTH) return fail("BAD_REQUEST", "origin-id", `longer than ${MAX_ID_LENGTH}`);
    originId = v;
  }

  const threads = stanzaChildren(el, "thread");
  if (threads.length > 1) return fail("BAD_REQUEST", "thread", "more than one thread element");
  const threadText = threads[0]?.getText().trim();
  // A conforming server delivers well-formed XML only; a lax parser (or a bug) may not.
  const body = pickBody(el);
  const unsafe = unsafeField({ from, to, id, "origin-id": originId, thread: threadText, body });
  if (unsafe !== undefined) return fail("BAD_REQUEST", unsafe.field, `holds ${unsafe.char}, a character XML 1.0 forbids`);

  const x = decodeX(el, opts);
  if (!x.ok) return x;

  const msg: InboundMessage = { from, to, x: x.value };
  if (id !== undefined && id !== "") msg.id = id;
  const type = attr(el, "type");
  if (type !== undefined) msg.messageType = type;
  if (threadText !== undefined && threadText !== "") msg.thread = threadText;
  if (body !== undefined) msg.body = body;
  if (originId !== undefined) msg.originId = originId;
  const dedupeKey = originId ?? msg.id;
  if (dedupeKey !== undefined) msg.dedupeKey = dedupeKey;
  return ok(msg);
}

function unsafeField(fields: Record<string, string | undefined>): { field: string; char: string } | undefined {
  for (const field in fields) {
    const value = fields[field];
    if (value === undefined || isXmlSafe(value)) continue;
    return { field, char: firstForbidden(value)! };
  }
  return undefined;
}

export interface ChatMessageInput {
  from: string;
  to: string;
  id: string;
  type?: "chat" | "normal";
  thread?: string;
  /** Built with encodeX. */
  x: Element;
  /** Plain-text fallback for clients that do not know the x element (§2). */
  body: string;
  /** More children, appended after the body (e.g. a chat state). */
  extra?: Element[];
}

/**
 * `<message from to type id><thread/><x/><body/>...extra</message>`, the shape of the §2 example.
 * The body (bot or operator text) has characters XML forbids replaced (xml-chars.ts).
 */
export function buildChatMessage(m: ChatMessageInput): Element {
  // Built directly (once per reply): xml()'s argument handling costs more than the element.
  const el = new Element("message", { from: m.from, to: m.to, type: m.type ?? "chat", id: m.id });
  if (m.thread !== undefined) leaf(el, "thread", xmlSafeText(m.thread));
  el.cnode(m.x);
  leaf(el, "body", xmlSafeText(m.body));
  for (const e of m.extra ?? []) el.cnode(e);
  return el;
}

/** `<name>text</name>` under `parent` (no text node for "", as xml() gives it). */
function leaf(parent: Element, name: string, text: string): void {
  const child = parent.c(name);
  if (text !== "") child.t(text);
}
