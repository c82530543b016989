// protocol.md §2 "Bad input never goes unanswered", RFC 6120 §8.3 stanza
// errors (https://www.rfc-editor.org/rfc/rfc6120#section-8.3):
//   <message type="error" from=to to=from id=id>
//     <thread>…</thread>
//     <error type="modify" by="…">
//       <bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>
//       <text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">payload.data.os: …</text>
//       <invalid-payload xmlns="urn:eime:x:0"/>
//     </error>
//   </message>
import xml, { type Element } from "@xmpp/xml";
import { ERRORS, type ErrorCode } from "../errors.js";
import { NS_STANZAS } from "./ns.js";
import type { ProtocolError } from "./result.js";
import { xmlSafeText } from "./xml-chars.js";

function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

/** RFC 6120 §8.3.1: an error stanza is never answered with another error. */
export function canReplyWithError(original: Element): boolean {
  return attr(original, "type") !== "error";
}

/**
 * The error reply to `original` (message, iq or presence): same element
 * name, type="error", from and to swapped, same id, the original `<thread>`
 * kept so clients can match it. The `<error>` holds the RFC 6120 condition,
 * a `<text>` (English, say which field was wrong) and the application
 * condition ERRORS[code].app in the x namespace. The original payload is not
 * echoed (it may hold a token).
 */
export function errorReply(original: Element, code: ErrorCode, text: string, opts: { namespace: string }): Element {
  const attrs: Record<string, string> = { type: "error" };
  const from = attr(original, "to");
  const to = attr(original, "from");
  const id = attr(original, "id");
  if (from !== undefined) attrs["from"] = from;
  if (to !== undefined) attrs["to"] = to;
  if (id !== undefined) attrs["id"] = id;
  const children: Element[] = [];
  const ns = original.getNS();
  const thread = original.getChildren("thread").find((t) => t.getNS() === ns);
  if (original.getName() === "message" && thread !== undefined) {
    const parent = attr(thread, "parent");
    children.push(xml("thread", parent === undefined ? {} : { parent }, xmlSafeText(thread.getText())));
  }
  children.push(errorElement(code, text, { ...opts, ...(from !== undefined ? { by: from } : {}) }));
  return xml(original.getName(), attrs, ...children);
}

/** The `<error>` element alone: condition, `<text>` and application condition (for iq handlers that return it). */
export function errorElement(code: ErrorCode, text: string, opts: { namespace: string; by?: string }): Element {
  const spec = ERRORS[code];
  const attrs: Record<string, string> = { type: spec.type };
  if (opts.by !== undefined) attrs["by"] = opts.by;
  return xml(
    "error",
    attrs,
    xml(spec.condition, { xmlns: NS_STANZAS }),
    // The text may quote what the sender wrote (a field name, a value): never raw (xml-chars.ts).
    xml("text", { xmlns: NS_STANZAS, "xml:lang": "en" }, xmlSafeText(text)),
    xml(spec.app, { xmlns: opts.namespace }),
  );
}

/** `<text>` is "field: message", e.g. "payload.data.os: must be web, android or ios". */
export function protocolErrorText(error: ProtocolError): string {
  return `${error.field}: ${error.message}`;
}

/** errorReply for a codec's ProtocolError. */
export function protocolErrorReply(original: Element, error: ProtocolError, opts: { namespace: string }): Element {
  return errorReply(original, error.code, protocolErrorText(error), opts);
}
