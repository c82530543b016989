// Outbox jobs: the durable form of the core's effects (design.md rule 1),
// except typing hints, which are stale in seconds and sent at once.
// A job's idempotency key comes from the event that produced it, so the same
// event handled twice enqueues nothing twice (rule 2).
import { createHash } from "node:crypto";
import type { BotAttachment, BotRequest, HandoffRequest } from "../core/bot.js";
import type { Effect } from "../core/effects.js";
import type { Conversation } from "../core/model.js";
import type { NewOutboxItem } from "../store/index.js";
import type { Attachment } from "../protocol/attachment.js";

export type JobPayload =
  /** A stanza for the user, encoded when it was decided (thread and texts as of then) and stored as its message (messages.stanza). */
  | { type: "send_client"; kind: string }
  | { type: "call_bot"; channel: string; request: BotRequest }
  | { type: "request_operator"; episodeUuid: string; serviceName: string; handoff: HandoffRequest }
  | { type: "send_operator"; episodeUuid: string; text: string }
  /** One file of the user's, checked: fetched, checked against the back-end's limits and uploaded, or linked for Genesys Cloud (handlers/operator-files.ts). */
  | { type: "send_operator_file"; episodeUuid: string; attachment: Attachment }
  /** A file an operator sent (GMS FileUploaded, a Genesys Cloud attachment at `url`): downloaded, stored, sent to the user at a signed URL. */
  | {
      type: "receive_operator_file";
      episodeUuid: string;
      file: { fileId: string; nickname: string; name?: string; mediaType?: string; size?: number; url?: string };
    }
  | { type: "disconnect_operator"; episodeUuid: string }
  | { type: "submit_vote"; episodeUuid: string; text: string }
  /** backends.md section 2c (handlers/callback-booking.ts); the MSISDN is read from the conversation when it runs, never stored here. */
  | { type: "book_callback"; serviceName: string; desiredTime: string | null }
  /** GMS readReceipt up to `position` (a newer marker's job makes an older one's call needless). */
  | { type: "read_receipt"; episodeUuid: string; position: number }
  /** GMS updateNickname (a newer rename's job makes an older one's call needless). */
  | { type: "update_nickname"; episodeUuid: string; nickname: string };

export type JobTarget = "client" | "bot" | "genesys";

export function targetOf(payload: JobPayload): JobTarget {
  switch (payload.type) {
    case "send_client":
      return "client";
    case "call_bot":
      return "bot";
    default:
      return "genesys";
  }
}

/** A stable stanza id for a client message: the same job always sends the same id. */
export function stanzaIdFor(idempotencyKey: string): string {
  return "eime-" + createHash("sha256").update(idempotencyKey).digest("base64url").slice(0, 22);
}

/**
 * The key of an operator's message with a GMS transcript index: one per index
 * of the episode, so its stanza id (stanzaIdFor) names the index, and a
 * client's XEP-0333 marker maps back to it (operatorMessageIndex).
 */
export const operatorMessageKey = (episodeUuid: string, index: number) => `opmsg:${episodeUuid}:${index}`;

/**
 * The key of an operator's message the back-end wants acknowledged (Genesys
 * Cloud: its webhook message id): its stanza id (stanzaIdFor) is known to the
 * adapter before the step, which stores it to match the client's XEP-0184
 * receipt (adapters/genesys-cloud/receipts.ts).
 */
export const operatorAckKey = (episodeUuid: string, ackId: string) => `opack:${episodeUuid}:${ackId}`;

/** How many indexes below the episode's position a marker is looked for: a bound on the hashing one marker costs. */
export const MARKER_LOOKBACK = 500;

/**
 * The transcript index of the operator's message a client marked (XEP-0333
 * `id` = our stanza id), among the episode's indexes in [from, below); null
 * when it names none of them (not ours, older, or another episode's).
 */
export function operatorMessageIndex(stanzaId: string, episodeUuid: string, from: number, below: number): number | null {
  if (!stanzaId.startsWith("eime-")) return null;
  for (let i = below - 1; i >= Math.max(from, below - MARKER_LOOKBACK, 1); i--) {
    if (stanzaIdFor(operatorMessageKey(episodeUuid, i)) === stanzaId) return i;
  }
  return null;
}

/** Rasa's tracker id: a reset or closed session gets a new one. */
export function botSender(c: Conversation): string {
  return c.botSession === 0 ? c.id : `${c.id}:${c.botSession}`;
}

export function botRequest(c: Conversation, effect: Extract<Effect, { type: "call_bot" }>): BotRequest {
  return {
    sender: c.botSession === effect.session ? botSender(c) : `${c.id}:${effect.session}`,
    message: effect.text,
    metadata: {
      conversationId: c.id,
      messageId: effect.messageId,
      channel: c.channel,
      chatTitle: c.chatTitle,
      locale: c.lang,
      event: effect.event,
      apiVersion: c.apiVersion,
      os: c.os,
      appVersion: c.appVersion,
      premium: c.premium,
      // protocol.md section 10: only when the message has some (a stock Rasa ignores unknown metadata).
      ...(effect.attachments?.length ? { attachments: effect.attachments.map(forBot) } : {}),
    },
  };
}

function forBot(a: Attachment): BotAttachment {
  return { url: a.url, mediaType: a.mediaType ?? "application/octet-stream", name: a.name ?? null, size: a.size ?? null };
}

export function job(conversationId: string, idempotencyKey: string, payload: JobPayload): NewOutboxItem {
  return { target: targetOf(payload), conversationId, payload, idempotencyKey };
}
