// The Genesys Cloud Open Messaging back-end behind OperatorPort (backends.md 2b).
//
// | port call    | Genesys Cloud                                                                      |
// |--------------|------------------------------------------------------------------------------------|
// | requestChat  | POST …/{integrationId}/inbound/open/message?prefetchConversationId=true            |
// |              | (the subject as text, userData as channel.metadata.customAttributes)               |
// | send         | POST …/{integrationId}/inbound/open/message                                        |
// | sendLink     | the same with the file as `content` (an Attachment whose url Genesys fetches)      |
// | typing       | POST …/{integrationId}/inbound/open/event (Typing On; there is no Off)             |
// | refresh      | GET /api/v2/conversations/messages/{conversationId}: joined / left / ended          |
// | disconnect   | PATCH …/messages/{conversationId}/participants/{customer participant} disconnected  |
// | updateData   | nothing to call: custom attributes ride on messages only (logged)                  |
// | customNotice | nothing to call (logged)                                                           |
// Agent messages and typing come by the webhook (webhook-route.ts), not here.
//
// The episode's chat ids hold: chatId = Genesys conversation id, userId =
// channel.from.id (the router's conversation id, never the MSISDN),
// alias = the integration id, secureKey = "" (there is none).
//
// refresh reads the state at most every stateIntervalMs per conversation, and
// less often when many are open, so the reads use at most stateReadShare of
// the per-token rate; between reads it answers "nothing new" without a call.
import { randomUUID } from "node:crypto";
import type { GenesysChatIds } from "../../core/model.js";
import type { LinkedFile, OperatorChatRequest, OperatorLinkFilesPort, OperatorPoll, OperatorPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import type { ApiClient, ApiAnswer } from "./api-client.js";
import { readParticipants, readState } from "./conversation-state.js";
import { CloudError, transientStatus, type CloudOp } from "./errors.js";
import { openMediaType } from "./media.js";
import { parseCloudServiceName } from "./service-name.js";

export interface CloudOperatorOptions {
  requestsPerMinute: number;
  stateReadShare: number;
  stateIntervalMs: number;
  /** Nickname of the user when none is given (config genesys.nickname). */
  nickname: string;
  now?: () => number;
}

export interface CloudOperator extends OperatorPort, Pick<OperatorLinkFilesPort, "sendLink"> {
  /** A receipt for an agent message (webhook id): Delivered, or Failed with why (OpenMessageReceipt `reasons`). */
  receipt(integrationId: string, conversationId: string, messageId: string, status: "Delivered" | "Failed", reason?: string): Promise<void>;
}

/** Genesys custom attributes are short strings: the transcript keeps its latest lines within this. */
const MAX_ATTRIBUTE_CHARS = 2000;

const path = (integrationId: string, what: "message" | "event" | "receipt") =>
  `/api/v2/conversations/messages/${encodeURIComponent(integrationId)}/inbound/open/${what}`;

export function createCloudOperator(options: CloudOperatorOptions, api: ApiClient, log: Logger): CloudOperator {
  const now = options.now ?? Date.now;
  /** Genesys conversation id → when its state was last read, and its customer participant. */
  const reads = new Map<string, { at: number; customer?: string | undefined }>();

  function check(op: CloudOp, answer: ApiAnswer): void {
    if (answer.status >= 200 && answer.status <= 299) return;
    throw new CloudError(`Genesys Cloud ${op}: HTTP ${answer.status}`, {
      op,
      transient: transientStatus(answer.status),
      httpStatus: answer.status,
    });
  }

  /** Every open conversation read once per this interval stays within the share of the rate. */
  function stateInterval(): number {
    const perMinute = Math.max(1, options.requestsPerMinute * options.stateReadShare);
    return Math.max(options.stateIntervalMs, Math.floor((reads.size * 60_000) / perMinute));
  }

  const from = (chat: GenesysChatIds, nickname?: string) => ({ id: chat.userId, idType: "Opaque", nickname: nickname ?? options.nickname });

  /** A file goes as `content` (OpenInboundMessageContent), with no text: OpenInboundNormalizedMessage.text is optional. */
  async function inbound(integrationId: string, chat: GenesysChatIds, text: string, messageId: string, file?: LinkedFile): Promise<void> {
    const content = file
      ? [
          {
            contentType: "Attachment",
            attachment: { mediaType: openMediaType(file.mediaType), url: file.url, mime: file.mediaType, filename: file.name },
          },
        ]
      : undefined;
    const body = {
      channel: { messageId, time: new Date(now()).toISOString(), from: from(chat) },
      ...(content ? { content } : { text }),
      type: "Text",
      direction: "Inbound",
    };
    check("message", await api.request("message", "POST", path(integrationId, "message"), body));
  }

  return {
    async requestChat(req: OperatorChatRequest) {
      const { integrationId, queueId } = parseCloudServiceName(req.serviceName);
      const conversationId = req.userData["conversationId"] ?? randomUUID();
      const customAttributes: Record<string, string> = { ...req.userData };
      const transcript = customAttributes["botTranscript"];
      if (transcript && transcript.length > MAX_ATTRIBUTE_CHARS) customAttributes["botTranscript"] = transcript.slice(-MAX_ATTRIBUTE_CHARS);
      if (queueId) customAttributes["queueId"] = queueId;
      const body = {
        channel: {
          messageId: `${req.userData["episodeUuid"] ?? randomUUID()}#request`,
          time: new Date(now()).toISOString(),
          from: { id: conversationId, idType: "Opaque", nickname: req.nickname },
          metadata: { customAttributes },
        },
        type: "Text",
        text: req.subject,
        direction: "Inbound",
      };
      const answer = await api.request("message", "POST", `${path(integrationId, "message")}?prefetchConversationId=true`, body);
      check("message", answer);
      const genesysId = (answer.body as { conversationId?: unknown } | undefined)?.conversationId;
      if (typeof genesysId !== "string" || !genesysId) {
        // The message is in Genesys: asking again would write it twice.
        throw new CloudError("Genesys Cloud message: no conversationId in the answer", { op: "message", transient: false });
      }
      reads.set(genesysId, { at: now() });
      log.info({ integrationId, conversationId: genesysId }, "Genesys Cloud conversation opened");
      return { chatId: genesysId, userId: conversationId, secureKey: "", alias: integrationId, nextPosition: 1 };
    },

    async send(serviceName, chat, text, messageId?: string) {
      await inbound(parseCloudServiceName(serviceName).integrationId, chat, text, messageId ?? randomUUID());
    },

    async sendLink(serviceName, chat, file, messageId) {
      await inbound(parseCloudServiceName(serviceName).integrationId, chat, "", messageId, file);
    },

    async typing(serviceName, chat, typing) {
      if (!typing) return; // Open Messaging typing has only "On"
      const body = {
        channel: { messageId: randomUUID(), time: new Date(now()).toISOString(), from: from(chat) },
        type: "Event",
        events: [{ eventType: "Typing", typing: { type: "On" } }],
      };
      check("event", await api.request("event", "POST", path(parseCloudServiceName(serviceName).integrationId, "event"), body));
    },

    async refresh(_serviceName, chat, position): Promise<OperatorPoll> {
      const last = reads.get(chat.chatId);
      if (last && now() - last.at < stateInterval()) return { events: [], nextPosition: position };
      const answer = await api.request("conversation", "GET", `/api/v2/conversations/messages/${encodeURIComponent(chat.chatId)}`);
      reads.set(chat.chatId, { at: now(), customer: last?.customer });
      if (answer.status === 404) return { events: [{ kind: "ended" }], nextPosition: position };
      check("conversation", answer);
      const participants = readParticipants(answer.body);
      if (!participants)
        throw new CloudError("Genesys Cloud conversation: no participants in the answer", { op: "conversation", transient: true });
      const state = readState(participants, position, "Operatore");
      reads.set(chat.chatId, { at: now(), customer: state.customerParticipantId });
      if (state.events.some((e) => e.kind === "ended")) reads.delete(chat.chatId);
      return { events: state.events, nextPosition: state.nextPosition };
    },

    async disconnect(_serviceName, chat) {
      let customer = reads.get(chat.chatId)?.customer;
      const conversationPath = `/api/v2/conversations/messages/${encodeURIComponent(chat.chatId)}`;
      if (!customer) {
        const answer = await api.request("conversation", "GET", conversationPath);
        if (answer.status === 404) return;
        check("conversation", answer);
        customer = readParticipants(answer.body)?.find((p) => p.purpose === "customer")?.id;
      }
      reads.delete(chat.chatId);
      const target = customer ? `${conversationPath}/participants/${encodeURIComponent(customer)}` : conversationPath;
      const answer = await api.request("disconnect", "PATCH", target, { state: "disconnected" });
      // Idempotent: a conversation that is over (gone, or already disconnected) is disconnected.
      if (answer.status === 404 || answer.status === 409) return;
      check("disconnect", answer);
    },

    async updateData(serviceName, chat, data) {
      log.info(
        { serviceName, conversationId: chat.chatId, keys: Object.keys(data) },
        "Genesys Cloud has no attached-data update: not sent",
      );
    },

    async customNotice(serviceName, chat) {
      log.info({ serviceName, conversationId: chat.chatId }, "Genesys Cloud has no custom notice: not sent");
    },

    async receipt(integrationId, conversationId, messageId, status, reason) {
      // Open Messaging "Inbound open receipt messages": a failure names its reasons, code GeneralError.
      const reasons = status === "Failed" ? { reasons: [{ code: "GeneralError", message: reason ?? "delivery failed" }] } : {};
      const body = {
        id: messageId,
        channel: { to: { id: conversationId, idType: "Opaque" }, time: new Date(now()).toISOString() },
        type: "Receipt",
        status,
        direction: "Outbound",
        isFinalReceipt: true,
        ...reasons,
      };
      check("receipt", await api.request("receipt", "POST", path(integrationId, "receipt"), body));
    },
  };
}
