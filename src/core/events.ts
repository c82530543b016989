// What can happen to a conversation. The shell (router/) turns stanzas, bot
// answers, Genesys transcripts and timers into these neutral events; the core
// (conversation.ts) decides what they mean.
import type { BotEvent, BotReply } from "./bot.js";
import type { GenesysChatIds } from "./model.js";
import type { Attachment } from "../protocol/attachment.js";

export type ChatState = "active" | "composing" | "paused" | "inactive" | "gone";

/**
 * One item of an operator transcript, already translated from GMS (backends.md
 * section 2). `index`: its GMS transcript index, when the back-end has one
 * (GMS; not Genesys Cloud, nor the poller's own `error`): the core handles
 * each index once, whichever answer (a poll's, a send's) brought it.
 */
export type OperatorEvent = OperatorEventBody & { index?: number };

type OperatorEventBody =
  | { kind: "queue"; position: number }
  | { kind: "joined"; nickname: string }
  /**
   * `ackId`: the back-end's id of the message, acknowledged when the user's client has it
   * (Genesys Cloud receipts, backends.md 2b): the client is asked for an XEP-0184 receipt.
   */
  | { kind: "message"; text: string; nickname: string; ackId?: string }
  | { kind: "typing"; typing: boolean }
  /**
   * The operator sent a file: GMS FileUploaded (the router downloads it with the file API), or a
   * Genesys Cloud attachment at `url` (the router downloads that URL).
   */
  | { kind: "file"; fileId: string; nickname: string; name?: string; mediaType?: string; size?: number; url?: string }
  /** An agent left; `remaining` is how many agents are still in the chat. */
  | { kind: "left"; nickname: string; remaining: number }
  /** Genesys says the chat is over (chatEnded). */
  | { kind: "ended" }
  /** The agent side went idle and Genesys closed the chat. */
  | { kind: "idle_close" }
  /** Genesys warns that it will close the chat for inactivity (Chat Server IDLE_CONTROL_ALERT). */
  | { kind: "idle_alert" }
  /** A non-zero statusCode; `fatal` when it ended the chat. */
  | { kind: "error"; fatal: boolean; message: string };

export type ConversationEvent =
  | {
      type: "user_text";
      text: string;
      messageId: string;
      resetSession: boolean;
      /**
       * The episode the message's v2.1 thread names (protocol.md section 5):
       * a UUID (`_uuid` suffix), null for the chat's own thread; absent when
       * the thread cannot say (v1, v2, plain clients).
       */
      threadEpisode?: string | null;
      /** As the user named them, not yet checked (protocol.md section 10; the core checks them). */
      attachments?: Attachment[];
    }
  /** `data`: the notice's payload.data without the token (ROUTER_CALLBACK_REQUEST#0001 reads `desiredTime`). */
  | { type: "user_notice"; code: string; messageId: string; data?: Record<string, unknown> }
  | { type: "user_chat_state"; state: ChatState }
  | { type: "bot_replied"; replies: BotReply[]; cause: BotEvent }
  | { type: "operator_accepted"; episodeUuid: string; chat: GenesysChatIds }
  | { type: "operator_request_failed"; episodeUuid: string; reason: string }
  /** backends.md section 2c: the GMS Callback service booked the request (`_id`); `at`: the time booked, null for as soon as possible. */
  | { type: "callback_booked"; id: string; at: string | null }
  /** The booking failed for good (refused, or retries exhausted). */
  | { type: "callback_failed"; reason: string }
  /**
   * Events of one back-end answer. `nextPosition`: the transcript position
   * after them (GMS): the episode's position moves to it, never back.
   * `alias`: the chat's alias when the answer changed it (backends.md section 2).
   */
  | { type: "operator_update"; episodeUuid: string; events: OperatorEvent[]; nextPosition?: number; alias?: string }
  /** XEP-0333: the user's client displayed the episode's messages up to this transcript index (protocol.md section 9). */
  | { type: "user_displayed"; transcriptIndex: number }
  /** The name the router gives Genesys for the user (`nickname`) is now this one (the user's record changed). */
  | { type: "user_renamed"; episodeUuid: string; nickname: string }
  /** Time passed: timeouts and delayed notices are checked. */
  | { type: "tick" };
