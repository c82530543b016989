// protocol.md section 10, to a bot: the user's checked attachments reach the
// webhook over real HTTP as metadata.attachments (the sample bot records the body).
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookBot } from "../../../src/adapters/bot/webhook-bot.js";
import { attachmentPolicyOf } from "../../../src/attachments/policy-of.js";
import { loadConfig } from "../../../src/config/load.js";
import { decide, newConversation, type DecideContext } from "../../../src/core/conversation.js";
import type { Effect } from "../../../src/core/effects.js";
import type { ChannelRoute } from "../../../src/core/model.js";
import { botRequest } from "../../../src/delivery/jobs.js";
import { startSampleBot, type SampleBot } from "../../../tools/sample-bot/bot.js";

let bot: SampleBot;
beforeAll(async () => {
  bot = await startSampleBot();
});
afterAll(() => bot.stop());

const config = loadConfig({
  env: { EIME_ATTACHMENTS_ALLOWED_HOSTS: "files.example.org" },
  argv: [],
  overrides: { xmpp: { service: "xmpp://127.0.0.1:5347", domain: "router.localhost", secret: "s", userDomain: "localhost" } },
});
const route: ChannelRoute = { mode: "bot", bot: { url: "http://bot" } };
const ctx: DecideContext = {
  now: new Date(),
  route,
  operatorsAvailable: false,
  timing: { idleTimeoutMs: 1, queueTimeoutMs: 1, queuedNoticeIntervalMs: 1, votingWindowMs: 1 },
  attachments: attachmentPolicyOf(config),
  newUuid: () => "u",
};

describe("attachments to a bot over HTTP", () => {
  it("the webhook body carries metadata.attachments; a refused one is not in it", async () => {
    const c = newConversation(
      {
        userJid: "393471111111@localhost",
        msisdn: "393471111111",
        channel: "supporto",
        chatTitle: "Supporto",
        addressing: { kind: "channel" },
      },
      { apiVersion: "2", lang: "it", os: null, appVersion: null, premium: false, useChatDynamic: false },
      ctx,
    );
    const d = decide(
      c,
      {
        type: "user_text",
        text: "la bolletta",
        messageId: "m1",
        resetSession: false,
        attachments: [
          { url: "https://files.example.org/a/bolletta.pdf", size: 2048, name: "bolletta.pdf" },
          { url: "https://upload.localhost/a/x.png" },
        ],
      },
      ctx,
    );
    const call = d.effects.find((e): e is Extract<Effect, { type: "call_bot" }> => e.type === "call_bot" && e.event === "message")!;
    const client = createWebhookBot({ timeoutMs: 2000 }, pino({ level: "silent" }));
    await client.send(bot.url, botRequest(d.conversation, call));
    const seen = bot.requests.find((r) => r.metadata?.messageId === "m1")!;
    expect(seen.message).toBe("la bolletta");
    expect((seen.metadata as Record<string, unknown>)["attachments"]).toEqual([
      { url: "https://files.example.org/a/bolletta.pdf", mediaType: "application/pdf", name: "bolletta.pdf", size: 2048 },
    ]);
  });
});
