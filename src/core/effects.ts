// What the core asks the shell to do. Each effect becomes a durable outbox job
// (design.md rule 1), run by the delivery executor in order per conversation
// and target (rule 3); typing hints (operator_typing, a chat_state
// send_client) are the exception: stale in seconds, they are sent at once and
// not kept.
import type { BotEvent, HandoffRequest } from "./bot.js";
import type { ClientMessage } from "./client-message.js";
import type { Attachment } from "../protocol/attachment.js";

export type Effect =
  /**
   * `episodeUuid` is set for messages of an operator episode (the v2.1 thread carries it);
   * `transcriptIndex` for an operator's message with a GMS index: its stanza id names it, so
   * a client's XEP-0333 marker maps back to it; `ackId` for an operator's message the back-end
   * wants acknowledged (Genesys Cloud receipts): its job is keyed by it and asks for an XEP-0184 receipt.
   */
  | { type: "send_client"; message: ClientMessage; episodeUuid: string | null; transcriptIndex?: number; ackId?: string }
  /** `attachments`: the user's, checked (protocol.md section 10), for the webhook's metadata. */
  | { type: "call_bot"; event: BotEvent; text: string; messageId: string; session: number; attachments?: Attachment[] }
  | {
      type: "request_operator";
      episodeUuid: string;
      serviceName: string;
      handoff: HandoffRequest;
    }
  /** The user's text; their files go as send_operator_file, one job each. */
  | { type: "send_operator"; episodeUuid: string; text: string; messageId: string }
  /** One file of the user's (checked) into the operator chat: fetched, checked against the back-end's limits, uploaded. */
  | { type: "send_operator_file"; episodeUuid: string; attachment: Attachment; messageId: string }
  /** A file the operator sent (GMS FileUploaded, a Genesys Cloud attachment at `url`): downloaded, stored, sent to the user at a signed URL. */
  | {
      type: "receive_operator_file";
      episodeUuid: string;
      file: { fileId: string; nickname: string; name?: string; mediaType?: string; size?: number; url?: string };
    }
  | { type: "operator_typing"; episodeUuid: string; typing: boolean }
  | { type: "disconnect_operator"; episodeUuid: string }
  /**
   * backends.md section 2c: book a callback with the GMS Callback service.
   * No MSISDN here: the job reads it from the conversation when it runs.
   */
  | { type: "book_callback"; serviceName: string; desiredTime: string | null }
  /** GMS readReceipt: the user has seen the transcript up to `position` (backends.md section 2). */
  | { type: "operator_read_receipt"; episodeUuid: string; position: number }
  /** GMS updateNickname: the user's name changed while the episode is open. */
  | { type: "operator_nickname"; episodeUuid: string; nickname: string }
  /** The post-chat vote (protocol.md section 5): Genesys updateData, or the survey webhook. */
  | { type: "submit_vote"; episodeUuid: string; text: string; messageId: string };

export type EffectType = Effect["type"];
