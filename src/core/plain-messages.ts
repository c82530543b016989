// Plain XMPP clients (protocol.md section 9) in the core: what differs for
// them before anything is encoded. Pure.
import type { ClientMessage } from "./client-message.js";

/**
 * Client → router code of the "operator" command of plain clients (section 9:
 * ask for a human). Router-made (plain clients send words, not codes); an
 * EiMe client sending it gets the same handover.
 */
export const ASK_OPERATOR = "ROUTER_ASK_OPERATOR#0001";

/**
 * A plain client shows an image inline only when a message's body is the URL
 * alone (XEP-0066 with body = URL), so rich content with an image and text or
 * buttons becomes two messages: the text with its options, then the image.
 */
export function splitForPlainClient(messages: ClientMessage[]): ClientMessage[] {
  return messages.flatMap((m): ClientMessage[] => {
    if (m.kind !== "rich" || !m.image || (m.text === "" && !m.buttons?.length)) return [m];
    const { image, ...rest } = m;
    return [rest, { kind: "rich", text: "", image }];
  });
}
