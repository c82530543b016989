// The sample bot over real HTTP: every behaviour of the webhook contract
// (spec/backends.md section 1), idempotent repeats, and every failure mode.
import axios from "axios";
import type { AxiosResponse } from "axios";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSampleBot } from "../../../tools/sample-bot/bot.js";
import type { BotRequest, RasaMessage, SampleBot } from "../../../tools/sample-bot/bot.js";

let bot: SampleBot;
let seq = 0;

beforeEach(async () => {
  bot = await startSampleBot();
});
afterEach(async () => {
  await bot.stop();
});

function body(message: string, meta: BotRequest["metadata"] = {}): BotRequest {
  seq += 1;
  return {
    sender: "conv-1",
    message,
    metadata: {
      conversationId: "conv-1",
      messageId: `m-${seq}`,
      channel: "supporto",
      chatTitle: "Supporto",
      locale: "it",
      event: "message",
      apiVersion: "2.1",
      os: "android",
      appVersion: "0.4.65",
      premium: false,
      ...meta,
    },
  };
}

async function post(b: BotRequest): Promise<RasaMessage[]> {
  const res = await axios.post<RasaMessage[]>(bot.url, b, { timeout: 5_000 });
  expect(res.status).toBe(200);
  expect(res.headers["content-type"]).toMatch(/application\/json/);
  expect(Array.isArray(res.data)).toBe(true);
  for (const m of res.data) expect(m.recipient_id).toBe(b.sender);
  return res.data;
}

const raw = (b: unknown): Promise<AxiosResponse<string>> =>
  axios.post(bot.url, b, { timeout: 5_000, validateStatus: () => true, responseType: "text", transformResponse: (x: string) => x });

describe("sample bot: behaviour", () => {
  it("serves Rasa's path and health routes", async () => {
    expect(bot.url).toBe(`http://127.0.0.1:${bot.port}/webhooks/rest/webhook`);
    expect((await axios.get(`${bot.baseUrl}/`)).data).toMatch(/sample bot/);
    expect((await axios.get(`${bot.baseUrl}/webhooks/rest/`)).data).toEqual({ status: "ok" });
  });

  it("greets a new session with buttons, in Italian and in English", async () => {
    const ita = await post(body("", { event: "session_start" }));
    expect(ita).toHaveLength(1);
    expect(ita[0]?.text).toMatch(/^Ciao!/);
    expect(ita[0]?.buttons).toEqual([
      { title: "Offerte", payload: "/offers" },
      { title: "Parla con un operatore", payload: "/operator" },
    ]);
    const en = await post(body("", { event: "session_start", locale: "en" }));
    expect(en[0]?.text).toMatch(/^Hi!/);
    expect(en[0]?.buttons?.map((b) => b.payload)).toEqual(["/offers", "/operator"]);
  });

  it("echoes a message in the user's language", async () => {
    expect(await post(body("vorrei informazioni"))).toEqual([{ recipient_id: "conv-1", text: "Hai scritto: vorrei informazioni" }]);
    expect(await post(body("some info please", { locale: "en-GB" }))).toEqual([
      { recipient_id: "conv-1", text: "You wrote: some info please" },
    ]);
  });

  it("answers menu and help with buttons", async () => {
    for (const word of ["menu", "Help", "MENU!"]) {
      const r = await post(body(word));
      expect(r).toHaveLength(1);
      expect(r[0]?.buttons?.map((b) => b.payload)).toEqual(["/offers", "/operator", "/image"]);
    }
  });

  it("sends an image element that it serves itself", async () => {
    const r = await post(body("immagine"));
    expect(r[0]?.text).toBeDefined();
    const img = r[1]?.image;
    expect(img).toBe(`${bot.baseUrl}/static/sample.png`);
    const png = await axios.get<ArrayBuffer>(img ?? "", { responseType: "arraybuffer" });
    expect(png.headers["content-type"]).toBe("image/png");
    expect(Buffer.from(png.data).subarray(1, 4).toString()).toBe("PNG");
    const en = await post(body("image", { locale: "en" }));
    expect(en[1]?.image).toBe(img);
  });

  it('answers "file <text>" with an attachment that serves the text, as slowly as setFileDelay says', async () => {
    const [m, ...rest] = await post(body("file fault k.1 ."));
    expect(rest).toEqual([]);
    expect(m?.attachment).toEqual({
      url: `${bot.baseUrl}/static/echo.txt?text=fault%20k.1%20.`,
      name: "fault k.1 .",
      mediaType: "text/plain",
    });
    bot.setFileDelay(300);
    const started = Date.now();
    const file = await axios.get<string>(m!.attachment!.url, { responseType: "text" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(file.data).toBe("fault k.1 .");
    expect(String(file.headers["content-type"])).toMatch(/^text\/plain/);
    expect(bot.fileRequests).toBe(1);
  });

  it("hands off to an operator when asked (text, typed payload, button), text first", async () => {
    const handoff = { recipient_id: "conv-1", custom: { router: { handoff: { reason: "user asked for a human" } } } };
    const byText = await post(body("Vorrei parlare con un OPERATORE"));
    expect(byText).toEqual([{ recipient_id: "conv-1", text: expect.stringMatching(/^Ti passo a un operatore/) as unknown }, handoff]);
    const en = await post(body("operator please", { locale: "en" }));
    expect(en[0]?.text).toMatch(/operator/);
    expect(en[1]).toEqual(handoff);
    expect((await post(body("/operator")))[1]).toEqual(handoff);
    expect((await post(body("/operator", { event: "button" })))[1]).toEqual(handoff);
  });

  it("says goodbye and closes the bot session on ciao / bye", async () => {
    const close = { recipient_id: "conv-1", custom: { router: { close: true } } };
    const ita = await post(body("Ciao"));
    expect(ita[0]?.text).toMatch(/alla prossima/);
    expect(ita[1]).toEqual(close);
    const en = await post(body("bye", { locale: "en" }));
    expect(en[0]?.text).toMatch(/^Bye/);
    expect(en[1]).toEqual(close);
  });

  it("answers button payloads", async () => {
    const offers = await post(body("/offers", { event: "button" }));
    expect(offers[0]?.text).toMatch(/offerte/i);
    expect(offers[0]?.buttons).toBeDefined();
    const other = await post(body("/something", { event: "button" }));
    expect(other[0]?.text).toBe("Hai scelto: /something");
  });

  it("greets a reset session and a user back from an operator", async () => {
    expect((await post(body("", { event: "session_reset" })))[0]?.text).toMatch(/^Nuova sessione/);
    expect((await post(body("", { event: "operator_returned" })))[0]?.text).toMatch(/^Bentornato!/);
    expect((await post(body("", { event: "operator_returned", locale: "en" })))[0]?.text).toMatch(/^Welcome back!/);
  });

  it("records every request body in order and rejects a body without sender", async () => {
    const a = body("uno");
    const b = body("due");
    await post(a);
    await post(b);
    const bad = await raw({ message: "no sender" });
    expect(bad.status).toBe(400);
    expect(bot.requests).toEqual([a, b, { message: "no sender" }]);
    expect(bot.handled).toBe(2);
  });
});

describe("sample bot: idempotency", () => {
  it("answers a repeated messageId with the same reply and counts it once", async () => {
    const first = body("ripetimi");
    const r1 = await post(first);
    const r2 = await post({ ...first });
    expect(r2).toEqual(r1);
    expect(bot.requests).toHaveLength(2);
    expect(bot.handled).toBe(1);
    // The same messageId from another conversation is another message.
    await post({ ...first, sender: "conv-2" });
    expect(bot.handled).toBe(2);
  });

  it("recognises a retry that arrives while the first answer is still delayed", async () => {
    await bot.setMode({ delayMs: 150 });
    const b = body("lento");
    const [r1, r2] = await Promise.all([post(b), post(b)]);
    expect(r2).toEqual(r1);
    expect(bot.handled).toBe(1);
    expect(bot.requests).toHaveLength(2);
  });
});

describe("sample bot: modes", () => {
  it("down refuses connections, then listens again on the same port", async () => {
    const port = bot.port;
    await bot.setMode("down");
    const err = await axios.post(bot.url, body("ci sei?"), { timeout: 2_000 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("ECONNREFUSED");
    expect(bot.requests).toHaveLength(0);
    await bot.setMode("normal");
    expect(bot.port).toBe(port);
    expect(await post(body("eccomi"))).toEqual([{ recipient_id: "conv-1", text: "Hai scritto: eccomi" }]);
  });

  it("error500 answers HTTP 500, then normal again", async () => {
    await bot.setMode("error500");
    const b = body("fallisci");
    const res = await raw(b);
    expect(res.status).toBe(500);
    expect(bot.requests).toEqual([b]);
    expect(bot.handled).toBe(0);
    await bot.setMode("normal");
    expect(await post(b)).toEqual([{ recipient_id: "conv-1", text: "Hai scritto: fallisci" }]);
    expect(bot.handled).toBe(1);
  });

  it("garbage answers 200 with a body that is not JSON", async () => {
    await bot.setMode("garbage");
    const res = await raw(body("rompi"));
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).not.toMatch(/json/);
    expect(() => JSON.parse(res.data) as unknown).toThrow();
  });

  it("{delayMs} answers normally, later", async () => {
    await bot.setMode({ delayMs: 200 });
    const started = Date.now();
    const r = await post(body("piano"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(r[0]?.text).toBe("Hai scritto: piano");
    // A client with a shorter timeout gives up; the bot stays usable.
    const err = await axios.post(bot.url, body("troppo piano"), { timeout: 50 }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("ECONNABORTED");
    await bot.setMode("normal");
    const quick = Date.now();
    await post(body("veloce"));
    expect(Date.now() - quick).toBeLessThan(150);
  });

  it("{failRate, hangRate} fails and hangs the drawn share of calls, the same way for the same seed", async () => {
    const outcomes = async () => {
      await bot.setMode({ failRate: 0.5, hangRate: 0.25, hangMs: 300, seed: 3 });
      const out: string[] = [];
      for (let i = 0; i < 12; i++) {
        const started = Date.now();
        const res = await raw(body(`f${i}`));
        out.push(res.status === 500 ? "500" : Date.now() - started >= 290 ? "hang" : "ok");
      }
      return out;
    };
    const first = await outcomes();
    expect(first).toContain("500");
    expect(first).toContain("ok");
    expect(await outcomes()).toEqual(first);
  });

  it("{hangCalls, hangMs} hangs the first calls of a messageId, then answers at once", async () => {
    await bot.setMode({ hangCalls: 2, hangMs: 300 });
    const b = body("lenta");
    const timed = async () => {
      const started = Date.now();
      const r = await post(b);
      return { ms: Date.now() - started, text: r[0]?.text };
    };
    expect((await timed()).ms).toBeGreaterThanOrEqual(290);
    expect((await timed()).ms).toBeGreaterThanOrEqual(290);
    const third = await timed();
    expect(third.ms).toBeLessThan(250);
    expect(third.text).toBe("Hai scritto: lenta");
  });

  it("can start down and stop while down", async () => {
    const b2 = await startSampleBot({ mode: "down" });
    try {
      expect(b2.port).toBeGreaterThan(0);
      const err = await axios.post(b2.url, body("x"), { timeout: 2_000 }).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe("ECONNREFUSED");
      await b2.setMode("normal");
      expect((await axios.post<RasaMessage[]>(b2.url, body("y"))).data[0]?.text).toBe("Hai scritto: y");
      await b2.setMode("down");
    } finally {
      await b2.stop();
    }
  });
});
