// protocol.md §6: service discovery, XEP-0030 (https://xmpp.org/extensions/xep-0030.html).
// disco#info answers on the service JID and on channel JIDs; disco#items on
// the service JID lists the channel JIDs.
import xml, { type Element } from "@xmpp/xml";
import type { DirectoryTree } from "../core/model.js";
import { visibleItems } from "./directory.js";
import { NS_CHAT_MARKERS, NS_CHAT_STATES, NS_COMMANDS, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_MAM, NS_RECEIPTS, NS_VCARD } from "./ns.js";

/** XEP-0030 §3.1 identity; categories and types from the Service Discovery Identities registry. */
export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

export function discoInfo(info: { identities: DiscoIdentity[]; features: string[] }): Element {
  return xml(
    "query",
    { xmlns: NS_DISCO_INFO },
    ...info.identities.map((i) =>
      xml("identity", i.name === undefined ? { category: i.category, type: i.type } : { category: i.category, type: i.type, name: i.name }),
    ),
    ...info.features.map((f) => xml("feature", { var: f })),
  );
}

export function discoItems(items: { jid: string; name?: string }[]): Element {
  return xml(
    "query",
    { xmlns: NS_DISCO_ITEMS },
    ...items.map((i) => xml("item", i.name === undefined ? { jid: i.jid } : { jid: i.jid, name: i.name })),
  );
}

/** The service JID D: a generic component with the directory vCard and the x namespace. */
export function serviceDiscoInfo(serviceName: string, namespace: string): Element {
  return discoInfo({
    identities: [{ category: "component", type: "generic", name: serviceName }],
    features: [NS_DISCO_INFO, NS_DISCO_ITEMS, NS_VCARD, namespace],
  });
}

/**
 * A channel JID (and a server-address JID): a bot-like client that understands
 * chat states, receipts, ad-hoc commands (protocol.md section 9), the x
 * namespace, and keeps the user's history (XEP-0313 MAM, §6: feature urn:xmpp:mam:2).
 * `chatMarkers`: its operators hear of displayed markers (XEP-0333 section 2:
 * feature urn:xmpp:chat-markers:0), true where a GMS service answers it.
 */
export function channelDiscoInfo(name: string, namespace: string, opts: { chatMarkers?: boolean } = {}): Element {
  return discoInfo({
    identities: [{ category: "client", type: "bot", name }],
    features: [
      NS_DISCO_INFO,
      NS_DISCO_ITEMS,
      NS_VCARD,
      NS_CHAT_STATES,
      NS_RECEIPTS,
      ...(opts.chatMarkers ? [NS_CHAT_MARKERS] : []),
      NS_COMMANDS,
      NS_MAM,
      namespace,
    ],
  });
}

/**
 * disco#items on D: the channel JIDs `{address}@{domain}` named by info.name,
 * groups flattened, in the configured order. Only channels a client could see
 * in the DESC (published on some platform) are listed.
 */
export function directoryDiscoItems(tree: DirectoryTree, domain: string): Element {
  const items: { jid: string; name: string }[] = [];
  for (const item of visibleItems(tree)) {
    for (const c of item.type === "group" ? (item.items ?? []) : [item]) items.push({ jid: `${c.address}@${domain}`, name: c.info.name });
  }
  return discoItems(items);
}
