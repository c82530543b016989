// A message for the user, encoded for the conversation's apiVersion and
// renderer (protocol.md sections 3 and 4). Pure.
//
// - from: the channel JID, or the server-address JID in the generic form (section 1);
// - to: the user's bare JID, so the server delivers to the user's devices
//   (an operator may answer after the client changed its resource);
// - thread: the router thread of the spec's table (v1: the MSISDN; v2:
//   routeKey:hash|$|title; v2.1: plus _uuid in an operator episode), or the
//   channel address in the generic form;
// - v2.1 messages carry data.chatTitle.
import type { Element } from "@xmpp/xml";
import type { ClientMessage } from "../core/client-message.js";
import type { Conversation } from "../core/model.js";
import {
  buildRouterThread,
  chatDynamic,
  chatInteractive,
  chatNotice,
  chatState,
  chatText,
  commandWordsFor,
  isNoticeCode,
  plainEnvelope,
  renderPlain,
  type CommandWords,
  type OutboundEnvelope,
  type ServerData,
} from "../protocol/index.js";

export interface EncodeOptions {
  domain: string;
  namespace: string;
  timeZone: string;
  /** Config `plain.commands` and `protocol.defaultLang`: plain clients are told the "close" word. */
  plainCommands?: CommandWords;
  defaultLang?: string;
}

export interface ClientAddress {
  from: string;
  to: string;
  thread: string;
}

export function clientAddress(c: Conversation, episodeUuid: string | null, domain: string): ClientAddress {
  if (c.addressing.kind === "server") {
    return { from: `${c.addressing.serverAddress}@${domain}`, to: c.userJid, thread: c.channel };
  }
  if (!c.msisdn) throw new Error(`conversation ${c.id} has no MSISDN for its thread`);
  const thread = buildRouterThread({
    apiVersion: c.apiVersion,
    msisdn: c.msisdn,
    channelAddress: c.channel,
    chatTitle: c.chatTitle,
    ...(c.apiVersion === "2.1" && episodeUuid ? { episodeUuid } : {}),
  });
  return { from: `${c.channel}@${domain}`, to: c.userJid, thread };
}

export function encodeClientMessage(
  c: Conversation,
  message: ClientMessage,
  episodeUuid: string | null,
  id: string,
  opts: EncodeOptions,
): Element {
  if (c.plain) {
    // protocol.md section 9: a plain XMPP client gets body text, numbered options, OOB media.
    const closeWord = opts.plainCommands ? commandWordsFor(opts.plainCommands, c.lang, opts.defaultLang ?? c.lang)?.close : undefined;
    return renderPlain(plainEnvelope(c, id, { ...opts, ...(closeWord ? { closeWord } : {}) }), message);
  }
  const address = clientAddress(c, episodeUuid, opts.domain);
  const env: OutboundEnvelope = { ...address, id, lang: c.lang, namespace: opts.namespace };
  const chatTitle = c.apiVersion === "2.1" ? { chatTitle: c.chatTitle } : {};
  switch (message.kind) {
    case "text": {
      const data: ServerData = {
        conversationType: message.conversationType,
        ...chatTitle,
        ...(message.operator ? { operator: message.operator } : {}),
        ...(message.attachment ? { attachment: message.attachment } : {}),
      };
      return chatText({ ...env, text: message.text, data });
    }
    case "rich": {
      const content = {
        text: message.text,
        ...(message.buttons ? { buttons: message.buttons } : {}),
        ...(message.image ? { image: message.image } : {}),
      };
      const data: ServerData = { conversationType: "bot", ...chatTitle };
      return c.useChatDynamic
        ? chatDynamic({ ...env, ...content, data, ...(message.custom ? { custom: message.custom } : {}) })
        : chatInteractive({ ...env, ...content, data });
    }
    case "notice": {
      if (!isNoticeCode(message.code)) throw new Error(`unknown notice code ${message.code}`);
      // protocol.md section 5: FOREGROUND_CONVERSATION#0002 names the open episode's thread, for a client that lost it.
      const thread =
        message.code === "FOREGROUND_CONVERSATION#0002" && c.apiVersion === "2.1" && episodeUuid ? { thread: address.thread } : {};
      const data = { ...message.data, ...chatTitle, ...thread };
      return chatNotice({ ...env, code: message.code, timeZone: opts.timeZone, ...(Object.keys(data).length > 0 ? { data } : {}) });
    }
    case "chat_state":
      return chatState({ from: address.from, to: address.to, id, thread: address.thread, state: message.state });
  }
}
