// XEP-0085 Chat State Notifications (https://xmpp.org/extensions/xep-0085.html),
// protocol.md §4 "Typing": the client's state goes to the operator.
import type { Element } from "@xmpp/xml";
import { NS_CHAT_STATES } from "./ns.js";

export const CHAT_STATES = ["active", "composing", "paused", "inactive", "gone"] as const;
export type ChatState = (typeof CHAT_STATES)[number];

/** The chat state child of a message, or null (none, or not one of the five of XEP-0085 §2). */
export function parseChatState(message: Element): ChatState | null {
  for (const child of message.getChildElements()) {
    if (child.getNS() !== NS_CHAT_STATES) continue;
    const name = child.getName();
    if ((CHAT_STATES as readonly string[]).includes(name)) return name as ChatState;
  }
  return null;
}

/**
 * A standalone notification (XEP-0085 §5.1): a chat state and no body and
 * no x element of `namespace`. The router forwards it and does not decode it
 * as an EiMe message (so it gets no "missing x" error).
 */
export function isStandaloneChatState(message: Element, namespace: string): boolean {
  if (parseChatState(message) === null) return false;
  return message.getChild("body") === undefined && message.getChild("x", namespace) === undefined;
}
