import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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

const fast = { timeoutMs: 300 };

describe("webhook bot client against the sample bot", () => {
  it("posts the Rasa body and returns the answer array", async () => {
    const client = createWebhookBot(fast, log);
    const replies = await client.send(bot.url, request("ciao bot", "m1"));
    expect(replies).toEqual([expect.objectContaining({ text: "Hai scritto: ciao bot" })]);
    expect(bot.requests).toEqual([request("ciao bot", "m1")]);
  });

  it("drops characters XML forbids from the bot's answer (they would break the stream, and PostgreSQL refuses NUL)", async () => {
    const client = createWebhookBot(fast, log);
    const replies = await client.send(bot.url, request("a\u0000b\u0001c\uFFFEd\ud800e", "m-xml"));
    expect(replies).toEqual([expect.objectContaining({ text: "Hai scritto: abcde" })]);
  });

  it("reads buttons, images and the handoff control as the bot sent them", async () => {
    const client = createWebhookBot(fast, log);
    const start = await client.send(bot.url, request("", "s1", "session_start"));
    expect(start[0]!.buttons!.map((b) => b.payload)).toContain("/operator");
    const handoff = await client.send(bot.url, request("voglio un operatore", "m2"));
    expect(handoff.at(-1)).toEqual(expect.objectContaining({ custom: { router: { handoff: expect.any(Object) as unknown } } }));
  });

  it.each([
    ["answers 500", "error500" as const, "500"],
    ["answers non-JSON", "garbage" as const, "not-json"],
    ["times out", { delayMs: 1000 }, "timeout"],
  ])("calls a bot that %s once: the request reached it (a stock Rasa would take a repeat as a second turn)", async (_n, mode, kind) => {
    await bot.setMode(mode);
    const client = createWebhookBot(fast, log);
    const err = await client.send(bot.url, request("x", "m-once")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BotUnavailableError);
    expect(err).toMatchObject({ code: "SERVICE_UNAVAILABLE", reached: true, kind });
    expect(bot.requests).toHaveLength(1);
  });

  it("says nothing reached a bot that is down (connection refused): safe to call again", async () => {
    await bot.setMode("down");
    const err = await createWebhookBot(fast, log)
      .send(bot.url, request("x", "m-down"))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reached: false, kind: "network" });
  });
});

describe("webhook bot client: what a stock Rasa and its proxies answer", () => {
  let server: Server;
  let url: string;
  let answer: { status: number; body: string };
  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/rest/webhook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("takes [] as an answer (the bot had nothing to say), not a failure", async () => {
    answer = { status: 200, body: "[]" };
    await expect(createWebhookBot(fast, log).send(url, request("x", "m-empty"))).resolves.toEqual([]);
  });

  it.each([502, 503, 504])("says nothing reached the bot behind a proxy answering %i", async (status) => {
    answer = { status, body: "{}" };
    const err = await createWebhookBot(fast, log)
      .send(url, request("x", "m-proxy"))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ reached: false, kind: String(status) });
  });
});
