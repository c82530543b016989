import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { BotUnavailableError, createWebhookBot } from "../../../src/adapters/bot/webhook-bot.js";
import type { BotRequest } from "../../../src/core/bot.js";
import { startSampleBot, type SampleBot } from "../../../tools/sample-bot/bot.js";

const log = pino({ level: "silent" });
let bot: SampleBot;

beforeAll(async () => {
  bot = await startSampleBot();
});
afterAll(() => bot.stop());
beforeEach(async () => {
  await bot.setMode("normal");
  bot.reset();
});

function request(message: string, messageId: string, event: BotRequest["metadata"]["event"] = "message"): BotRequest {
  return {
    sender: "conv-1",
    message,
    metadata: {
      conversationId: "conv-1",
      messageId,
      channel: "supporto",
      chatTitle: "Supporto",
      locale: "it",
      event,
      apiVersion: "2.1",
      os: "android",
      appVersion: "0.4.65",
      premium: false,
    },
  };
}

const fast = { timeoutMs: 300, retries: 3, retryBackoffMs: 20 };

describe("webhook bot client against the sample bot", () => {
  it("posts the Rasa body and returns the answer array", async () => {
    const client = createWebhookBot(fast, log);
    const replies = await client.send(bot.url, request("ciao bot", "m1"));
    expect(replies).toEqual([expect.objectContaining({ text: "Hai scritto: ciao bot" })]);
    expect(bot.requests).toEqual([request("ciao bot", "m1")]);
  });

  it("replaces characters XML forbids in the bot's answer (they would break the stream, and PostgreSQL refuses NUL)", async () => {
    const client = createWebhookBot(fast, log);
    const replies = await client.send(bot.url, request("a\u0000b\u0001c\uFFFEd\ud800e", "m-xml"));
    expect(replies).toEqual([expect.objectContaining({ text: "Hai scritto: a\uFFFDb\uFFFDc\uFFFDd\uFFFDe" })]);
  });

  it("reads buttons, images and the handoff control as the bot sent them", async () => {
    const client = createWebhookBot(fast, log);
    const start = await client.send(bot.url, request("", "s1", "session_start"));
    expect(start[0]!.buttons!.map((b) => b.payload)).toContain("/operator");
    const handoff = await client.send(bot.url, request("voglio un operatore", "m2"));
    expect(handoff.at(-1)).toEqual(expect.objectContaining({ custom: { router: { handoff: expect.any(Object) as unknown } } }));
  });

  it.each([
    ["answers 500", "error500" as const],
    ["answers non-JSON", "garbage" as const],
    ["times out", { delayMs: 1000 }],
    ["is down", "down" as const],
  ])("retries a bot that %s with the same messageId, then gives up with BotUnavailableError", async (_name, mode) => {
    await bot.setMode(mode);
    const client = createWebhookBot(fast, log);
    const started = Date.now();
    const err = await client.send(bot.url, request("x", "m-retry")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BotUnavailableError);
    expect((err as BotUnavailableError).code).toBe("SERVICE_UNAVAILABLE");
    if (mode !== "down") {
      expect(bot.requests).toHaveLength(4);
      expect(new Set(bot.requests.map((r) => r.metadata?.messageId))).toEqual(new Set(["m-retry"]));
    }
    expect(Date.now() - started).toBeLessThan(4 * 1300 + 500); // every wait has a bound
  });

  it("succeeds when the bot comes back during the retries, and the bot handles the message once", async () => {
    await bot.setMode("error500");
    const client = createWebhookBot({ ...fast, retryBackoffMs: 100 }, log);
    const pending = client.send(bot.url, request("again", "m-back"));
    await new Promise((r) => setTimeout(r, 50));
    await bot.setMode("normal");
    await expect(pending).resolves.toEqual([expect.objectContaining({ text: "Hai scritto: again" })]);
    expect(bot.handled).toBe(1);
  });
});
