// GMS as documented (issue 17, backends.md section 2 beyond the table), real
// plain XMPP clients on a real Prosody and the GMS simulator: an agent's
// message in a send's answer reaches the user at once and once, also when a
// poll's answer brings it again; an XEP-0333 displayed marker becomes
// readReceipt with the message's transcript index; a rename of the user
// becomes updateNickname.
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startGmsSimulator, type SimChat } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const NS_MARKERS = "urn:xmpp:chat-markers:0";
const SERVICE = "customer-support";
const USERS = ["393476666661", "393476666662", "393476666663"] as const;

let prosody: Prosody;
let bot: SampleBot;
let sim: Awaited<ReturnType<typeof startGmsSimulator>>;
let clients: TestClient[] = [];
let OPERATORI: string;

beforeAll(async () => {
  prosody = await startProsody({ users: USERS.map((username) => ({ username, password: "p" })) });
  OPERATORI = `operatori@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  clients = await Promise.all(USERS.map((username) => connectClient({ prosody, username, password: "p", resource: "conversations" })));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

/** A router of its own (fresh in-memory database) polling GMS every `pollIntervalMs`. */
function routerPolling(pollIntervalMs: number): { get: () => App } {
  let router: App | undefined;
  beforeAll(async () => {
    router = await startRouter(
      routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs, pushKeepAliveMs: Math.max(pollIntervalMs, 30_000) } }),
      testDirectory(bot.url, { genesysService: SERVICE }),
    );
  });
  afterAll(async () => {
    await router?.stop();
  });
  return { get: () => router! };
}

/** Resolves once `test` holds (checked every 20 ms). */
async function until(test: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let n = 0;
/** What a stock client sends: a chat message with a body and an id. */
const plain = (body: string) => xml("message", { to: OPERATORI, type: "chat", id: `g${++n}`, "xml:lang": "it" }, xml("body", {}, body));
const saidExactly = (text: string) => (s: Element) => s.is("message") && s.attrs.from === OPERATORI && s.getChildText("body") === text;

/** The user writes to the operator-only channel: an episode opens; the simulator's chat for it. */
async function openEpisode(router: App, client: TestClient, first: string): Promise<SimChat> {
  await client.send(plain(first));
  const c = await (async () => {
    for (let i = 0; i < 80; i++) {
      const found = await router.store.conversations.findByKey(client.bare, "operatori", "Operatori");
      if (found?.episode?.chat) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("no Genesys chat for the conversation");
  })();
  return sim.waitForChat((ch) => ch.userData.conversationId === c.id, 8000);
}

describe("an agent's message in a send's answer", () => {
  // Polls a minute apart: within the test, only a send's answer can bring the agent's words.
  const router = routerPolling(60_000);

  it("reaches the user at once and once (GMS Send Message with transcriptPosition)", async () => {
    const client = clients[0]!;
    const greetings = client.collect(saidExactly("Buongiorno, sono Giulia."));
    const chat = await openEpisode(router.get(), client, "ho bisogno di aiuto");
    await sim.waitFor(chat.chatId, (ch) => ch.clientMessages().some((m) => m.text === "ho bisogno di aiuto"), 8000);
    chat.agentJoin("Giulia");
    chat.agentSay("Buongiorno, sono Giulia.");

    await client.send(plain("il modem non va"));
    await greetings.until(1, 5000);
    const send = sim.requests.filter((r) => r.op === "send" && r.chatId === chat.chatId);
    expect(send.map((r) => r.form["transcriptPosition"])).toEqual(["1", expect.stringMatching(/^\d+$/)]);

    // Later sends bring nothing new: still one copy.
    await client.send(plain("grazie"));
    await sim.waitFor(chat.chatId, (ch) => ch.clientMessages().some((m) => m.text === "grazie"), 8000);
    await new Promise((r) => setTimeout(r, 500));
    expect(greetings.items).toHaveLength(1);
    greetings.stop();
  });
});

describe("with polls and sends overlapping", () => {
  const router = routerPolling(150);

  it("a message both a send's answer and a slow poll's bring reaches the user once", async () => {
    const client = clients[1]!;
    const chat = await openEpisode(router.get(), client, "salve");
    chat.agentJoin("Marco");
    await client.waitFor((s) => s.is("message") && (s.getChildText("body") ?? "").startsWith("Marco ha preso in carico"), 8000);

    // The next poll is held 1.5 s (asked before the agent speaks, answered after); meanwhile a send's answer delivers.
    sim.inject({ op: "refresh", chatId: chat.chatId, kind: { delayMs: 1500 } });
    await until(() => sim.pendingInjections().length === 0, 5000);
    const copies = client.collect(saidExactly("Mi dica."));
    chat.agentSay("Mi dica.");
    await client.send(plain("eccomi"));
    await copies.until(1, 1000); // well before the held poll answers: the send's answer brought it
    await new Promise((r) => setTimeout(r, 2000)); // the held poll has answered, and later ones too
    expect(copies.items).toHaveLength(1);
    copies.stop();
  });

  it("asks for displayed markers and tells GMS readReceipt with the marked message's index, forward only", async () => {
    const client = clients[1]!;
    const info = await client.iq(
      xml("iq", { type: "get", to: OPERATORI }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })),
    );
    expect(
      info
        .getChild("query")!
        .getChildren("feature")
        .map((f) => f.attrs.var as string),
    ).toContain(NS_MARKERS);

    const c = (await router.get().store.conversations.findByKey(client.bare, "operatori", "Operatori"))!;
    const chat = sim.chat(sim.chats().find((ch) => ch.userData.conversationId === c.id)!.chatId);
    chat.agentSay("Primo.");
    chat.agentSay("Secondo.");
    const first = await client.waitFor(saidExactly("Primo."), 8000);
    const second = await client.waitFor(saidExactly("Secondo."), 8000);
    expect(second.getChild("markable", NS_MARKERS)).toBeDefined();
    const indexOf = (text: string) => chat.transcript().find((e) => e.type === "Message" && e.text === text)!.index;

    const displayed = (id: string) =>
      xml("message", { to: OPERATORI, type: "chat", id: `d${++n}` }, xml("displayed", { xmlns: NS_MARKERS, id }));
    await client.send(displayed(String(second.attrs.id)));
    await sim.waitFor(chat.chatId, (ch) => ch.readReceipts().length > 0, 8000);
    expect(chat.readReceipts()).toEqual([indexOf("Secondo.")]);

    // An older message's marker, a repeated one and a stranger's id change nothing (XEP-0333: markers only move forward).
    await client.send(displayed(String(first.attrs.id)));
    await client.send(displayed(String(second.attrs.id)));
    await client.send(displayed("not-one-of-ours"));
    chat.agentSay("Terzo.");
    const third = await client.waitFor(saidExactly("Terzo."), 8000);
    await client.send(displayed(String(third.attrs.id)));
    await sim.waitFor(chat.chatId, (ch) => ch.readReceipts().length > 1, 8000);
    expect(chat.readReceipts()).toEqual([indexOf("Secondo."), indexOf("Terzo.")]);
  });

  it("tells GMS updateNickname when the user's name changes during the episode", async () => {
    const client = clients[2]!;
    const msisdn = USERS[2];
    await router.get().store.users.upsertMany([{ msisdn, name: "Mario" }]);
    const chat = await openEpisode(router.get(), client, "buonasera");
    expect(chat.nickname).toBe("Mario");
    await sim.waitFor(chat.chatId, (ch) => ch.clientMessages().length === 1, 8000);

    // The users import (or the admin API) renames the user.
    await router.get().store.users.upsertMany([{ msisdn, name: "Mario Rossi" }]);
    await client.send(plain("sono sempre io"));
    await sim.waitFor(chat.chatId, (ch) => ch.nicknameUpdates().length > 0, 8000);
    await client.send(plain("ancora io"));
    await sim.waitFor(chat.chatId, (ch) => ch.clientMessages().length === 3, 8000);
    expect(chat.nicknameUpdates()).toEqual(["Mario Rossi"]);
    expect(chat.nickname).toBe("Mario Rossi");
  });
});
