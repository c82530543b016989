// route.maxQueued counts the queue of a service across all instances
// (backends.md section 2c; issue 17): two router instances on one component
// domain of ejabberd (domain_balancing, bare_source: docs/ejabberd.md section
// 5) and one real PostgreSQL database, the sample bot and the GMS simulator.
// User A, whose stanzas ejabberd hashes to one instance, waits in the queue of
// a route with maxQueued 1; user B, hashed to the other instance, asks too and
// gets ROUTER_QUEUE_FULL#0001, stays with the bot, and no second chat is
// requested. The instance that answers B never requested a chat itself, so a
// count of its own queue (a per-process count) would have let B in; once A's
// chat ends B is queued by that same instance.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startGmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { createPgTestDatabase, skipPg, type TestDatabase } from "../support/db.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startEjabberd, type Ejabberd } from "./harness/ejabberd.js";
import { chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

// ejabberd 23.01 hashes these two to different slots (erlang:phash2({User, Host, <<>>}, 2): 0 and 1;
// the BALANCED_USERS of ejabberd.test.ts), so with two connections each reaches another instance.
const A = "393475550001";
const B = "393475550009";
const SERVICE = "piena-service";
const INSTANCES = ["queue-instance-1", "queue-instance-2"];

let ejabberd: Ejabberd;
let database: TestDatabase;
let bot: SampleBot;
let sim: Awaited<ReturnType<typeof startGmsSimulator>>;
const routers: App[] = [];
let clients: Record<string, TestClient> = {};
let PIENA: string;

const data = { apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false };

/** chat_text stanzas this instance received (its own metrics registry: metrics.ts). */
async function chatTextsIn(r: App): Promise<number> {
  const m = await r.metrics.stanzasIn.get();
  return m.values.filter((v) => v.labels.type === "chat_text").reduce((n, v) => n + v.value, 0);
}

/** GMS chat requests this instance made (metrics.genesysLatency, op "request"). */
async function chatRequestsBy(r: App): Promise<number> {
  const m = await r.metrics.genesysLatency.get();
  return m.values
    .filter((v) => v.metricName === "eime_genesys_request_seconds_count" && v.labels.op === "request")
    .reduce((n, v) => n + v.value, 0);
}

/** Which instance (index in `routers`) received the chat_text stanzas sent while `act` ran; exactly one must have. */
async function servedBy(act: () => Promise<void>): Promise<number> {
  const before = await Promise.all(routers.map(chatTextsIn));
  await act();
  const after = await Promise.all(routers.map(chatTextsIn));
  const grew = routers.map((_, i) => after[i]! - before[i]!);
  expect(
    grew.filter((n) => n > 0),
    `chat_text stanzas received per instance: ${grew.join(", ")}`,
  ).toHaveLength(1);
  return grew.findIndex((n) => n > 0);
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ejabberd log tail:\n${ejabberd.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Says something to the bot of `piena` and waits for its echo. */
async function talk(user: string, text: string): Promise<void> {
  await clients[user]!.send(chatText(text, data, { to: PIENA, thread: v2Thread(user, "Piena") }));
  await clients[user]!.waitFor(
    (s) => isX("chat_text", PIENA)(s) && readX(s)!.payload.text === `Hai scritto: ${text}`,
    8000,
    `the echo of "${text}" for ${user}`,
  );
}

const ask = (user: string) => clients[user]!.send(chatText("voglio un operatore", data, { to: PIENA, thread: v2Thread(user, "Piena") }));
const notice = (user: string, code: string) =>
  clients[user]!.waitFor((s) => isNotice(code)(s) && readX(s)!.from === PIENA, 8000, `${code} for ${user}`);

const conversationOf = (user: string) => routers[0]!.store.conversations.findByKey(`${user}@${ejabberd.userDomain}`, "piena", "Piena");

describe.skipIf(skipPg)("route.maxQueued with two router instances on ejabberd and one PostgreSQL", () => {
  beforeAll(async () => {
    [ejabberd, database, bot, sim] = await Promise.all([
      startEjabberd({ componentNumber: 2, privilege: false, users: [A, B].map((u) => ({ username: u, password: "pw" })) }),
      createPgTestDatabase(),
      startSampleBot(),
      startGmsSimulator({ clientTimeoutMs: 0 }),
    ]);
    PIENA = `piena@${ejabberd.componentDomain}`;
    const directory = testDirectory(bot.url);
    // A channel whose service takes one waiting user at most.
    directory.items.push({
      address: "piena",
      type: "channel",
      mobileIsPublished: true,
      webIsPublished: true,
      info: { name: "Piena", status: "", imageUrl: "", thumbUrl: "" },
      route: { mode: "bot+operator", bot: { url: bot.url }, genesys: { serviceName: SERVICE }, maxQueued: 1 },
    });
    const config = (instanceId: string) =>
      routerConfig(ejabberd, {
        instanceId,
        xmpp: { standby: false }, // both active: ejabberd takes several connections (docs/ejabberd.md section 5)
        database: { url: database.url, poolMax: 3 },
        genesys: { url: sim.url, pollIntervalMs: 150 },
      });
    // One after the other: the first migrates the database and writes the directory, the second reads it.
    routers.push(await startRouter(config(INSTANCES[0]!), directory));
    routers.push(await startRouter(config(INSTANCES[1]!)));
    await waitUntil(() => routers.every((r) => r.connection.isOnline()), "both routers online");
    const connected = await Promise.all(
      [A, B].map((u) => connectClient({ prosody: ejabberd, username: u, password: "pw", resource: "android-1" })),
    );
    clients = { [A]: connected[0]!, [B]: connected[1]! };
  }, 60_000);

  afterAll(async () => {
    await Promise.all(Object.values(clients).map((c) => c.stop()));
    await Promise.all(routers.map((r) => r.stop()));
    await Promise.all([sim?.stop(), bot?.stop(), ejabberd?.stop()]);
    await database?.drop();
  });

  it("a user served by the other instance gets ROUTER_QUEUE_FULL#0001 and stays with the bot; no second chat is requested", async () => {
    // A, on one instance, asks for an operator and waits in the queue.
    const first = await servedBy(async () => {
      await talk(A, "buongiorno");
      await ask(A);
      await notice(A, "ROUTER_QUEUED#0001");
    });
    const chat = await sim.waitForChat((c) => c.serviceName === SERVICE, 5000);
    expect((await conversationOf(A))!.state).toBe("queued");

    // B reaches the other instance, which never requested a chat: what it holds of the queue itself is nothing.
    const second = await servedBy(() => talk(B, "buongiorno"));
    expect(second, `A and B both on ${INSTANCES[first]}: the test needs two instances`).not.toBe(first);
    expect(await chatRequestsBy(routers[second]!)).toBe(0);
    // There B finds the queue full, and stays with the bot.
    expect(
      await servedBy(async () => {
        await ask(B);
        const full = readX(await notice(B, "ROUTER_QUEUE_FULL#0001"))!;
        expect(full.payload.data).toMatchObject({ callbackOffered: false });
        await talk(B, "ancora io");
      }),
    ).toBe(second);
    expect(await chatRequestsBy(routers[first]!)).toBe(1);
    await Promise.all(routers.map((r) => r.idle()));
    expect(sim.requests.filter((r) => r.op === "request")).toHaveLength(1);
    expect(sim.chats().map((c) => c.chatId)).toEqual([chat.chatId]);
    expect((await conversationOf(B))!.state).toBe("bot");
    expect(await chatRequestsBy(routers[second]!)).toBe(0);

    // The queue empties: the same instance now hands B over (the limit is the shared queue, not B's instance).
    chat.end();
    await notice(A, "GENESYS#0002");
    expect(
      await servedBy(async () => {
        await ask(B);
        await notice(B, "ROUTER_QUEUED#0001");
      }),
    ).toBe(second);
    const next = await sim.waitForChat((c) => c.serviceName === SERVICE && c.chatId !== chat.chatId, 5000);
    expect(next.userData.conversationId).toBe((await conversationOf(B))!.id);
    expect(await chatRequestsBy(routers[second]!)).toBe(1);
    next.end();
    await notice(B, "GENESYS#0002");
  });
});
