// A stanza serialised once (issue 14): the XML a step stores for a reply is
// the very text written to the socket later, not made again from the element.
// The element keeps its text as its own toString, which is what xmpp.js
// calls when it writes; whoever changes the element after that (the last
// guard, mendElement) calls forgetSerialized, so the text is made anew.
import { parse } from "ltx";
import type { Element } from "@xmpp/xml";

/** The element's XML, made now and given back by every later toString(). */
export function serializeOnce(el: Element): string {
  const text = el.toString();
  keep(el, text);
  return text;
}

/** An element read from XML the router stored (serializeOnce), whose toString() is that XML again. */
export function parseStored(text: string): Element {
  const el: Element = parse(text);
  keep(el, text);
  return el;
}

/** After a change to the element: its toString() serialises it again. */
export function forgetSerialized(el: Element): void {
  if (Object.prototype.hasOwnProperty.call(el, "toString")) delete (el as { toString?: unknown }).toString;
}

function keep(el: Element, text: string): void {
  Object.defineProperty(el, "toString", { value: () => text, configurable: true, enumerable: false, writable: true });
}
