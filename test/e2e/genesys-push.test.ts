// Genesys push mode (issue 17 item 6, docs/operations.md "Genesys push"): the
// chat asks GMS for custom HTTP pushes with a per-chat token, the GMS
// simulator posts to the router's /genesys/push on each agent event, the
// router wakes the episode's poll at once and otherwise polls only at the
// keep-alive pace. A real Prosody, real clients, the sample bot, the
// simulator's real HTTP pushes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Element } from "@xmpp/xml";
import type { App } from "../../src/app.js";
import { pushDeviceId } from "../../src/adapters/genesys/gms-push.js";
import { keyRingFrom } from "../../src/security/keyring.js";
import { PUSH_DEVICE_ID_KEY, PUSH_DEVICE_TYPE_KEY, startGmsSimulator, type SimChat } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { freePort } from "./harness/free-port.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

type Sim = Awaited<ReturnType<typeof startGmsSimulator>>;

const ALICE = "393471111111";
const BOB = "393472222222";
const SERVICE = "customer-support";
const POLL_MS = 200;
let prosody: Prosody;
let bot: SampleBot;
let sim: Sim;
let alice: TestClient;
let bob: TestClient;
let SUPPORTO: string;

const data = () => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const operatorText = (text: string) => (s: Element) =>
  isX("chat_text")(s) && readX(s)!.payload.text === text && readX(s)!.payload.data?.conversationType === "operator";

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
    ],
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  const connect = (username: string, password: string) => connectClient({ prosody, username, password, resource: "android-1" });
  [alice, bob] = await Promise.all([connect(ALICE, "a"), connect(BOB, "b")]);
});

afterAll(async () => {
  await Promise.all([alice, bob].map((c) => c?.stop()));
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

async function startPushRouter(keepAliveMs: number): Promise<App> {
  const router = await startRouter(
    routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: POLL_MS, push: true, pushKeepAliveMs: keepAliveMs } }),
    testDirectory(bot.url, { genesysService: SERVICE }),
  );
  // GMS' [push] customhttp.url (operations.md "Genesys push").
  sim.setPushUrl(`${router.httpAddress}/genesys/push`);
  return router;
}

/** Talks to the bot, asks for an operator, an agent joins (pushed); returns the chat once its push was answered. */
async function handover(router: App, client: TestClient, msisdn: string, title: string): Promise<SimChat> {
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("buongiorno", data(), { to: SUPPORTO, thread }));
  await client.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: buongiorno");
  await client.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
  await client.waitFor(isNotice("ROUTER_QUEUED#0001"));
  const c = await router.store.conversations.findByKey(`${msisdn}@${prosody.userDomain}`, "supporto", title);
  const chat = await sim.waitForChat((x) => x.userData.conversationId === c!.id, 5000);
  chat.agentJoin("Giulia");
  await client.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001"), 5000);
  await until("the join's push answered", () => sim.pushes.some((p) => p.chatId === chat.chatId && p.status === 200));
  await sleep(300); // the woken refresh ends
  return chat;
}

const refreshes = (chat: SimChat) => sim.requests.filter((r) => r.op === "refresh" && r.chatId === chat.chatId).length;

async function push(router: App, deviceId: string): Promise<number> {
  const res = await fetch(`${router.httpAddress}/genesys/push`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ deviceId, message: "Message" }),
  });
  return res.status;
}

describe("push on, keep-alive far away", () => {
  let router: App;
  let chat: SimChat;
  beforeAll(async () => {
    router = await startPushRouter(60_000);
    chat = await handover(router, alice, ALICE, "Push");
  });
  afterAll(async () => {
    await router?.stop();
  });

  it("asks GMS for custom HTTP pushes with a token of its own, and then polls only when pushed", async () => {
    expect(chat.userData[PUSH_DEVICE_TYPE_KEY]).toBe("customhttp");
    const target = { conversationId: chat.userData.conversationId!, episodeUuid: chat.userData.episodeUuid! };
    expect(chat.userData[PUSH_DEVICE_ID_KEY]).toBe(pushDeviceId(keyRingFrom(router.config.security.secretKey), target));
    // Pushed for: no refresh at the 200 ms poll interval any more.
    const before = refreshes(chat);
    await sleep(1500);
    expect(refreshes(chat)).toBe(before);
  });

  it("an agent's message reaches the user at once (long before the keep-alive) and exactly once", async () => {
    const collected = alice.collect(operatorText("Come posso aiutarla?"));
    const t0 = Date.now();
    chat.agentSay("Come posso aiutarla?");
    await collected.until(1, 3000);
    expect(Date.now() - t0).toBeLessThan(3000);
    // GMS pushes it again, and more pushes come: each only wakes the poll, the message stays delivered once.
    const deviceId = chat.userData[PUSH_DEVICE_ID_KEY]!;
    expect(await push(router, deviceId)).toBe(200);
    expect(await push(router, deviceId)).toBe(200);
    await sleep(800);
    expect(collected.items).toHaveLength(1);
    collected.stop();
  });

  it("a push with a device id the router did not make is refused and wakes nothing", async () => {
    sim.setPushUrl(undefined); // GMS pushes nothing of its own meanwhile
    const target = { conversationId: chat.userData.conversationId!, episodeUuid: chat.userData.episodeUuid! };
    const collected = alice.collect(operatorText("Mi sente?"));
    chat.agentSay("Mi sente?");
    const before = refreshes(chat);
    // Right ids, wrong token; a token of another key; a token of another episode; no device id.
    expect(await push(router, `${target.conversationId}.${target.episodeUuid}.${"A".repeat(43)}`)).toBe(401);
    expect(await push(router, pushDeviceId(keyRingFrom("b".repeat(43) + "="), target))).toBe(401);
    const other = pushDeviceId(keyRingFrom(router.config.security.secretKey), {
      ...target,
      episodeUuid: "00000000-0000-0000-0000-000000000000",
    });
    expect(await push(router, `${target.conversationId}.${target.episodeUuid}.${other.split(".")[2]}`)).toBe(401);
    expect(await push(router, "")).toBe(400);
    await sleep(1500);
    expect(refreshes(chat)).toBe(before);
    expect(collected.items).toHaveLength(0);

    // The chat's own token: the message comes at once.
    expect(await push(router, pushDeviceId(keyRingFrom(router.config.security.secretKey), target))).toBe(200);
    await collected.until(1, 3000);
    collected.stop();

    const metrics = await (await fetch(`${router.httpAddress}/metrics`)).text();
    expect(metrics).toMatch(/^eime_genesys_pushes_total\{outcome="refused"\} 3$/m);
    expect(metrics).toMatch(/^eime_genesys_pushes_total\{outcome="invalid"\} 1$/m);
    expect(metrics).toMatch(/^eime_genesys_pushes_total\{outcome="accepted"\} [1-9]\d*$/m);
  });
});

describe("push endpoint unreachable", () => {
  const KEEP_ALIVE_MS = 2500;
  let router: App;
  beforeAll(async () => {
    router = await startPushRouter(KEEP_ALIVE_MS);
  });
  afterAll(async () => {
    await router?.stop();
  });

  it("nothing is lost: the keep-alive poll delivers the message, once", async () => {
    const chat = await handover(router, bob, BOB, "Senza push");
    // GMS' pushes now fail (nothing listens there) and are not resent.
    sim.setPushUrl(`http://127.0.0.1:${await freePort()}/genesys/push`);
    const collected = bob.collect(operatorText("Ci sei?"));
    const t0 = Date.now();
    chat.agentSay("Ci sei?");
    await until("the failed push", () => sim.pushes.some((p) => p.chatId === chat.chatId && p.error !== undefined));
    await collected.until(1, KEEP_ALIVE_MS + 3000);
    // Not by a round at the 200 ms poll interval: the keep-alive brought it.
    expect(Date.now() - t0).toBeGreaterThan(500);
    await sleep(KEEP_ALIVE_MS);
    expect(collected.items).toHaveLength(1);
    collected.stop();
  });
});
