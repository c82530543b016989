// A message for the user, as the core decides it: what a bot answer becomes
// (core/bot.ts) and what a send_client effect carries (core/effects.ts).
import type { BotOption } from "./model.js";

/** A stored file for the user (protocol.md section 10): its signed, expiring URL and what it is. */
export interface OutgoingAttachment {
  url: string;
  mediaType: string;
  name: string | null;
  size: number;
}

/** A message for the user, before it is encoded for the client's apiVersion and renderer. */
export type ClientMessage =
  | {
      kind: "text";
      text: string;
      conversationType: "bot" | "operator";
      operator?: { nickname: string };
      /** A file: EiMe clients get `data.attachment`, plain clients the URL as body with XEP-0066 OOB. */
      attachment?: OutgoingAttachment;
      /** Plain clients are asked for an XEP-0333 displayed marker (`<markable/>`): it becomes GMS readReceipt. */
      markable?: boolean;
      /** The client is asked for an XEP-0184 delivery receipt (`<request/>`): it becomes a Genesys Cloud Delivered receipt. */
      requestReceipt?: boolean;
    }
  /** Buttons, images or custom data: chat_dynamic, or chat_interactive text for clients without it. */
  | { kind: "rich"; text: string; buttons?: BotOption[]; image?: string; custom?: Record<string, unknown> }
  /** A file (protocol.md section 10): XEP-0066 for plain clients, chat_text with data.attachment for EiMe ones. */
  | { kind: "attachment"; file: UserFile; conversationType: "bot" | "operator"; operator?: { nickname: string } }
  | { kind: "notice"; code: string; data?: Record<string, unknown> }
  | { kind: "chat_state"; state: "active" | "composing" | "paused" };

/** A file for the user, and where the user gets it. */
export interface UserFile {
  name: string | null;
  /** Claimed or from the URL's extension; the stored row has the fetched type. */
  mediaType: string;
  /** A bot's `image`: chat_dynamic clients get it as data.image (protocol.md section 4). */
  image: boolean;
  /**
   * `url`: a URL the user can reach, sent as it is. `stored`: the router's copy
   * (an attachments row id), sent as a signed URL for this user; `fetchFrom`:
   * not stored yet, the delivery fetches it from there first.
   */
  at: { url: string } | { stored: string; fetchFrom?: string };
}
