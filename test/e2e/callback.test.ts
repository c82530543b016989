// Callbacks at a full operator queue (backends.md section 2c, issue 17): real
// clients on a real Prosody, the sample bot, and the GMS simulator's Callback
// Services API. The queue is full (route.maxQueued 0), the user is offered a
// callback, accepts it (ROUTER_CALLBACK_REQUEST#0001), GMS books it once with
// the user's number, and the user hears ROUTER_CALLBACK_REGISTERED#0001; a
// refused booking is told; on a "bot" route the bot answers the request.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import type { DirectoryItem } from "../../src/core/model.js";
import { startGmsSimulator, type GmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatNotice, chatText, isError, isNotice, isX, readError, readX, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393474441111";
const BOB = "393474442222";
const CARLA = "393474443333";
let prosody: Prosody;
let bot: SampleBot;
let sim: GmsSimulator;
let router: App;
let alice: TestClient;
let bob: TestClient;
let carla: TestClient;

const data = (extra: Record<string, unknown> = {}) => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false, ...extra });

function channel(address: string, callback: NonNullable<DirectoryItem["route"]>["callback"]): DirectoryItem {
  return {
    address,
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: { name: address, status: "", imageUrl: "", thumbUrl: "" },
    route: { mode: "bot+operator", bot: { url: bot.url }, genesys: { serviceName: `${address}-chat` }, maxQueued: 0, callback },
  };
}

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
      { username: CARLA, password: "c" },
    ],
  });
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  const directory = testDirectory(bot.url);
  directory.items.push(channel("richiami", { serviceName: "richiami-cb" }), channel("richiamibot", "bot"));
  router = await startRouter(routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: 150 } }), directory);
  const connect = (username: string, password: string) => connectClient({ prosody, username, password, resource: "android-1" });
  [alice, bob, carla] = await Promise.all([connect(ALICE, "a"), connect(BOB, "b"), connect(CARLA, "c")]);
}, 90_000);

afterAll(async () => {
  await Promise.all([alice, bob, carla].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

/** Asks for an operator on a full channel; returns the offer's notice. */
async function queueFull(client: TestClient, msisdn: string, address: string, title: string) {
  const to = `${address}@${prosody.componentDomain}`;
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("voglio un operatore", data(), { to, thread }));
  const full = readX(await client.waitFor((s) => isNotice("ROUTER_QUEUE_FULL#0001")(s) && readX(s)!.from === to, 10_000))!;
  return { to, thread, full };
}

describe("a callback booked with the GMS Callback service", () => {
  it("queue full → offer → accepted → booked once with the user's number → ROUTER_CALLBACK_REGISTERED#0001", async () => {
    const { to, thread, full } = await queueFull(alice, ALICE, "richiami", "Richiamo");
    expect(full.payload.data).toMatchObject({ callbackOffered: true });
    expect(full.payload.text).toContain("richiamato");
    expect(sim.chats()).toHaveLength(0); // no chat was requested

    const when = new Date(Date.now() + 2 * 3_600_000);
    when.setUTCSeconds(0, 0);
    await alice.send(chatNotice("ROUTER_CALLBACK_REQUEST#0001", data({ desiredTime: when.toISOString() }), { to, thread, id: "cb-a1" }));
    const registered = readX(await alice.waitFor(isNotice("ROUTER_CALLBACK_REGISTERED#0001"), 10_000))!;
    expect(registered.payload.data).toMatchObject({ at: when.toISOString() });
    expect(registered.payload.text).toContain("prenotata");

    const booked = sim.callbacks.list("richiami-cb");
    expect(booked).toHaveLength(1);
    expect(booked[0]).toMatchObject({ _customer_number: ALICE, _desired_time: when.toISOString(), _callback_state: "SCHEDULED" });
    expect(booked[0]!.data["eime_request_id"]).toMatch(/^eime-/);

    // The offer is used up: a second acceptance is refused and books nothing.
    await alice.send(chatNotice("ROUTER_CALLBACK_REQUEST#0001", data(), { to, thread, id: "cb-a2" }));
    const err = readError(await alice.waitFor(isError("cb-a2"), 5000))!;
    expect(err).toMatchObject({ condition: "unexpected-request", app: "no-callback-offer" });
    await router.idle();
    expect(sim.callbacks.list("richiami-cb")).toHaveLength(1);
    const c = await router.store.conversations.findByKey(`${ALICE}@${prosody.userDomain}`, "richiami", "Richiamo");
    expect(c).toMatchObject({ state: "bot", callback: { state: "booked", serviceName: "richiami-cb" } });
  });

  it("a booking GMS refuses is told as ROUTER_CALLBACK_FAILED#0001, and nothing is booked", async () => {
    const { to, thread, full } = await queueFull(bob, BOB, "richiami", "Rifiuto");
    expect(full.payload.data).toMatchObject({ callbackOffered: true });
    sim.callbacks.inject({ kind: "refuse" });
    const before = sim.callbacks.list().length;
    await bob.send(chatNotice("ROUTER_CALLBACK_REQUEST#0001", data(), { to, thread }));
    const failed = readX(await bob.waitFor(isNotice("ROUTER_CALLBACK_FAILED#0001"), 10_000))!;
    expect(failed.payload.text).toContain("Non è stato possibile");
    expect(sim.callbacks.list()).toHaveLength(before);
  });
});

describe('callback "bot"', () => {
  it("the request goes to the bot as operator_callback and the user sees its answer; GMS books nothing", async () => {
    const { to, thread, full } = await queueFull(carla, CARLA, "richiamibot", "Bot");
    expect(full.payload.data).toMatchObject({ callbackOffered: true });
    const before = sim.callbacks.list().length;
    await carla.send(chatNotice("ROUTER_CALLBACK_REQUEST#0001", data(), { to, thread }));
    const answer = readX(
      await carla.waitFor((s) => isX(undefined, to)(s) && /ti richiamerà/.test(String(readX(s)?.payload.text)), 10_000),
    )!;
    expect(answer.payload.data).toMatchObject({ conversationType: "bot" });
    expect(bot.requests.filter((r) => r.metadata?.event === "operator_callback")).toHaveLength(1);
    expect(sim.callbacks.list()).toHaveLength(before);
  });
});
