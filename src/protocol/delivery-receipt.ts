// XEP-0184 Message Delivery Receipts (https://xmpp.org/extensions/xep-0184.html)
// for messages the router sends: the request it adds to a message (section
// 5.1: to a bare JID the sender cannot know whether the client supports
// receipts, and MAY ask anyway), the client's `<received id>` (section 5.2),
// and a bounce of a message of ours (RFC 6120 section 8.3: type="error",
// the original id). Pure.
import xml, { type Element } from "@xmpp/xml";
import { MAX_ID_LENGTH } from "./message.js";
import { NS_RECEIPTS, NS_STANZAS } from "./ns.js";

/** The message with `<request xmlns="urn:xmpp:receipts"/>` added (it must have an id: section 5.1). */
export function withReceiptRequest(message: Element): Element {
  if (!message.getChild("request", NS_RECEIPTS)) message.append(xml("request", { xmlns: NS_RECEIPTS }));
  return message;
}

const idOf = (v: unknown): string | null => (typeof v === "string" && v !== "" && v.length <= MAX_ID_LENGTH ? v : null);

/** The id a client's receipt acknowledges, or null (none, no id, or an id longer than any of ours). */
export function readReceived(el: Element): string | null {
  if (el.getName() !== "message" || el.attrs.type === "error") return null;
  return idOf(el.getChild("received", NS_RECEIPTS)?.attrs.id);
}

/** A message bounced with an error: the id of ours it names and the error's condition, or null. */
export function readBounce(el: Element): { id: string; condition: string } | null {
  if (el.getName() !== "message" || el.attrs.type !== "error") return null;
  const id = idOf(el.attrs.id);
  if (!id) return null;
  const condition = el.getChild("error")?.children.find((c): c is Element => typeof c !== "string" && c.attrs.xmlns === NS_STANZAS);
  return { id, condition: condition?.name ?? "undefined-condition" };
}
