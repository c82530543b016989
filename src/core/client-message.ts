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
    }
  /** Buttons, images or custom data: chat_dynamic, or chat_interactive text for clients without it. */
  | { kind: "rich"; text: string; buttons?: BotOption[]; image?: string; custom?: Record<string, unknown> }
  | { kind: "notice"; code: string; data?: Record<string, unknown> }
  | { kind: "chat_state"; state: "active" | "composing" | "paused" };
