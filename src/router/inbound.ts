// The inbound pipeline for messages to channels (protocol.md sections 1–4):
// decode → channel → identity check (thread vs sender) → token check →
// duplicate check and persist → decide → deliver (the last three in
// ConversationService). Every rejected stanza is answered with an error that
// names the field (design.md rule 5), and changes nothing.
import { readDataAttachment } from "../protocol/attachment.js";
import { ok } from "../protocol/result.js";
import { randomUUID } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import type { DirectoryItem } from "../core/model.js";
import type { TokenVerifier } from "../core/ports.js";
import { isRouterError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import {
  checkIdentity,
  checkRouteKey,
  decodeMessage,
  decodePayload,
  errorReply,
  isStandaloneChatState,
  normalizeMsisdn,
  parseChatState,
  parseThread,
  protocolErrorText,
  type InboundMessage,
  type ParsedThread,
  type ProtocolError,
} from "../protocol/index.js";
import { parseStored } from "../protocol/serialized.js";
import type { Job } from "../delivery/job.js";
import type { ConversationService, InboundInput } from "./conversation-service.js";
import type { DirectoryCache } from "./directory-cache.js";

const NS_RECEIPTS = "urn:xmpp:receipts";

export interface Sender {
  bare: string;
  local: string;
}

export interface InboundDeps {
  config: Config;
  directory: DirectoryCache;
  service: ConversationService;
  tokens: TokenVerifier;
  send: (stanza: Element) => Promise<void>;
  /** Hands a step's jobs to the delivery executor. */
  deliver: (jobs: readonly Job[]) => void;
  log: Logger;
  metrics: Metrics;
}

type Resolved =
  | {
      ok: true;
      channel: DirectoryItem;
      addressing: InboundInput["addressing"];
      chatTitle: string;
      msisdn: string | null;
      /** v2.1: the episode the thread names (null: the chat's own thread); absent otherwise. */
      threadEpisode?: string | null;
    }
  | { ok: false; error: ProtocolError };

const refuse = (code: ErrorCode, field: string, message: string) => ({ ok: false as const, error: { code, field, message } });

export class ChannelInbound {
  /** apiVersion 1 is logged once per user per day (protocol.md section 3). */
  private readonly v1Seen = new Map<string, string>();

  constructor(private readonly deps: InboundDeps) {}

  private reply(original: Element, error: ProtocolError): Promise<void> {
    this.deps.metrics.errors.inc({ code: error.code });
    return this.deps.send(errorReply(original, error.code, protocolErrorText(error), { namespace: this.deps.config.protocol.namespace }));
  }

  /** A message stanza addressed to `{local}@{component domain}`. */
  async handle(stanza: Element, to: { local: string }, from: Sender): Promise<void> {
    const { config } = this.deps;
    if (isStandaloneChatState(stanza, config.protocol.namespace)) return this.chatState(stanza, to, from);
    const decoded = decodeMessage(stanza, {
      namespace: config.protocol.namespace,
      defaultLang: config.protocol.defaultLang,
      maxPayloadBytes: config.protocol.maxPayloadBytes,
    });
    if (!decoded.ok) return this.reply(stanza, decoded.error);
    const message = decoded.value;
    this.deps.metrics.stanzasIn.inc({ type: message.x.type });
    const payload = decodePayload(message.x, config.protocol);
    if (!payload.ok) return this.reply(stanza, payload.error);
    const p = payload.value;
    if (p.type !== "chat_text" && p.type !== "chat_notice") {
      return this.reply(stanza, {
        code: "BAD_REQUEST",
        field: "type",
        message: `a channel accepts chat_text and chat_notice, not ${p.type}`,
      });
    }
    if (p.data.apiVersion === "1") {
      this.deps.metrics.v1Messages.inc();
      if (!config.protocol.acceptV1) {
        return this.reply(stanza, {
          code: "API_VERSION_DISABLED",
          field: "payload.data.apiVersion",
          message: "apiVersion 1 is no longer accepted: use 2 or 2.1",
        });
      }
      this.noteV1(from);
    }

    const resolved = await this.resolve(message, p.data.apiVersion, to, from);
    if (!resolved.ok) return this.reply(stanza, resolved.error);

    try {
      if (!(await this.deps.tokens.verify(p.data.token, resolved.msisdn ?? from.local))) {
        this.deps.log.warn({ msisdn: resolved.msisdn ?? from.local, channel: resolved.channel.address }, "token rejected");
        return this.reply(stanza, { code: "INVALID_TOKEN", field: "payload.data.token", message: "missing or rejected token" });
      }
    } catch (err) {
      this.deps.log.error({ err }, "token check failed");
      return this.reply(stanza, {
        code: isRouterError(err) ? err.code : "INTERNAL_ERROR",
        field: "payload.data.token",
        message: "the token could not be checked now; retry later",
      });
    }

    // protocol.md section 10: chat_text may carry data.attachment; the core checks it against the policy.
    const attachment = p.type === "chat_text" ? readDataAttachment(p.data) : ok(null);
    if (!attachment.ok) return this.reply(stanza, attachment.error);
    const attachments = attachment.value ? { attachments: [attachment.value] } : {};
    const messageId = message.dedupeKey ?? randomUUID();
    const { token: _token, ...data } = p.data; // the token is never stored, logged or forwarded
    const result = await this.deps.service.receive({
      key: { userJid: from.bare, channel: resolved.channel.address, chatTitle: resolved.chatTitle },
      msisdn: resolved.msisdn,
      addressing: resolved.addressing,
      meta: {
        apiVersion: p.data.apiVersion,
        lang: message.x.lang,
        os: p.data.os,
        appVersion: p.data.appVersion,
        premium: p.data.premium,
        useChatDynamic: p.data.useChatDynamic,
        plain: false, // an EiMe message: replies are EiMe stanzas again (protocol.md section 9)
      },
      event:
        p.type === "chat_text"
          ? {
              type: "user_text",
              text: p.text,
              messageId,
              resetSession: p.data.resetSession === true,
              ...(resolved.threadEpisode !== undefined ? { threadEpisode: resolved.threadEpisode } : {}),
              ...attachments,
            }
          : { type: "user_notice", code: p.code, messageId, data },
      message: {
        sender: from.bare,
        dedupeKey: message.dedupeKey ?? null,
        kind: p.type,
        text: p.type === "chat_text" ? p.text : p.code,
        payload: p.type === "chat_text" ? { text: p.text, data } : { code: p.code, data },
      },
    });
    this.deps.deliver(result.jobs);
    if (result.status === "refused") {
      const { code, field, message: text } = result.refusal;
      return this.reply(stanza, { code, field, message: text });
    }
    // XEP-0184: a receipt once the message is stored (again for a duplicate: it was stored before).
    if (message.id && stanza.getChild("request", NS_RECEIPTS)) {
      await this.deps.send(
        xml(
          "message",
          { from: message.to, to: message.from, id: `rcpt-${message.id}` },
          xml("received", { xmlns: NS_RECEIPTS, id: message.id }),
        ),
      );
    }
    // A message sent again (no receipt reached the client, or the answers were lost on the way): its answers again, same ids.
    if (result.status === "duplicate") {
      for (const answer of result.answers) await this.deps.send(parseStored(answer));
    }
  }

  /**
   * protocol.md section 1: at the server-address JID with the channel address as
   * thread (the generic form), else at the channel JID with an EiMe thread.
   */
  private async resolve(message: InboundMessage, apiVersion: "1" | "2" | "2.1", to: { local: string }, from: Sender): Promise<Resolved> {
    const { config } = this.deps;
    const view = await this.deps.directory.get();
    const viaServer = message.thread !== undefined ? view.channels.get(message.thread) : undefined;
    if (viaServer && viaServer.serverAddress === to.local) {
      return {
        ok: true,
        channel: viaServer,
        addressing: { kind: "server", serverAddress: to.local },
        chatTitle: viaServer.info.name,
        msisdn: normalizeMsisdn(from.local, config.protocol.defaultCountryCode),
      };
    }
    const channel = view.channels.get(to.local);
    if (!channel) {
      return view.serverAddresses.has(to.local)
        ? refuse("NO_CHANNEL_FOUND", "thread", "at a server address the thread must be the address of one of its channels")
        : refuse("NO_CHANNEL_FOUND", "to", `no channel ${to.local}`);
    }
    if (message.thread === undefined) return refuse("BAD_REQUEST", "thread", "a conversation thread is required");
    const parsed = this.parseOwnThread(message.thread, apiVersion, channel, from);
    if (!parsed.ok) return parsed;
    const title = parsed.thread.form === "v1" ? channel.info.name : (parsed.thread.title ?? channel.info.name);
    const episode =
      apiVersion !== "2.1" || parsed.thread.form === "v1"
        ? {}
        : { threadEpisode: parsed.thread.form === "router" ? (parsed.thread.episodeUuid ?? null) : null };
    return { ok: true, channel, addressing: { kind: "channel" }, chatTitle: title, msisdn: parsed.msisdn, ...episode };
  }

  /** Thread codec, route key and identity check (protocol.md section 3). */
  private parseOwnThread(
    thread: string,
    apiVersion: "1" | "2" | "2.1",
    channel: DirectoryItem,
    from: Sender,
  ): { ok: true; thread: ParsedThread; msisdn: string } | { ok: false; error: ProtocolError } {
    const cc = this.deps.config.protocol.defaultCountryCode;
    const parsed = parseThread(thread, apiVersion, cc);
    if (!parsed.ok) return parsed;
    const route = checkRouteKey(parsed.value, channel.address);
    if (!route.ok) return route;
    const identity = checkIdentity(parsed.value, from.local, cc);
    if (!identity.ok) {
      // A security event: somebody tried to write into, or read, another user's conversation.
      this.deps.log.warn(
        { security: true, msisdn: from.local, channel: channel.address, apiVersion },
        "thread names another user: refused",
      );
      return identity;
    }
    return { ok: true, thread: parsed.value, msisdn: identity.value.msisdn };
  }

  /** XEP-0085 chat states from the user go to the operator; never answered with an error. */
  private async chatState(stanza: Element, to: { local: string }, from: Sender): Promise<void> {
    const state = parseChatState(stanza);
    const thread = stanza.getChildText("thread")?.trim();
    if (!state || !thread) return;
    this.deps.metrics.stanzasIn.inc({ type: "chat_state" });
    const view = await this.deps.directory.get();
    let key: { channel: string; title: string } | null = null;
    const viaServer = view.channels.get(thread);
    if (viaServer && viaServer.serverAddress === to.local) key = { channel: viaServer.address, title: viaServer.info.name };
    const channel = view.channels.get(to.local);
    if (!key && channel) {
      // A chat state carries no apiVersion: a thread of digits is v1, anything else the v2 forms.
      const parsed = this.parseOwnThread(thread, /^\+?\d+$/.test(thread) ? "1" : "2.1", channel, from);
      if (!parsed.ok) return;
      key = {
        channel: channel.address,
        title: parsed.thread.form === "v1" ? channel.info.name : (parsed.thread.title ?? channel.info.name),
      };
    }
    if (!key) return;
    const c = await this.deps.service.find({ userJid: from.bare, channel: key.channel, chatTitle: key.title });
    if (c) this.deps.deliver((await this.deps.service.apply(c.id, { type: "user_chat_state", state }, `cs:${c.id}:${Date.now()}`)).jobs);
  }

  private noteV1(from: Sender): void {
    const today = new Date().toISOString().slice(0, 10);
    if (this.v1Seen.get(from.bare) === today) return;
    if (this.v1Seen.size > 100_000) this.v1Seen.clear();
    this.v1Seen.set(from.bare, today);
    this.deps.log.info({ msisdn: from.local }, "client uses the deprecated apiVersion 1");
  }
}
