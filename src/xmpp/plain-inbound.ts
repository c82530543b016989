// protocol.md section 9: messages from plain XMPP clients (Conversations,
// Dino, Gajim, Monal, profanity): a <body> and no `x` element, to a channel
// JID or a server-address JID. Handled like the generic form of section 1:
// keyed by (sender bare JID, channel, the channel's name), the sender JID is
// the identity (the XMPP server authenticated it; no thread codec, no token),
// the body is the text, xml:lang or the default the language. The
// conversation is marked plain, so replies are rendered for such a client
// (protocol/plain-render.ts). XEP-0333 displayed markers for the operator's
// messages become GMS read receipts. Everything else goes on to the EiMe pipeline.
import { readOob, textWithoutUrls } from "../protocol/attachment.js";
import { randomUUID } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import { ASK_OPERATOR } from "../core/plain-messages.js";
import { CALLBACK_REQUEST } from "../core/callback.js";
import { CLOSE_BY_USER, OPEN_FOR_VOTING } from "../core/conversation.js";
import type { DirectoryItem } from "../core/model.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import {
  NS_RECEIPTS,
  decodePlainMessage,
  errorReply,
  isPlainMessage,
  isStandaloneChatState,
  normalizeMsisdn,
  parseChatState,
  parsePlainCommand,
  protocolErrorText,
  readDisplayedMarker,
  readReceived,
  type DisplayedMarker,
  type PlainCommand,
  type ProtocolError,
} from "../protocol/index.js";
import type { Job } from "../delivery/job.js";
import { operatorMessageIndex } from "../delivery/jobs.js";
import type { ConversationService, InboundInput } from "../router/conversation-service.js";
import type { DirectoryCache } from "../router/directory-cache.js";
import type { Address } from "./dispatch.js";

export interface PlainInboundDeps {
  config: Config;
  directory: DirectoryCache;
  service: ConversationService;
  send: (stanza: Element) => Promise<void>;
  /** Hands a step's jobs to the delivery executor (src/delivery). */
  deliver: (jobs: readonly Job[]) => void;
  log: Logger;
  metrics: Metrics;
  /** XEP-0184: a client's receipt for a stanza of ours (EiMe and plain clients; Genesys Cloud receipts). */
  onReceived?: (stanzaId: string, from: Address) => Promise<void>;
}

/** The channel a plain message is for, and how it was addressed (replies come from the same JID). */
export interface PlainTarget {
  channel: DirectoryItem;
  addressing: InboundInput["addressing"];
}

/** What a command does to the conversation (the core's events; section 9). */
export function commandEvent(command: PlainCommand, messageId: string): InboundInput["event"] {
  switch (command) {
    case "operator":
      return { type: "user_notice", code: ASK_OPERATOR, messageId };
    case "close":
      return { type: "user_notice", code: CLOSE_BY_USER, messageId };
    case "vote":
      return { type: "user_notice", code: OPEN_FOR_VOTING, messageId };
    case "callback":
      // As the EiMe notice without data.desiredTime: as soon as possible (docs/protocol.md "Callbacks").
      return { type: "user_notice", code: CALLBACK_REQUEST, messageId };
    case "reset":
      return { type: "user_text", text: "", messageId, resetSession: true };
  }
}

export class PlainInbound {
  constructor(private readonly deps: PlainInboundDeps) {}

  private reply(original: Element, error: ProtocolError): Promise<void> {
    this.deps.metrics.errors.inc({ code: error.code });
    return this.deps.send(errorReply(original, error.code, protocolErrorText(error), { namespace: this.deps.config.protocol.namespace }));
  }

  /**
   * A message to `{local}@{domain}`: handled here when it is a plain client's,
   * else passed to `eime` (the EiMe pipeline, which answers a missing x).
   */
  async handle(stanza: Element, to: Address, from: Address, eime: () => Promise<void>): Promise<void> {
    const ns = this.deps.config.protocol.namespace;
    if (isPlainMessage(stanza, ns)) return this.message(stanza, to, from);
    const bodiless = stanza.getChild("x", ns) === undefined && stanza.getChild("body") === undefined;
    const received = bodiless ? readReceived(stanza) : null;
    if (received) await this.deps.onReceived?.(received, from);
    const marker = bodiless ? readDisplayedMarker(stanza) : null;
    if (marker) await this.displayed(marker, to, from);
    if (isStandaloneChatState(stanza, ns) && (await this.chatState(stanza, to, from))) return;
    if (bodiless && !isStandaloneChatState(stanza, ns)) {
      // No body and no x: a receipt, a chat marker (handled above)... nothing to answer (it asks nothing).
      if (!marker) this.deps.log.debug({ channel: to.local }, "bodiless message without x ignored");
      return;
    }
    return eime();
  }

  /**
   * Section 9 "like the generic form": at a server-address JID the thread
   * names the channel, or the address has a single channel; at a channel JID
   * the channel is the JID's.
   */
  async target(to: Address, thread: string | undefined): Promise<PlainTarget | ProtocolError> {
    const view = await this.deps.directory.get();
    const viaThread = thread !== undefined ? view.channels.get(thread) : undefined;
    if (viaThread && viaThread.serverAddress === to.local) {
      return { channel: viaThread, addressing: { kind: "server", serverAddress: to.local } };
    }
    const channel = view.channels.get(to.local);
    if (channel) return { channel, addressing: { kind: "channel" } };
    if (view.serverAddresses.has(to.local)) {
      const sharing = [...view.channels.values()].filter((c) => c.serverAddress === to.local);
      if (sharing.length === 1) return { channel: sharing[0]!, addressing: { kind: "server", serverAddress: to.local } };
      const jids = sharing.map((c) => `${c.address}@${this.deps.config.xmpp.domain}`).join(", ");
      return { code: "NO_CHANNEL_FOUND", field: "thread", message: `${to.local} serves several channels: write to one of ${jids}` };
    }
    return { code: "NO_CHANNEL_FOUND", field: "to", message: `no channel ${to.local}` };
  }

  private async message(stanza: Element, to: Address, from: Address): Promise<void> {
    const { config } = this.deps;
    if (!config.plain.enabled) {
      return this.reply(stanza, {
        code: "PLAIN_CLIENT_REFUSED",
        field: "x",
        message: `this router accepts only EiMe messages (an x element in ${config.protocol.namespace})`,
      });
    }
    const decoded = decodePlainMessage(stanza, { maxTextLength: config.protocol.maxTextLength });
    if (!decoded.ok) return this.reply(stanza, decoded.error);
    const m = decoded.value;
    this.deps.metrics.stanzasIn.inc({ type: "plain" });
    const target = await this.target(to, m.thread);
    if ("code" in target) return this.reply(stanza, target);

    // protocol.md section 10: XEP-0066 after an XEP-0363 upload; the URL alone in the body is not text.
    const attachments = readOob(stanza);
    const text = textWithoutUrls(m.text, attachments);
    const command = attachments.length === 0 ? parsePlainCommand(m.text, config.plain.commands) : null;
    const messageId = m.dedupeKey ?? randomUUID();
    const event: InboundInput["event"] = command
      ? commandEvent(command, messageId)
      : { type: "user_text", text, messageId, resetSession: false, ...(attachments.length > 0 ? { attachments } : {}) };
    const result = await this.deps.service.receive({
      key: { userJid: from.bare, channel: target.channel.address, chatTitle: target.channel.info.name },
      msisdn: normalizeMsisdn(from.local, config.protocol.defaultCountryCode),
      addressing: target.addressing,
      meta: { apiVersion: "2", lang: m.lang ?? config.protocol.defaultLang, plain: true, clientThread: m.thread ?? null },
      event,
      message: {
        sender: from.bare,
        dedupeKey: m.dedupeKey ?? null,
        kind: event.type === "user_notice" ? "chat_notice" : "chat_text",
        text: event.type === "user_notice" ? event.code : m.text,
        payload: command
          ? { command, text: m.text, client: "plain" }
          : { text: m.text, client: "plain", ...(attachments.length > 0 ? { attachments } : {}) },
      },
    });
    this.deps.deliver(result.jobs);
    if (result.status === "refused") return this.reply(stanza, result.refusal);
    // XEP-0184: the receipt once the message is stored (again for a duplicate: it was stored before).
    if (m.id && m.receiptRequested) {
      await this.deps.send(
        xml("message", { from: to.full, to: from.full, id: `rcpt-${m.id}` }, xml("received", { xmlns: NS_RECEIPTS, id: m.id })),
      );
    }
  }

  /**
   * A command from an XEP-0050 execution (src/xmpp/adhoc.ts): as if its word
   * was sent to the channel JID. Returns why it was refused, or null.
   */
  async runCommand(command: PlainCommand, to: Address, from: Address, lang: string | undefined): Promise<ProtocolError | null> {
    const { config } = this.deps;
    if (!config.plain.enabled)
      return { code: "PLAIN_CLIENT_REFUSED", field: "command", message: "commands are turned off (plain.enabled)" };
    const target = await this.target(to, undefined);
    if ("code" in target) return target;
    const event = commandEvent(command, randomUUID());
    const key = { userJid: from.bare, channel: target.channel.address, chatTitle: target.channel.info.name };
    // The conversation keeps the language of its messages; the iq's (the stream's) only starts a new one.
    const known = await this.deps.service.find(key);
    const result = await this.deps.service.receive({
      key,
      msisdn: normalizeMsisdn(from.local, config.protocol.defaultCountryCode),
      addressing: target.addressing,
      meta: { apiVersion: "2", lang: known?.lang ?? lang ?? config.protocol.defaultLang, plain: true },
      event,
      message: {
        sender: from.bare,
        dedupeKey: null,
        kind: event.type === "user_notice" ? "chat_notice" : "chat_text",
        text: event.type === "user_notice" ? event.code : "",
        payload: { command, client: "plain", via: "xep-0050" },
      },
    });
    this.deps.deliver(result.jobs);
    return result.status === "refused" ? result.refusal : null;
  }

  /**
   * XEP-0333 from a plain client: the user saw the operator's messages up to
   * the one marked. Its id is the stanza id the router gave it, which names
   * its GMS transcript index (delivery/jobs.ts operatorMessageKey): the core
   * turns it into a readReceipt. A marker for anything else is ignored
   * (XEP-0333 section 7: unknown or older messages).
   */
  private async displayed(marker: DisplayedMarker, to: Address, from: Address): Promise<void> {
    const target = await this.target(to, marker.thread);
    if ("code" in target) return;
    const c = await this.deps.service.find({ userJid: from.bare, channel: target.channel.address, chatTitle: target.channel.info.name });
    const ep = c?.episode;
    if (!c?.plain || !ep?.chat || ep.endedAt) return;
    const index = operatorMessageIndex(marker.id, ep.uuid, (ep.readPosition ?? 0) + 1, ep.transcriptPosition);
    if (index === null) return;
    this.deps.metrics.stanzasIn.inc({ type: "chat_marker" });
    const applied = await this.deps.service.apply(c.id, { type: "user_displayed", transcriptIndex: index }, `mark:${ep.uuid}:${index}`);
    this.deps.deliver(applied.jobs);
  }

  /** XEP-0085 from a plain client to the operator; true when it belonged to a plain conversation. */
  private async chatState(stanza: Element, to: Address, from: Address): Promise<boolean> {
    const state = parseChatState(stanza);
    if (!state) return false;
    const thread = stanza.getChildText("thread")?.trim() || undefined;
    const target = await this.target(to, thread);
    if ("code" in target) return false;
    const c = await this.deps.service.find({ userJid: from.bare, channel: target.channel.address, chatTitle: target.channel.info.name });
    if (!c?.plain) return false;
    this.deps.metrics.stanzasIn.inc({ type: "chat_state" });
    this.deps.deliver((await this.deps.service.apply(c.id, { type: "user_chat_state", state }, `cs:${c.id}:${Date.now()}`)).jobs);
    return true;
  }
}
