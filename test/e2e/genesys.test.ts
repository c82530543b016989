// Human operators in Genesys (issue 6), real clients on a real Prosody, the
// sample bot, and the GMS Chat v2 simulator: handover with the transcript,
// queue notices, agent joined, messages and typing both ways, close by the
// agent and by the user, a second operator request, closed hours, an
// operator-only channel, premium service names, and post-chat voting.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import xml from "@xmpp/xml";
import { DateTime } from "luxon";
import type { App } from "../../src/app.js";
import { msisdnHash } from "../../src/protocol/msisdn.js";
import { keyRingFrom } from "../../src/security/keyring.js";
import { startGmsSimulator, type SimChat } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatNotice, chatText, isError, isNotice, isX, readError, readX, routerThread, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

type Sim = Awaited<ReturnType<typeof startGmsSimulator>>;

const ALICE = "393471111111";
const BOB = "393472222222";
const CARLA = "393473333333";
const SERVICE = "customer-support";
const TOMORROW_IN_ROME = DateTime.now().setZone("Europe/Rome").startOf("day").plus({ days: 1 });
let prosody: Prosody;
let bot: SampleBot;
let sim: Sim;
let router: App;
let alice: TestClient;
let bob: TestClient;
let carla: TestClient;
let SUPPORTO: string;

const data = (extra: Record<string, unknown> = {}) => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false, ...extra });

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
      { username: CARLA, password: "c" },
    ],
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  const directory = testDirectory(bot.url, { genesysService: SERVICE });
  // A channel whose operators work only tomorrow, 09:00–10:00 in Rome (backends.md section 2c).
  directory.items.push({
    address: "serale",
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: { name: "Serale", status: "", imageUrl: "", thumbUrl: "" },
    route: {
      mode: "bot+operator",
      bot: { url: bot.url },
      genesys: { serviceName: SERVICE },
      hours: { tz: "Europe/Rome", week: { [TOMORROW_IN_ROME.toFormat("ccc").toLowerCase()]: ["09:00-10:00"] } },
    },
  });
  // A channel whose service takes one waiting user at most (route.maxQueued, backends.md section 2c).
  directory.items.push({
    address: "piena",
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: { name: "Piena", status: "", imageUrl: "", thumbUrl: "" },
    route: { mode: "bot+operator", bot: { url: bot.url }, genesys: { serviceName: "piena-service" }, maxQueued: 1 },
  });
  router = await startRouter(
    routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: 150, queuedNoticeIntervalMs: 400 } }),
    directory,
  );
  const connect = (username: string, password: string) => connectClient({ prosody, username, password, resource: "android-1" });
  [alice, bob, carla] = await Promise.all([connect(ALICE, "a"), connect(BOB, "b"), connect(CARLA, "c")]);
});

afterAll(async () => {
  await Promise.all([alice, bob, carla].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

async function conversationId(msisdn: string, title: string, channel = "supporto"): Promise<string> {
  const c = await router.store.conversations.findByKey(`${msisdn}@${prosody.userDomain}`, channel, title);
  return c!.id;
}

/** Talks to the bot, asks for an operator, and returns the Genesys chat the router opened. */
async function handover(client: TestClient, msisdn: string, title: string, extra: Record<string, unknown> = {}): Promise<SimChat> {
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("buongiorno", data(extra), { to: SUPPORTO, thread }));
  await client.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: buongiorno");
  await client.send(chatText("voglio un operatore", data(extra), { to: SUPPORTO, thread }));
  const mine = routerThread("supporto", msisdn, title);
  const queued = readX(await client.waitFor((s) => isNotice("ROUTER_QUEUED#0001")(s) && readX(s)!.thread!.startsWith(mine)))!;
  expect(queued.thread).toMatch(/_[0-9a-f-]{36}$/);
  const id = await conversationId(msisdn, title);
  return sim.waitForChat((c) => c.userData.conversationId === id, 5000);
}

describe("bot → operator → bot", () => {
  it("hands over with the transcript, joins, exchanges messages and typing both ways, and the agent closes", async () => {
    const chat = await handover(alice, ALICE, "Assistenza");
    // backends.md section 2: userData with the hashed MSISDN, channel, title, client data and the bot transcript; no raw MSISDN.
    expect(chat.serviceName).toBe(SERVICE);
    expect(chat.userData).toMatchObject({
      channel: "supporto",
      chatTitle: "Assistenza",
      os: "android",
      appVersion: "0.4.65",
      premium: "false",
    });
    // Keyed (HMAC under the router's key), not the enumerable hexsha256 of the protocol.
    expect(chat.userData.msisdnHash).toMatch(/^[0-9a-f]{64}$/);
    expect(chat.userData.msisdnHash).not.toBe(msisdnHash(ALICE));
    expect(chat.userData.msisdnHash).toBe(keyRingFrom(router.config.security.secretKey).backendMsisdnHash(ALICE));
    expect(chat.userData.botTranscript).toContain("user: buongiorno");
    expect(chat.userData.botTranscript).toContain("bot: Hai scritto: buongiorno");
    expect(JSON.stringify(chat.userData)).not.toContain(ALICE);

    // Waiting: the queue position from Genesys, on change.
    const position = readX(
      await alice.waitFor((s) => isNotice("ROUTER_QUEUED#0001")(s) && readX(s)!.payload.data?.position !== undefined, 5000),
    )!;
    expect(position.payload).toMatchObject({
      data: { position: 1, chatTitle: "Assistenza" },
      text: "Sei il numero 1 in coda per un operatore.",
    });

    chat.agentJoin("Giulia");
    const joined = readX(await alice.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001")))!;
    expect(joined.payload).toMatchObject({ data: { nickname: "Giulia" }, text: "Giulia ha preso in carico la conversazione." });
    const uuid = joined.thread!.split("_").at(-1)!;
    expect(readX(await alice.waitFor(isNotice("FOREGROUND_CONVERSATION#0001")))!.thread).toBe(
      routerThread("supporto", ALICE, "Assistenza", uuid),
    );

    // Agent typing and message reach the user in the episode's thread.
    chat.agentTyping(true);
    const composing = await alice.waitFor((s) => s.is("message") && !!s.getChild("composing", "http://jabber.org/protocol/chatstates"));
    expect(composing.getChildText("thread")).toBe(routerThread("supporto", ALICE, "Assistenza", uuid));
    chat.agentSay("Buongiorno, sono Giulia. Come posso aiutarla?");
    const said = readX(await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.data?.conversationType === "operator"))!;
    expect(said).toMatchObject({
      thread: routerThread("supporto", ALICE, "Assistenza", uuid),
      payload: {
        text: "Buongiorno, sono Giulia. Come posso aiutarla?",
        data: { conversationType: "operator", chatTitle: "Assistenza", operator: { nickname: "Giulia" } },
      },
      body: "Buongiorno, sono Giulia. Come posso aiutarla?",
    });

    // The user's typing and messages reach the agent, never the bot; the echoed router thread (with uuid) is accepted.
    const botCalls = bot.requests.length;
    await alice.send(
      xml(
        "message",
        { to: SUPPORTO, type: "chat" },
        xml("thread", {}, said.thread!),
        xml("composing", { xmlns: "http://jabber.org/protocol/chatstates" }),
      ),
    );
    await sim.waitFor(chat.chatId, (c) => c.typingFromClient === true, 5000);
    await alice.send(chatText("Il mio modem non funziona, operatore!", data(), { to: SUPPORTO, thread: said.thread! }));
    await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "Il mio modem non funziona, operatore!"), 5000);
    expect(bot.requests.length).toBe(botCalls);

    // The agent leaves: GENESYS#0002, and the bot takes the conversation back.
    chat.agentLeave();
    const closed = readX(await alice.waitFor(isNotice("GENESYS#0002"), 5000))!;
    expect(closed.thread).toBe(routerThread("supporto", ALICE, "Assistenza", uuid));
    const back = readX(await alice.waitFor((s) => isX()(s) && (readX(s)!.payload.text ?? "").startsWith("Bentornato"), 5000))!;
    expect(back.thread).toBe(routerThread("supporto", ALICE, "Assistenza"));
    await alice.send(chatText("grazie", data(), { to: SUPPORTO, thread: v2Thread(ALICE, "Assistenza") }));
    await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: grazie");
  });

  it("the user closes: Genesys is disconnected, GENESYS#0004, back to the bot", async () => {
    const chat = await handover(bob, BOB, "Chiusura");
    chat.agentJoin("Marco");
    await bob.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"));
    await bob.send(chatNotice("GENESYS_CLOSE_BY_USER#0001", data(), { to: SUPPORTO, thread: v2Thread(BOB, "Chiusura") }));
    expect(readX(await bob.waitFor(isNotice("GENESYS#0004")))!.payload.text).toBe("Hai chiuso la conversazione con l'operatore.");
    await sim.waitFor(chat.chatId, (c) => c.ended && c.endReason === "client-disconnect", 5000);
    await bob.waitFor((s) => isX()(s) && (readX(s)!.payload.text ?? "").startsWith("Bentornato"), 5000);
    const last = bot.requests.at(-1)!;
    expect(last.metadata?.event).toBe("operator_returned");
  });

  it("closing with no operator conversation open is refused", async () => {
    await bob.send(
      chatNotice("GENESYS_CLOSE_BY_USER#0001", data(), { to: SUPPORTO, thread: v2Thread(BOB, "Mai aperta"), id: "close-none" }),
    );
    expect(readError(await bob.waitFor(isError("close-none")))).toMatchObject({
      condition: "unexpected-request",
      app: "no-operator-episode",
    });
  });

  it("a second operator request while one is open answers FOREGROUND_CONVERSATION#0002", async () => {
    const thread = v2Thread(CARLA, "Doppia");
    await bot.setMode({ delayMs: 250 }); // both requests reach the bot before its first answer is handled
    await carla.send(chatText("operatore", data(), { to: SUPPORTO, thread }));
    await carla.send(chatText("operatore, per favore", data(), { to: SUPPORTO, thread }));
    await carla.waitFor(isNotice("ROUTER_QUEUED#0001"), 5000);
    const again = readX(await carla.waitFor(isNotice("FOREGROUND_CONVERSATION#0002"), 5000))!;
    await bot.setMode("normal");
    expect(again.thread).toMatch(/_[0-9a-f-]{36}$/);
    const id = await conversationId(CARLA, "Doppia");
    await router.idle();
    expect(sim.chats().filter((c) => c.userData.conversationId === id)).toHaveLength(1);
    const chat = sim.chats().find((c) => c.userData.conversationId === id)!;
    chat.agentJoin("Sara");
    chat.agentLeave();
    await carla.waitFor(isNotice("GENESYS#0002"), 5000);
  });

  it("v2.1: a message on the chat's own thread while an episode is open gets FOREGROUND_CONVERSATION#0002 with the episode's thread, and reaches the agent", async () => {
    const chat = await handover(carla, CARLA, "Perso");
    const mine = routerThread("supporto", CARLA, "Perso");
    const here = (code: string) => (s: Parameters<ReturnType<typeof isNotice>>[0]) =>
      isNotice(code)(s) && readX(s)!.thread!.startsWith(mine);
    chat.agentJoin("Rita");
    const joined = readX(await carla.waitFor(here("FOREGROUND_CONVERSATION#0001"), 5000))!;
    // A second device (or a reinstall) knows only the client form of the thread.
    await carla.send(chatText("sono sul telefono nuovo", data(), { to: SUPPORTO, thread: v2Thread(CARLA, "Perso") }));
    const fg = readX(await carla.waitFor(here("FOREGROUND_CONVERSATION#0002"), 5000))!;
    expect(fg.thread).toBe(joined.thread);
    expect(fg.payload.data?.["thread"]).toBe(joined.thread);
    await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "sono sul telefono nuovo"), 5000);
    expect(bot.requests.some((r) => r.message === "sono sul telefono nuovo")).toBe(false);

    // After the end, a message on the ended episode's thread goes to the conversation as it is (the bot), with #0001 on its thread.
    chat.agentLeave();
    await carla.waitFor(here("GENESYS#0002"), 5000);
    await carla.send(chatText("ancora lì?", data(), { to: SUPPORTO, thread: joined.thread! }));
    const back = readX(await carla.waitFor(here("FOREGROUND_CONVERSATION#0001"), 5000))!;
    expect(back.thread).toBe(mine);
    await carla.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: ancora lì?", 5000);
  });
});

describe("routing choices", () => {
  it("a bot-only channel has no operator service: ROUTER_CLOSED_HOURS#0001", async () => {
    const webchat = `webchat@${prosody.componentDomain}`;
    await alice.send(chatText("operatore", { ...data(), os: "web" }, { to: webchat, thread: v2Thread(ALICE, "Web") }));
    const notice = readX(await alice.waitFor(isNotice("ROUTER_CLOSED_HOURS#0001"), 5000))!;
    expect(notice).toMatchObject({ from: webchat, payload: { text: "Nessun operatore è disponibile ora." } });
  });

  it("outside the channel's hours: no handover, ROUTER_CLOSED_HOURS#0001 with the next opening, and the bot answers operator_closed", async () => {
    const serale = `serale@${prosody.componentDomain}`;
    const thread = v2Thread(BOB, "Sera");
    const chatsBefore = sim.chats().length;
    await bob.send(chatText("voglio un operatore", data(), { to: serale, thread }));
    const notice = readX(await bob.waitFor((s) => isNotice("ROUTER_CLOSED_HOURS#0001")(s) && readX(s)!.from === serale, 5000))!;
    const opensAt = (notice.payload.data as { opensAt: string }).opensAt;
    expect(opensAt).toMatch(/T09:00:00\+0[12]:00$/);
    expect(DateTime.fromISO(opensAt, { setZone: true }).toISODate()).toBe(TOMORROW_IN_ROME.toISODate());
    expect(notice.payload.text).toContain("Il servizio riapre il");
    // The sample bot answers operator_closed with its menu (chat_interactive).
    await bob.waitFor((s) => /operatori non sono disponibili/.test(String(readX(s)?.payload.text)), 5000);
    expect(bot.requests.some((r) => r.metadata?.event === "operator_closed")).toBe(true);
    expect(sim.chats().length).toBe(chatsBefore);
  });

  it("route.maxQueued: with the queue full a second user gets ROUTER_QUEUE_FULL#0001 and stays with the bot; no chat is requested", async () => {
    const piena = `piena@${prosody.componentDomain}`;
    await alice.send(chatText("voglio un operatore", data(), { to: piena, thread: v2Thread(ALICE, "Piena") }));
    await alice.waitFor((s) => isNotice("ROUTER_QUEUED#0001")(s) && readX(s)!.from === piena, 5000);
    const first = await sim.waitForChat((c) => c.serviceName === "piena-service", 5000);
    await carla.send(chatText("voglio un operatore", data(), { to: piena, thread: v2Thread(CARLA, "Piena") }));
    const full = readX(await carla.waitFor((s) => isNotice("ROUTER_QUEUE_FULL#0001")(s) && readX(s)!.from === piena, 5000))!;
    expect(full.payload.data).toMatchObject({ callbackOffered: false });
    expect(full.payload.text).toContain("coda è piena");
    await router.idle();
    expect(sim.chats().filter((c) => c.serviceName === "piena-service")).toHaveLength(1);
    const c = await router.store.conversations.findByKey(`${CARLA}@${prosody.userDomain}`, "piena", "Piena");
    expect(c!.state).toBe("bot");
    first.end();
    await alice.waitFor((s) => isNotice("GENESYS#0002")(s) && readX(s)!.from === piena, 5000);
  });

  it("an operator-only channel queues the first message and forwards it", async () => {
    const operatori = `operatori@${prosody.componentDomain}`;
    await bob.send(chatText("Serve una persona", data(), { to: operatori, thread: v2Thread(BOB, "Diretto") }));
    await bob.waitFor(isNotice("ROUTER_QUEUED#0001"), 5000);
    const id = await conversationId(BOB, "Diretto", "operatori");
    const chat = await sim.waitForChat((c) => c.userData.conversationId === id, 5000);
    await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "Serve una persona"), 5000);
    chat.end();
    await bob.waitFor(isNotice("GENESYS#0002"), 5000);
  });

  it("a premium user gets the channel's premium service", async () => {
    const chat = await handover(carla, CARLA, "Premium", { premium: true });
    expect(chat.serviceName).toBe(`${SERVICE}-premium`);
    expect(chat.userData.premium).toBe("true");
    chat.end();
    await carla.waitFor(isNotice("GENESYS#0002"), 5000);
  });
});

describe("post-chat voting", () => {
  it("reopens a closed operator conversation for a vote, sends the vote to Genesys, then closes again", async () => {
    const chat = await handover(alice, ALICE, "Voto");
    chat.agentJoin("Giulia");
    await alice.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"));
    chat.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
    const thread = v2Thread(ALICE, "Voto");
    await alice.send(chatNotice("GENESYS_OPEN_FOR_VOTING#0001", data(), { to: SUPPORTO, thread }));
    const open = readX(await alice.waitFor(isNotice("ROUTER_VOTING_OPEN#0001")))!;
    expect(Date.parse(open.payload.data!.until as string)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const botCalls = bot.requests.length;
    await alice.send(chatText("5", data(), { to: SUPPORTO, thread }));
    await alice.waitFor(isNotice("ROUTER_VOTE_RECORDED#0001"));
    await sim.waitFor(chat.chatId, (c) => c.userDataUpdates.some((u) => u.vote === "5"), 5000);
    expect(bot.requests.length).toBe(botCalls); // the vote never reaches the bot
    // Closed again: the next message is for the bot.
    await alice.send(chatText("altro", data(), { to: SUPPORTO, thread }));
    await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: altro");
  });
});
