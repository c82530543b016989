// protocol.md section 6: the directory vCard of the component domain (the
// channel tree as JSON in DESC, filtered by the requester's platform), the
// vCards of channel JIDs, and disco#info / disco#items (XEP-0030).
import type { Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import type { DirectoryItem, Platform } from "../core/model.js";
import {
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_VCARD,
  channelDiscoInfo,
  channelVCard,
  directoryDiscoItems,
  directoryVCard,
  discoItems,
  errorElement,
  platformOfOs,
  platformOfResource,
  serviceDiscoInfo,
  type DirectoryPlatform,
} from "../protocol/index.js";
import xml from "@xmpp/xml";
import type { DirectoryCache } from "../router/directory-cache.js";
import { iqKey, type Address, type IqHandler } from "./dispatch.js";

export interface DirectoryHandlerDeps {
  config: Config;
  directory: DirectoryCache;
  /** The os of the user's last message, when the resource does not tell the platform. */
  latestOs: (userJid: string) => Promise<Platform | null>;
}

export function directoryHandlers(deps: DirectoryHandlerDeps): Record<string, IqHandler> {
  const { config, directory } = deps;
  const ns = config.protocol.namespace;
  const notFound = (to: Address) => errorElement("NO_CHANNEL_FOUND", `to: no channel ${to.local}`, { namespace: ns, by: to.full });

  /** Resource `web…`/`android…`/`ios…`, else the os of the user's last message (section 6). */
  async function platformOf(from: Address): Promise<DirectoryPlatform | null> {
    if (!config.protocol.platformFilter) return null;
    return platformOfResource(from.resource) ?? platformOfOs(await deps.latestOs(from.bare));
  }

  return {
    [iqKey("get", NS_VCARD, "vCard")]: async ({ from, to }) => {
      const view = await directory.get();
      if (to.local === "") return directoryVCard(config.xmpp.serviceName, view.desc(await platformOf(from)));
      const channel = view.channels.get(to.local);
      if (channel) return channelVCard(channel);
      if (view.serverAddresses.has(to.local)) return xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, to.local));
      return notFound(to);
    },
    [iqKey("get", NS_DISCO_INFO, "query")]: async ({ to }): Promise<Element> => {
      if (to.local === "") return serviceDiscoInfo(config.xmpp.serviceName, ns);
      const view = await directory.get();
      const channel = view.channels.get(to.local);
      // XEP-0333 markers become GMS readReceipts: advertised where plain clients reach a GMS service.
      const gms = (c: DirectoryItem) => config.plain.enabled && !!config.genesys.url && !!c.route?.genesys;
      if (channel) return channelDiscoInfo(channel.info.name, ns, { chatMarkers: gms(channel) });
      if (view.serverAddresses.has(to.local)) {
        const sharing = [...view.channels.values()].filter((c) => c.serverAddress === to.local);
        return channelDiscoInfo(to.local, ns, { chatMarkers: sharing.some(gms) });
      }
      return notFound(to);
    },
    [iqKey("get", NS_DISCO_ITEMS, "query")]: async ({ to }): Promise<Element> => {
      const view = await directory.get();
      if (to.local === "") return directoryDiscoItems(view.tree, config.xmpp.domain);
      if (view.channels.has(to.local) || view.serverAddresses.has(to.local)) return discoItems([]);
      return notFound(to);
    },
  };
}
