// The core for plain XMPP clients (protocol.md section 9): the "operator"
// command hands over without the bot; a bot's text-and-image reply is the
// text, then the file.
import { describe, expect, it } from "vitest";
import { decide, newConversation, type DecideContext } from "../../../src/core/conversation.js";
import type { ConversationEvent } from "../../../src/core/events.js";
import type { ChannelRoute, Conversation } from "../../../src/core/model.js";
import { ASK_OPERATOR } from "../../../src/core/plain-messages.js";

const BOT_OP: ChannelRoute = { mode: "bot+operator", bot: { url: "http://bot" }, genesys: { serviceName: "support" } };
const ctx = (route: ChannelRoute | null = BOT_OP): DecideContext => ({
  now: new Date("2026-12-01T10:00:00Z"),
  route,
  operatorsAvailable: true,
  timing: { idleTimeoutMs: 600_000, queueTimeoutMs: 1_800_000, queuedNoticeIntervalMs: 15_000, votingWindowMs: 86_400_000 },
  newUuid: () => "e0000000-0000-4000-8000-000000000001",
});

function conv(plain: boolean): Conversation {
  return newConversation(
    { userJid: "alice@eime.local", msisdn: null, channel: "supporto", chatTitle: "Supporto", addressing: { kind: "channel" } },
    { apiVersion: "2", lang: "it", os: null, appVersion: null, premium: false, useChatDynamic: false, plain, clientThread: null },
    ctx(),
  );
}

describe("plain clients in the core", () => {
  it("'operator' opens an operator episode and never calls the bot", () => {
    const d = decide(conv(true), { type: "user_notice", code: ASK_OPERATOR, messageId: "m" }, ctx());
    expect(d.refusal).toBeUndefined();
    expect(d.conversation.state).toBe("queued");
    expect(d.effects.map((e) => e.type)).toEqual(["request_operator", "send_client"]);
  });

  it("'operator' during an open episode says it is already open", () => {
    const queued = decide(conv(true), { type: "user_notice", code: ASK_OPERATOR, messageId: "m" }, ctx()).conversation;
    const again = decide(queued, { type: "user_notice", code: ASK_OPERATOR, messageId: "m2" }, ctx());
    expect(again.effects).toEqual([
      { type: "send_client", message: { kind: "notice", code: "FOREGROUND_CONVERSATION#0002" }, episodeUuid: queued.episode!.uuid },
    ]);
  });

  it("a bot reply with text and image: the text, then the file (plain and EiMe clients alike)", () => {
    const replied: ConversationEvent = {
      type: "bot_replied",
      cause: "message",
      replies: [{ text: "La mappa", image: "https://img.example.com/a.png" }],
    };
    const direct = { ...ctx(), botFiles: { allowedHosts: [], proxy: "private" as const } };
    const sent = (c: Conversation) => decide(c, replied, direct).effects.map((e) => (e.type === "send_client" ? e.message : e.type));
    const both = [
      { kind: "text", text: "La mappa", conversationType: "bot" },
      {
        kind: "attachment",
        conversationType: "bot",
        file: { name: null, mediaType: "image/png", image: true, at: { url: "https://img.example.com/a.png" } },
      },
    ];
    expect(sent(conv(true))).toEqual(both);
    expect(sent(conv(false))).toEqual(both);
  });
});
