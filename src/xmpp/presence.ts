// Presence of channel JIDs (protocol.md section 6): a channel in a user's
// roster shows online. Probes are answered with available presence;
// subscription requests are approved (subscribed, then available);
// unsubscribe is acknowledged. RFC 6121 sections 3 and 4.
import xml, { type Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import { errorReply } from "../protocol/index.js";
import type { DirectoryCache } from "../router/directory-cache.js";
import type { Address } from "./dispatch.js";

export interface PresenceDeps {
  config: Config;
  directory: DirectoryCache;
  send: (stanza: Element) => Promise<void>;
}

export function presenceHandler(deps: PresenceDeps) {
  return async (stanza: Element, to: Address, from: Address): Promise<void> => {
    const view = await deps.directory.get();
    const known = to.local === "" || view.channels.has(to.local) || view.serverAddresses.has(to.local);
    const type = stanza.attrs.type as string | undefined;
    const reply = (attrs: Record<string, string>) => deps.send(xml("presence", { from: to.bare, to: from.bare, ...attrs }));
    if (!known) {
      if (type === "subscribe") {
        await deps.send(
          errorReply(stanza, "NO_CHANNEL_FOUND", `to: no channel ${to.local}`, { namespace: deps.config.protocol.namespace }),
        );
      }
      return;
    }
    switch (type) {
      case "probe":
        return reply({});
      case "subscribe":
        await reply({ type: "subscribed" });
        return reply({});
      case "unsubscribe":
        return reply({ type: "unsubscribed" });
      case undefined:
        // Directed available presence (e.g. a client joining): tell it we are here.
        return reply({});
      default:
        return; // unavailable, subscribed, unsubscribed, error: nothing to answer
    }
  };
}
