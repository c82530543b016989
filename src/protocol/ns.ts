// XML namespaces the router speaks. Each constant links the specification
// that defines it.

/** RFC 6120 §8.3: stanza error conditions and `<text>`. https://www.rfc-editor.org/rfc/rfc6120#section-8.3 */
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/** XEP-0054 vcard-temp. https://xmpp.org/extensions/xep-0054.html */
export const NS_VCARD = "vcard-temp";

/** XEP-0030 Service Discovery. https://xmpp.org/extensions/xep-0030.html */
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";

/** XEP-0085 Chat State Notifications. https://xmpp.org/extensions/xep-0085.html */
export const NS_CHAT_STATES = "http://jabber.org/protocol/chatstates";

/** XEP-0359 Unique and Stable Stanza IDs (origin-id). https://xmpp.org/extensions/xep-0359.html */
export const NS_SID = "urn:xmpp:sid:0";

/** RFC 6121 §2 roster. https://www.rfc-editor.org/rfc/rfc6121#section-2 */
export const NS_ROSTER = "jabber:iq:roster";

/** XEP-0356 Privileged Entity. https://xmpp.org/extensions/xep-0356.html */
export const NS_PRIVILEGE = "urn:xmpp:privilege:2";

/** protocol.md §2: default namespace of the `x` element (config `protocol.namespace`). */
export const DEFAULT_X_NS = "urn:eime:x:0";

/** XEP-0066 Out of Band Data, the message form. https://xmpp.org/extensions/xep-0066.html#x */
export const NS_OOB = "jabber:x:oob";

/** XEP-0439 Quick Response. https://xmpp.org/extensions/xep-0439.html */
export const NS_QUICK_RESPONSE = "urn:xmpp:tmp:quick-response";

/** XEP-0184 Message Delivery Receipts. https://xmpp.org/extensions/xep-0184.html */
export const NS_RECEIPTS = "urn:xmpp:receipts";

/** XEP-0333 Displayed Markers (chat markers). https://xmpp.org/extensions/xep-0333.html */
export const NS_CHAT_MARKERS = "urn:xmpp:chat-markers:0";

/** XEP-0050 Ad-Hoc Commands. https://xmpp.org/extensions/xep-0050.html */
export const NS_COMMANDS = "http://jabber.org/protocol/commands";

/** XEP-0313 Message Archive Management. https://xmpp.org/extensions/xep-0313.html */
export const NS_MAM = "urn:xmpp:mam:2";

/** XEP-0059 Result Set Management. https://xmpp.org/extensions/xep-0059.html */
export const NS_RSM = "http://jabber.org/protocol/rsm";

/** XEP-0004 Data Forms. https://xmpp.org/extensions/xep-0004.html */
export const NS_DATA_FORMS = "jabber:x:data";

/** XEP-0297 Stanza Forwarding. https://xmpp.org/extensions/xep-0297.html */
export const NS_FORWARD = "urn:xmpp:forward:0";

/** XEP-0203 Delayed Delivery. https://xmpp.org/extensions/xep-0203.html */
export const NS_DELAY = "urn:xmpp:delay";

/** RFC 6120 §4.8.3: the namespace of stanzas between a client and its server (forwarded messages carry it). */
export const NS_CLIENT = "jabber:client";
