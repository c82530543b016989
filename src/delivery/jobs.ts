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
  | { type: "submit_vote"; episodeUuid: string; text: string };

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
