// protocol.md §2: the `x` element that carries every EiMe stanza.
//   <x xmlns="urn:eime:x:0"><type/><action/><payload>{json}</payload><lang/></x>
import { Element } from "@xmpp/xml";
import { fail, ok, type Result } from "./result.js";
import { findForbiddenInJson, jsonTextIsXmlSafe, xmlSafeJson, xmlSafeText } from "./xml-chars.js";

export const X_TYPES = ["chat_text", "chat_notice", "chat_dynamic", "chat_interactive", "cmd_add_to_roster", "cmd_search_users"] as const;

export type XType = (typeof X_TYPES)[number];

export function isXType(s: string): s is XType {
  return (X_TYPES as readonly string[]).includes(s);
}

export interface XElement {
  type: XType;
  /** Always equal to `type` (§2: a mismatch is a bad request). */
  action: XType;
  /** The parsed JSON object; decodePayload (payloads.ts) types it. */
  payload: Record<string, unknown>;
  /** BCP-47 tag as sent, or the configured default when absent or empty. */
  lang: string;
}

export interface XDecodeOptions {
  /** Config `protocol.namespace`. */
  namespace: string;
  /** Config `protocol.defaultLang`. */
  defaultLang: string;
  /** Config `protocol.maxPayloadBytes`: UTF-8 bytes of the payload text. */
  maxPayloadBytes: number;
}

/**
 * The shape of a BCP-47 tag (RFC 5646 §2.1, https://www.rfc-editor.org/rfc/rfc5646#section-2.1):
 * a 2..8 letter primary subtag, then subtags of 1..8 letters or digits.
 * The registry itself is not checked.
 */
const BCP47_SHAPE = /^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$/;
const MAX_LANG_LENGTH = 64;

export function isLanguageTag(s: string): boolean {
  return s.length <= MAX_LANG_LENGTH && BCP47_SHAPE.test(s);
}

/** The only child `name` of `parent` in `ns`; "many" when repeated. */
function onlyChild(parent: Element, name: string, ns: string): Element | undefined | "many" {
  const found = parent.getChildren(name, ns);
  if (found.length > 1) return "many";
  return found[0];
}

/**
 * Finds and decodes the `x` element of a message. Children are looked up by
 * name and namespace, never by position. Error fields: "x", "type",
 * "action", "payload", "lang".
 */
export function decodeX(message: Element, opts: XDecodeOptions): Result<XElement> {
  const x = onlyChild(message, "x", opts.namespace);
  if (x === undefined) return fail("BAD_REQUEST", "x", `no <x xmlns="${opts.namespace}"> element`);
  if (x === "many") return fail("BAD_REQUEST", "x", "more than one x element");

  const typeEl = onlyChild(x, "type", opts.namespace);
  if (typeEl === undefined) return fail("BAD_REQUEST", "type", "missing");
  if (typeEl === "many") return fail("BAD_REQUEST", "type", "repeated");
  const type = typeEl.getText().trim();
  if (!isXType(type)) return fail("BAD_REQUEST", "type", `unknown type, expected one of ${X_TYPES.join(", ")}`);

  const actionEl = onlyChild(x, "action", opts.namespace);
  if (actionEl === undefined) return fail("BAD_REQUEST", "action", "missing");
  if (actionEl === "many") return fail("BAD_REQUEST", "action", "repeated");
  const action = actionEl.getText().trim();
  if (action !== type) return fail("BAD_REQUEST", "action", "must equal type");

  const payloadEl = onlyChild(x, "payload", opts.namespace);
  if (payloadEl === undefined) return fail("BAD_REQUEST", "payload", "missing");
  if (payloadEl === "many") return fail("BAD_REQUEST", "payload", "repeated");
  const payloadText = payloadEl.getText();
  // A UTF-16 unit is at most 3 UTF-8 bytes: a short text needs no count.
  const bytes = payloadText.length * 3 <= opts.maxPayloadBytes ? 0 : Buffer.byteLength(payloadText, "utf8");
  if (bytes > opts.maxPayloadBytes) {
    return fail("PAYLOAD_TOO_LARGE", "payload", `${bytes} bytes, at most ${opts.maxPayloadBytes} allowed`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(payloadText);
  } catch {
    return fail("BAD_REQUEST", "payload", "not valid JSON");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return fail("BAD_REQUEST", "payload", "must be a JSON object");
  }
  // JSON escapes (\u0000, a lone \ud800) bring in what the XML text could not hold; echoed
  // back they would break the stream, and PostgreSQL refuses them in jsonb (xml-chars.ts).
  const forbidden = jsonTextIsXmlSafe(payloadText) ? undefined : findForbiddenInJson(payload);
  if (forbidden !== undefined) {
    const field = forbidden.path === "" ? "payload" : `payload.${forbidden.path}`;
    return fail("BAD_REQUEST", field, `${forbidden.key ? "a key holds" : "holds"} ${forbidden.char}, a character XML 1.0 forbids`);
  }

  const langEl = onlyChild(x, "lang", opts.namespace);
  if (langEl === "many") return fail("BAD_REQUEST", "lang", "repeated");
  let lang = langEl?.getText().trim() ?? "";
  if (lang === "") lang = opts.defaultLang;
  else if (!isLanguageTag(lang)) return fail("BAD_REQUEST", "lang", "not a BCP-47 language tag");

  return ok({ type, action: type, payload: payload as Record<string, unknown>, lang });
}

/**
 * Builds `<x>` with action = type; the payload is serialised as compact JSON.
 * Characters XML forbids are replaced first (JSON.stringify would escape C0
 * controls but pass U+FFFE/U+FFFF raw), so body and payload say the same.
 */
export function encodeX(x: { type: XType; payload: Record<string, unknown>; lang: string }, namespace: string): Element {
  // JSON.stringify escapes C0 controls and lone surrogates, so a clean text means clean values: stringified once.
  const json = JSON.stringify(x.payload);
  const el = new Element("x", { xmlns: namespace });
  leaf(el, "type", x.type);
  leaf(el, "action", x.type);
  leaf(el, "payload", jsonTextIsXmlSafe(json) ? json : JSON.stringify(xmlSafeJson(x.payload)));
  leaf(el, "lang", xmlSafeText(x.lang));
  return el;
}

/** `<name>text</name>` under `parent`, built directly (what xml() gives, without its argument handling: once per message). */
function leaf(parent: Element, name: string, text: string): void {
  const child = parent.c(name);
  if (text !== "") child.t(text);
}
