// protocol.md §6: vCards (XEP-0054 vcard-temp, https://xmpp.org/extensions/xep-0054.html).
// The service's vCard carries the directory JSON in DESC (dynamic buddies);
// a channel's vCard describes the channel.
import xml, { type Element } from "@xmpp/xml";
import type { DirectoryItem } from "../core/model.js";
import { NS_VCARD } from "./ns.js";

/** `<vCard xmlns="vcard-temp"><FN>serviceName</FN><DESC>json</DESC></vCard>`; `desc` from descJson. */
export function directoryVCard(serviceName: string, desc: string): Element {
  return xml("vCard", { xmlns: NS_VCARD }, xml("FN", {}, serviceName), xml("DESC", {}, desc));
}

/** FN = info.name, DESC = info.status, PHOTO/EXTVAL = info.imageUrl when set. */
export function channelVCard(item: DirectoryItem): Element {
  const children: Element[] = [xml("FN", {}, item.info.name), xml("DESC", {}, item.info.status)];
  if (item.info.imageUrl !== "") children.push(xml("PHOTO", {}, xml("EXTVAL", {}, item.info.imageUrl)));
  return xml("vCard", { xmlns: NS_VCARD }, ...children);
}
