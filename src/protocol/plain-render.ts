// protocol.md section 9: what the router sends into a conversation with a
// plain XMPP client (no `x` element). Pure: a ClientMessage in, one stanza out.
//
// - text in <body>; buttons as "N. Title" lines and as XEP-0439 quick
//   responses (https://xmpp.org/extensions/xep-0439.html), whose value is the
//   number, so a tap sends the same reply as typing it;
// - a file (protocol.md section 10) and an image as XEP-0066 OOB (https://xmpp.org/extensions/xep-0066.html#x)
//   with the URL alone as the body, which is what Conversations, Dino, Gajim
//   and Monal show inline (the core sends text and image apart, see
//   core/plain-messages.ts);
// - a notice as its localised sentence, no code, plus the word to send where
//   the notice asks for an answer (close an operator conversation, accept a
//   callback offer: docs/protocol.md "Callbacks");
// - operator typing as a standalone XEP-0085 notification; every message with
//   a body carries <active/> (XEP-0085 section 5.1: once chat states are used);
// - the client's <thread> echoed when it sent one;
// - an operator's message the router can tell GMS was read carries
//   XEP-0333 <markable/>: the client answers <displayed id="…"/> when the
//   user saw it (https://xmpp.org/extensions/xep-0333.html).
import xml, { type Element } from "@xmpp/xml";
import type { ClientMessage } from "../core/client-message.js";
import type { Conversation } from "../core/model.js";
import { NS_CHAT_MARKERS, NS_CHAT_STATES, NS_OOB, NS_QUICK_RESPONSE } from "./ns.js";
import { isNoticeCode, noticeLang, noticeText, type NoticeData } from "./notices.js";
import { flattenRich } from "./outbound.js";

export interface PlainEnvelope {
  /** The channel JID, or the server-address JID the client wrote to. */
  from: string;
  to: string;
  id: string;
  /** The client's own thread; left out when it sent none. */
  thread?: string | null;
  lang: string;
  timeZone: string;
  /** The "close" word in the conversation's language, named in the queue and operator notices. */
  closeWord?: string;
  /** The "callback" word, named in ROUTER_QUEUE_FULL#0001 when it offers a callback. */
  callbackWord?: string;
}

const CLOSE_HINT = {
  it: (w: string) => `Scrivi «${w}» per chiudere la conversazione con l'operatore.`,
  en: (w: string) => `Write "${w}" to end the conversation with the operator.`,
} as const;

/** Notices after which a plain user needs to know how to leave the operator. */
const HINTED = new Set(["ROUTER_QUEUED#0001", "ROUTER_OPERATOR_JOINED#0001"]);

/** The plain word takes no time: the callback is asked for as soon as possible (docs/protocol.md "Callbacks"). */
const CALLBACK_HINT = {
  it: (w: string) => `Scrivi «${w}» per essere richiamato appena possibile.`,
  en: (w: string) => `Write "${w}" to be called back as soon as possible.`,
} as const;

function message(env: PlainEnvelope, children: Element[], withActive = true): Element {
  const head = env.thread ? [xml("thread", {}, env.thread)] : [];
  const active = withActive ? [xml("active", { xmlns: NS_CHAT_STATES })] : [];
  return xml("message", { from: env.from, to: env.to, type: "chat", id: env.id }, ...head, ...children, ...active);
}

/**
 * The body of a notice for a plain client: the sentence, for queue/operator
 * notices how to close, and for a callback offer how to accept it.
 */
export function plainNoticeText(
  code: string,
  data: NoticeData,
  env: Pick<PlainEnvelope, "lang" | "timeZone" | "closeWord" | "callbackWord">,
): string {
  if (!isNoticeCode(code)) throw new Error(`unknown notice code ${code}`);
  const text = noticeText(code, env.lang, data, { timeZone: env.timeZone });
  const lang = noticeLang(env.lang);
  if (env.closeWord && HINTED.has(code)) return `${text}\n${CLOSE_HINT[lang](env.closeWord)}`;
  if (env.callbackWord && code === "ROUTER_QUEUE_FULL#0001" && data.callbackOffered === true) {
    return `${text}\n${CALLBACK_HINT[lang](env.callbackWord)}`;
  }
  return text;
}

export function renderPlain(env: PlainEnvelope, m: ClientMessage): Element {
  switch (m.kind) {
    case "text":
      if (m.attachment) {
        // XEP-0066 section 3.2: the URL alone as the body, so clients show the file inline.
        const { url, name } = m.attachment;
        const oob = xml("x", { xmlns: NS_OOB }, xml("url", {}, url), ...(name ? [xml("desc", {}, name)] : []));
        return message(env, [xml("body", {}, url), oob]);
      }
      return message(env, [xml("body", {}, m.text), ...(m.markable ? [xml("markable", { xmlns: NS_CHAT_MARKERS })] : [])]);
    case "rich": {
      if (m.image && m.text === "" && !m.buttons?.length) {
        return message(env, [xml("body", {}, m.image), xml("x", { xmlns: NS_OOB }, xml("url", {}, m.image))]);
      }
      const responses = (m.buttons ?? []).map((b, i) =>
        xml("response", { xmlns: NS_QUICK_RESPONSE, value: String(i + 1), label: b.title }),
      );
      return message(env, [xml("body", {}, flattenRich(m)), ...responses]);
    }
    case "attachment": {
      // XEP-0066 with the URL alone as the body (section 10); <desc> names the file.
      if (!("url" in m.file.at)) throw new Error("a stored file's URL is signed before it is rendered");
      const url = m.file.at.url;
      const desc = m.file.name ? [xml("desc", {}, m.file.name)] : [];
      return message(env, [xml("body", {}, url), xml("x", { xmlns: NS_OOB }, xml("url", {}, url), ...desc)]);
    }
    case "notice":
      return message(env, [xml("body", {}, plainNoticeText(m.code, m.data ?? {}, env))]);
    case "chat_state":
      return message(env, [xml(m.state, { xmlns: NS_CHAT_STATES })], false);
  }
}

/** The envelope of a message into a plain conversation: from the JID the client wrote to, its thread echoed. */
export function plainEnvelope(
  c: Pick<Conversation, "channel" | "addressing" | "userJid" | "clientThread" | "lang">,
  id: string,
  opts: { domain: string; timeZone: string; closeWord?: string | undefined; callbackWord?: string | undefined },
): PlainEnvelope {
  const local = c.addressing.kind === "server" ? c.addressing.serverAddress : c.channel;
  return {
    from: `${local}@${opts.domain}`,
    to: c.userJid,
    id,
    thread: c.clientThread ?? null,
    lang: c.lang,
    timeZone: opts.timeZone,
    ...(opts.closeWord ? { closeWord: opts.closeWord } : {}),
    ...(opts.callbackWord ? { callbackWord: opts.callbackWord } : {}),
  };
}
