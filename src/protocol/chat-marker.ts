// XEP-0333 Displayed Markers (https://xmpp.org/extensions/xep-0333.html),
// the part plain clients send: `<displayed xmlns="urn:xmpp:chat-markers:0"
// id="…"/>` in a message of its own, saying the user saw every message up to
// and including the one with that id (section 3). Pure.
import type { Element } from "@xmpp/xml";
import { MAX_ID_LENGTH } from "./message.js";
import { NS_CHAT_MARKERS } from "./ns.js";

export interface DisplayedMarker {
  /** The id of the last message displayed: one of ours. */
  id: string;
  /** The message's <thread>, if any (a marker is valid in that thread, section 3). */
  thread?: string;
}

/** The displayed marker a message carries, or null (none, no id, an id longer than any of ours could be). */
export function readDisplayedMarker(el: Element): DisplayedMarker | null {
  if (el.getName() !== "message") return null;
  const marker = el.getChild("displayed", NS_CHAT_MARKERS);
  const id: unknown = marker?.attrs.id;
  if (typeof id !== "string" || id === "" || id.length > MAX_ID_LENGTH) return null;
  const thread = el.getChildText("thread")?.trim();
  return { id, ...(thread ? { thread } : {}) };
}
