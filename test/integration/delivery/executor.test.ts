// The delivery executor on PGlite, without XMPP: two instances sharing one
// outbox, real handlers with fake outside parties. What a user or an operator
// would see: how often the bot got a message and whether two calls ever
// overlapped, what the user was told, what became a dead letter.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BotUnavailableError } from "../../../src/adapters/bot/webhook-bot.js";
import { loadConfig } from "../../../src/config/load.js";
import type { Config } from "../../../src/config/schema.js";
import type { ClientMessage } from "../../../src/core/client-message.js";
import type { BotPort } from "../../../src/core/ports.js";
import type { ConversationSteps, StepHooks } from "../../../src/delivery/conversation-port.js";
import { DeliveredRows } from "../../../src/delivery/delivered.js";
import { Executor } from "../../../src/delivery/executor.js";
import { botCallHandler } from "../../../src/delivery/handlers/bot-call.js";
import { clientStanzaHandler } from "../../../src/delivery/handlers/client-stanza.js";
import { createMetrics, type Metrics } from "../../../src/metrics.js";
import type { DirectoryCache } from "../../../src/router/directory-cache.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";
import { insertOutboxRows } from "../../support/outbox-rows.js";

const logging = silentLogging();
const TAKEOVER_MS = 1000;

let store: Store;
const executors: Executor[] = [];

beforeEach(async () => {
  store = await openStore(pgliteConfig(), logging);
});
afterEach(async () => {
  for (const e of executors.splice(0)) await e.close();
  await store.close();
});

function config(overrides: { bot?: Partial<Config["bot"]>; outbox?: Partial<Config["outbox"]> } = {}): Config {
  return loadConfig({
    env: {},
    argv: [],
    overrides: {
      xmpp: { secret: "s" },
      database: { dataDir: "memory://" },
      bot: { timeoutMs: 400, retries: 1, retryBackoffMs: 20, ...overrides.bot },
      outbox: { backoffBaseMs: 20, backoffMaxMs: 100, maxAttempts: 3, takeoverMs: TAKEOVER_MS, ...overrides.outbox },
    },
  });
}

const until = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** The conversation service as the handlers see it: records what the user is told; a bot answer completes its job. */
function fakeSteps(): ConversationSteps & { told: { key: string; message: ClientMessage }[]; answers: number } {
  const fake = {
    told: [] as { key: string; message: ClientMessage }[],
    answers: 0,
    get: () => Promise.resolve(null),
    async apply(_id: string, _event: unknown, _key: string, hooks: StepHooks = {}) {
      fake.answers++;
      if (hooks.completeJob) await store.outbox.complete(hooks.completeJob);
      return { jobs: [] };
    },
    tell(_id: string, message: ClientMessage, key: string) {
      fake.told.push({ key, message });
      return Promise.resolve([]);
    },
  };
  return fake;
}

function directory(bot: { timeoutMs: number; idempotent?: boolean }): DirectoryCache {
  const channels = new Map([["supporto", { route: { mode: "bot", bot: { url: "http://bot.invalid/webhook", ...bot } } }]]);
  return { get: () => Promise.resolve({ channels }) } as unknown as DirectoryCache;
}

/** A bot that hangs past the call's timeout the first `hangs` times (the call then fails as a timeout), then answers. */
function hangingBot(hangs: number, hangMs: number) {
  const seen = { calls: 0, running: 0, maxRunning: 0 };
  const port: BotPort = {
    async send() {
      seen.calls++;
      seen.running++;
      seen.maxRunning = Math.max(seen.maxRunning, seen.running);
      try {
        if (seen.calls <= hangs) {
          await new Promise((r) => setTimeout(r, hangMs));
          throw new BotUnavailableError("no answer within the timeout", true, "timeout", null);
        }
        return [{ text: "eccomi" }];
      } finally {
        seen.running--;
      }
    },
  };
  return { port, seen };
}

function executor(owner: string, cfg: Config, metrics: Metrics = createMetrics()): Executor {
  const e = new Executor({
    store,
    clock: { now: () => new Date() },
    log: logging.child("outbox"),
    metrics,
    delivered: new DeliveredRows(),
    options: { owner, pollIntervalMs: 20, batchSize: 10, takeoverMs: cfg.outbox.takeoverMs },
  });
  executors.push(e);
  return e;
}

const botJob = (key: string) => ({
  target: "bot",
  conversationId: "conv-1",
  idempotencyKey: key,
  payload: { type: "call_bot", channel: "supporto", request: { sender: "conv-1", message: "ciao", metadata: { messageId: key } } },
});

describe("the delivery executor: leases", () => {
  it("an idempotent bot hanging past its timeout twice, longer than the takeover time, never gets the message twice at once", async () => {
    const cfg = config({ bot: { retries: 3 } });
    const bot = hangingBot(2, 2.5 * TAKEOVER_MS);
    const steps = fakeSteps();
    // Two instances on one outbox, both with the bot handler: the claim loop of each looks every 20 ms.
    for (const owner of ["a", "b"]) {
      const e = executor(owner, cfg);
      e.register(
        ["call_bot"],
        botCallHandler({
          bot: bot.port,
          directory: directory({ timeoutMs: 2.5 * TAKEOVER_MS, idempotent: true }),
          steps,
          config: cfg,
          log: logging.child("jobs"),
          metrics: createMetrics(),
        }),
      );
      await e.start();
    }
    await insertOutboxRows(store, [botJob("m-hang")]);
    await until("the answer", () => steps.answers === 1, 20_000);
    expect(bot.seen).toMatchObject({ calls: 3, maxRunning: 1 });
    expect(await store.outbox.depth()).toBe(0);
    expect(await store.outbox.listDead()).toEqual([]);
    expect(steps.told).toEqual([]); // answered within bot.retries: nobody was told the bot is away
  }, 30_000);

  it("a stock (not idempotent) bot that timed out is not called again: the user is told once, the job is a dead letter", async () => {
    const cfg = config();
    const bot = hangingBot(1, 1.5 * TAKEOVER_MS);
    const steps = fakeSteps();
    const metrics = createMetrics();
    for (const owner of ["a", "b"]) {
      const e = executor(owner, cfg, metrics);
      e.register(
        ["call_bot"],
        botCallHandler({
          bot: bot.port,
          directory: directory({ timeoutMs: 1.5 * TAKEOVER_MS }),
          steps,
          config: cfg,
          log: logging.child("jobs"),
          metrics,
        }),
      );
      await e.start();
    }
    await insertOutboxRows(store, [botJob("m-stock")]);
    await until("the dead letter", async () => (await store.outbox.listDead()).length === 1);
    // Past the takeover time again: nobody takes it up.
    await new Promise((r) => setTimeout(r, 2 * TAKEOVER_MS));
    expect(bot.seen.calls).toBe(1);
    expect(steps.told.map((t) => t.message)).toEqual([{ kind: "notice", code: "ROUTER_BOT_UNAVAILABLE#0001" }]);
    const [dead] = await store.outbox.listDead();
    expect(dead).toMatchObject({
      target: "bot",
      type: "call_bot",
      idempotencyKey: "m-stock",
      attempts: 1,
      lastError: expect.stringMatching(/timeout/) as unknown,
    });
    expect(dead).not.toHaveProperty("payload");
    expect(await metrics.registry.getSingleMetricAsString("eime_outbox_dead_letters_total")).toMatch(/target="bot"} 1/);
  }, 30_000);

  it("rows of an instance that died are taken over after the takeover time, not a fixed minute", async () => {
    const cfg = config();
    await insertOutboxRows(store, [botJob("m-orphan")]);
    // The dead instance claimed it and then stopped renewing (killed).
    expect(await store.outbox.claim({ owner: "dead", limit: 10, lockMs: TAKEOVER_MS })).toHaveLength(1);
    const started = Date.now();
    const bot = hangingBot(0, 0);
    const steps = fakeSteps();
    const e = executor("alive", cfg);
    e.register(
      ["call_bot"],
      botCallHandler({
        bot: bot.port,
        directory: directory({ timeoutMs: 400 }),
        steps,
        config: cfg,
        log: logging.child("jobs"),
        metrics: createMetrics(),
      }),
    );
    await e.start();
    await until("the answer", () => steps.answers === 1);
    console.log(`takeover of a dead instance's row: ${Date.now() - started} ms (takeoverMs ${TAKEOVER_MS})`);
    expect(bot.seen.calls).toBe(1);
  });
});

describe("the delivery executor: dead letters", () => {
  it("a stanza that cannot be written is tried maxAttempts times, becomes a dead letter, and is delivered once put back", async () => {
    const cfg = config({ outbox: { maxAttempts: 3 } });
    let online = false;
    const written: string[] = [];
    const e = executor("a", cfg);
    e.register(
      ["send_client"],
      clientStanzaHandler({
        config: cfg,
        send: (stanza) => {
          if (!online) return Promise.reject(new Error("offline and the queue is full"));
          written.push(stanza.attrs.id as string);
          return Promise.resolve();
        },
      }),
    );
    await e.start();
    await insertOutboxRows(store, [
      {
        target: "client",
        conversationId: "conv-2",
        idempotencyKey: "s-1",
        payload: { type: "send_client", kind: "text", xml: '<message to="u@x" id="eime-s1"/>' },
      },
    ]);
    await until("the dead letter", async () => (await store.outbox.listDead()).length === 1);
    const [dead] = await store.outbox.listDead();
    expect(dead).toMatchObject({ target: "client", attempts: 3, lastError: "offline and the queue is full" });
    online = true;
    expect(await store.outbox.retryDead(dead!.id)).toMatchObject({ idempotencyKey: "s-1", attempts: 0 });
    await until("the delivery", () => written.length === 1);
    await until("the row deleted", async () => (await store.outbox.depth()) === 0);
    expect(written).toEqual(["eime-s1"]);
    expect(await store.outbox.listDead()).toEqual([]);
    expect(await store.outbox.retryDead(dead!.id)).toBeNull();
  });
});
