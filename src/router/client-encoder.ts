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
import type { ClientMessage, UserFile } from "../core/client-message.js";
import type { Conversation } from "../core/model.js";
import {
  buildRouterThread,
  chatAttachment,
  chatDynamic,
  chatInteractive,
  chatNotice,
  chatState,
  chatText,
  commandWordFor,
  isNoticeCode,
  plainEnvelope,
  renderPlain,
  withReceiptRequest,
  type CommandWords,
  type OutboundEnvelope,
  type ServerData,
} from "../protocol/index.js";

export interface EncodeOptions {
  domain: string;
  namespace: string;
  timeZone: string;
  /** Config `plain.commands` and `protocol.defaultLang`: plain clients are told the "close" and "callback" words. */
  plainCommands?: CommandWords;
  defaultLang?: string;
  /** The signed URL of a stored file for one user (src/attachments/signed-url.ts); unset: stored files cannot be sent. */
  storedFileUrl?: (id: string, userBareJid: string) => string;
}

/** The URL the user gets a file at: its own, or the signed one of the router's copy. */
function fileUrl(file: UserFile, userJid: string, opts: EncodeOptions): string {
  if ("url" in file.at) return file.at.url;
  if (!opts.storedFileUrl) throw new Error("a stored file needs http.publicUrl (or the HTTP listener) to be sent");
  return opts.storedFileUrl(file.at.stored, userJid.split("/")[0]!);
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
  const stanza = encodeFor(c, message, episodeUuid, id, opts);
  // XEP-0184 section 5.1: asked of EiMe and plain clients alike (to a bare JID, whether the client supports it is unknown).
  return message.kind === "text" && message.requestReceipt ? withReceiptRequest(stanza) : stanza;
}

function encodeFor(c: Conversation, message: ClientMessage, episodeUuid: string | null, id: string, opts: EncodeOptions): Element {
  if (c.plain) {
    // protocol.md section 9: a plain XMPP client gets body text, numbered options, OOB media.
    const word = (command: "close" | "callback") =>
      opts.plainCommands ? commandWordFor(opts.plainCommands, command, c.lang, opts.defaultLang ?? c.lang) : undefined;
    const resolved: ClientMessage =
      message.kind === "attachment"
        ? { ...message, file: { ...message.file, at: { url: fileUrl(message.file, c.userJid, opts) } } }
        : message;
    return renderPlain(plainEnvelope(c, id, { ...opts, closeWord: word("close"), callbackWord: word("callback") }), resolved);
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
    case "attachment": {
      const { file } = message;
      const url = fileUrl(file, c.userJid, opts);
      const data: ServerData = {
        conversationType: message.conversationType,
        ...chatTitle,
        ...(message.operator ? { operator: message.operator } : {}),
      };
      // protocol.md section 4: a chat_dynamic client shows a bot's image as data.image; otherwise data.attachment (section 10).
      if (file.image && c.useChatDynamic) return chatDynamic({ ...env, text: "", image: url, data });
      return chatAttachment({ ...env, attachment: { url, mediaType: file.mediaType, ...(file.name ? { name: file.name } : {}) }, data });
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
