// XEP-0313 §4.2 and §4.3 (https://xmpp.org/extensions/xep-0313.html#results):
// what an archive query is answered with. Pure.
//   one <message> per archived message:
//     <message to="{requester full JID}" from="{archive JID}" id="…">
//       <result xmlns="urn:xmpp:mam:2" queryid="…" id="{archive id}">
//         <forwarded xmlns="urn:xmpp:forward:0">          (XEP-0297)
//           <delay xmlns="urn:xmpp:delay" stamp="…"/>     (XEP-0203: when it was stored)
//           <message xmlns="jabber:client" …>…</message>
//     then the iq result: <fin xmlns="urn:xmpp:mam:2" complete="true"?> with an
//     RSM <set> (XEP-0059 §2.6: first, last, count).
// And the form an `<iq type="get">` asks for (§4.1.5).
import xml, { type Element } from "@xmpp/xml";
import { chatTitleField } from "./mam-query.js";
import { NS_CLIENT, NS_DATA_FORMS, NS_DELAY, NS_FORWARD, NS_MAM, NS_RSM } from "./ns.js";

export interface ArchiveResultInput {
  /** The requester's full JID. */
  to: string;
  /** The archive's JID (the channel JID queried). */
  from: string;
  queryId?: string;
  archiveId: string;
  stamp: Date;
  /** The archived message; it is given the jabber:client namespace (it is a client stanza, not the component's). */
  message: Element;
}

export function archiveResult(r: ArchiveResultInput): Element {
  r.message.attrs.xmlns = NS_CLIENT;
  const result = xml(
    "result",
    r.queryId === undefined ? { xmlns: NS_MAM, id: r.archiveId } : { xmlns: NS_MAM, queryid: r.queryId, id: r.archiveId },
    xml("forwarded", { xmlns: NS_FORWARD }, xml("delay", { xmlns: NS_DELAY, stamp: r.stamp.toISOString() }), r.message),
  );
  return xml("message", { to: r.to, from: r.from, id: `mam-${r.queryId ?? ""}-${r.archiveId}` }, result);
}

export interface ArchiveFinInput {
  /** Archive ids of the first and last message sent, in chronological order; absent for an empty page. */
  first?: string;
  last?: string;
  /** Messages matching the query, all pages. */
  count: number;
  /** The page reaches the end of the result set in the direction paged (§4.3: complete="true"). */
  complete: boolean;
}

export function archiveFin(f: ArchiveFinInput): Element {
  const set = xml("set", { xmlns: NS_RSM });
  if (f.first !== undefined && f.last !== undefined) set.append(xml("first", {}, f.first), xml("last", {}, f.last));
  set.append(xml("count", {}, String(f.count)));
  return xml("fin", f.complete ? { xmlns: NS_MAM, complete: "true" } : { xmlns: NS_MAM }, set);
}

/** §4.1.5: the fields this archive supports (none required). */
export function archiveForm(namespace: string): Element {
  const field = (type: string, name: string) => xml("field", { type, var: name });
  return xml(
    "query",
    { xmlns: NS_MAM },
    xml(
      "x",
      { xmlns: NS_DATA_FORMS, type: "form" },
      xml("field", { type: "hidden", var: "FORM_TYPE" }, xml("value", {}, NS_MAM)),
      field("jid-single", "with"),
      field("text-single", "start"),
      field("text-single", "end"),
      field("text-single", "before-id"),
      field("text-single", "after-id"),
      field("text-single", chatTitleField(namespace)),
    ),
  );
}
