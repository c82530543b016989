// The route of every message to the component domain itself (dispatch.ts
// `serviceMessage`): the XMPP server's own messages (from a bare domain, e.g.
// the XEP-0356 privilege advertisement) go to the roster adapter and are
// never answered; users' messages are commands (protocol.md section 7).
import type { Element } from "@xmpp/xml";
import type { Logger } from "../log.js";
import type { Address, Routes } from "../xmpp/dispatch.js";

export interface ServiceMessageDeps {
  /** PrivilegedRoster.onServerMessage: true when it took the message. */
  serverMessage(stanza: Element, fromDomain: string): boolean;
  /** ContactsCommands.handle. */
  command(stanza: Element, from: Address): Promise<void>;
  log: Logger;
}

export function serviceMessageRoute(deps: ServiceMessageDeps): Routes["serviceMessage"] {
  return async (stanza, from) => {
    if (from.local === "" && from.resource === "") {
      // A server host (or another component): never a user, never answered.
      if (!deps.serverMessage(stanza, from.domain)) deps.log.debug({ from: from.domain }, "message from a server host ignored");
      return;
    }
    await deps.command(stanza, from);
  };
}
