// Conversations with a virtual-agent bot (issue 5), real clients on a real
// Prosody, the sample bot over HTTP: the three apiVersions and their thread
// forms, multi-chat, duplicates, identity and token checks, rich replies,
// and a bot that is down and comes back.
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { issueHmacToken } from "../../src/adapters/token/verifiers.js";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isError, isNotice, isX, readError, readX, routerThread, v2Thread, type XRead } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const BOB = "393472222222";
const SECRET = "token-secret";
let prosody: Prosody;
let bot: SampleBot;
let router: App;
let alice: TestClient;
let bob: TestClient;
let D: string;
let SUPPORTO: string;

const token = (msisdn: string) => issueHmacToken(SECRET, msisdn, new Date(Date.now() + 3_600_000));
const data = (msisdn: string, apiVersion: number | undefined, extra: Record<string, unknown> = {}) => ({
  ...(apiVersion === undefined ? {} : { apiVersion }),
  os: "android",
  appVersion: "0.4.65",
  premium: false,
  token: token(msisdn),
  ...extra,
});

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
    ],
  });
  D = prosody.componentDomain;
  SUPPORTO = `supporto@${D}`;
  bot = await startSampleBot();
  router = await startRouter(routerConfig(prosody, { tokens: { verifier: `hmac:${SECRET}` } }), testDirectory(bot.url));
  [alice, bob] = await Promise.all([
    connectClient({ prosody, username: ALICE, password: "a", resource: "android-1" }),
    connectClient({ prosody, username: BOB, password: "b", resource: "android-2" }),
  ]);
});

afterAll(async () => {
  await Promise.all([alice?.stop(), bob?.stop()]);
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
});

beforeEach(async () => {
  await bot.setMode("normal");
});

/** The next `n` x messages from `from`, read. */
async function replies(client: TestClient, n: number, from = SUPPORTO, timeoutMs = 5000): Promise<XRead[]> {
  const got: XRead[] = [];
  for (let i = 0; i < n; i++) got.push(readX(await client.waitFor(isX(undefined, from), timeoutMs))!);
  return got;
}

const botRequestsFor = (messageId: string) => bot.requests.filter((r) => r.metadata?.messageId === messageId);

describe("apiVersion 1 (plain MSISDN thread)", () => {
  it("greets, echoes, and answers in the same MSISDN thread without chatTitle", async () => {
    await alice.send(chatText("buongiorno", data(ALICE, 1), { to: SUPPORTO, thread: ALICE, id: "v1-a" }));
    const [greeting, echo] = await replies(alice, 2);
    expect(greeting).toMatchObject({ type: "chat_interactive", thread: ALICE });
    expect(echo).toMatchObject({
      type: "chat_text",
      thread: ALICE,
      payload: { text: "Hai scritto: buongiorno", data: { conversationType: "bot" } },
      body: "Hai scritto: buongiorno",
    });
    expect(echo!.payload.data).not.toHaveProperty("chatTitle");
    expect(botRequestsFor("v1-a")[0]).toMatchObject({
      message: "buongiorno",
      metadata: { event: "message", apiVersion: "1", channel: "supporto", chatTitle: "Supporto" },
    });
    expect(JSON.stringify(bot.requests)).not.toContain(token(ALICE).split(".")[1]); // the token never reaches the bot
  });

  it("a v1 thread with another user's MSISDN is not-authorized and never reaches the bot", async () => {
    await alice.send(chatText("sono Bob", data(ALICE, 1), { to: SUPPORTO, thread: BOB, id: "v1-spoof" }));
    const err = await alice.waitFor(isError("v1-spoof"));
    expect(readError(err)).toMatchObject({ condition: "not-authorized", app: "identity-mismatch" });
    expect(readError(err)!.text).toMatch(/^thread:/);
    await router.idle();
    expect(botRequestsFor("v1-spoof")).toEqual([]);
  });
});

describe("apiVersion 2 (hashed MSISDN and chat title)", () => {
  it("answers in the router thread routeKey:hash|$|title, without chatTitle in data", async () => {
    await alice.send(chatText("info", data(ALICE, 2), { to: SUPPORTO, thread: v2Thread(ALICE, "Fatture"), id: "v2-a" }));
    const [greeting, echo] = await replies(alice, 2);
    const thread = routerThread("supporto", ALICE, "Fatture");
    expect(thread).toMatch(/^b4730763cab6a06462c9f4563c7717f32c61c8a792e710fe7c8da3f7df54be49:/); // sha256("supporto")
    expect(greeting!.thread).toBe(thread);
    expect(echo).toMatchObject({ type: "chat_text", thread, payload: { text: "Hai scritto: info", data: { conversationType: "bot" } } });
    expect(echo!.payload.data).not.toHaveProperty("chatTitle");
    expect(botRequestsFor("v2-a")[0]!.metadata).toMatchObject({ chatTitle: "Fatture", apiVersion: "2" });
  });

  it("without a title the channel's name is the title", async () => {
    await bob.send(chatText("senza titolo", data(BOB, 2), { to: SUPPORTO, thread: v2Thread(BOB), id: "v2-notitle" }));
    const [greeting] = await replies(bob, 2);
    expect(greeting!.thread).toBe(routerThread("supporto", BOB, "Supporto"));
  });

  it("a v2 thread with another user's hash is not-authorized and never reaches the bot", async () => {
    await alice.send(chatText("leggo Bob", data(ALICE, 2), { to: SUPPORTO, thread: v2Thread(BOB, "Supporto"), id: "v2-spoof" }));
    expect(readError(await alice.waitFor(isError("v2-spoof")))).toMatchObject({ condition: "not-authorized", app: "identity-mismatch" });
    await router.idle();
    expect(botRequestsFor("v2-spoof")).toEqual([]);
  });
});

describe("apiVersion 2.1", () => {
  it("carries data.chatTitle and accepts its own router thread echoed back", async () => {
    await alice.send(chatText("prima", data(ALICE, 2.1), { to: SUPPORTO, thread: v2Thread(ALICE, "Ordini"), id: "v21-a" }));
    const [, echo] = await replies(alice, 2);
    expect(echo).toMatchObject({
      thread: routerThread("supporto", ALICE, "Ordini"),
      payload: { data: { conversationType: "bot", chatTitle: "Ordini" } },
    });
    await alice.send(chatText("seconda", data(ALICE, 2.1), { to: SUPPORTO, thread: echo!.thread!, id: "v21-b" }));
    const [second] = await replies(alice, 1);
    expect(second).toMatchObject({ payload: { text: "Hai scritto: seconda", data: { chatTitle: "Ordini" } } });
    // The same conversation: the bot saw one session (no second greeting) and one conversation id.
    const [a, b] = [botRequestsFor("v21-a")[0]!, botRequestsFor("v21-b")[0]!];
    expect(b.metadata!.conversationId).toBe(a.metadata!.conversationId);
    expect(b.sender).toBe(a.sender);
  });

  it("multi-chat: two titles on one channel are two conversations", async () => {
    await bob.send(chatText("casa", data(BOB, 2.1), { to: SUPPORTO, thread: v2Thread(BOB, "Casa"), id: "mc-casa" }));
    await bob.send(chatText("ufficio", data(BOB, 2.1), { to: SUPPORTO, thread: v2Thread(BOB, "Ufficio"), id: "mc-ufficio" }));
    const got = await replies(bob, 4);
    const byTitle = (t: string) => got.filter((r) => r.payload.data?.chatTitle === t);
    expect(byTitle("Casa").map((r) => r.thread)).toEqual([routerThread("supporto", BOB, "Casa"), routerThread("supporto", BOB, "Casa")]);
    expect(byTitle("Ufficio").map((r) => r.payload.text)).toContain("Hai scritto: ufficio");
    const [casa, ufficio] = [botRequestsFor("mc-casa")[0]!, botRequestsFor("mc-ufficio")[0]!];
    expect(casa.metadata!.conversationId).not.toBe(ufficio.metadata!.conversationId);
  });
});

describe("duplicates and checks", () => {
  it("a stanza sent twice reaches the bot once; both get a receipt", async () => {
    const stanza = () =>
      chatText("una volta", data(ALICE, 2), {
        to: SUPPORTO,
        thread: v2Thread(ALICE, "Dup"),
        id: "dup-1",
        originId: "origin-dup-1",
        receipt: true,
      });
    await alice.send(stanza());
    await alice.send(stanza());
    const receipts = alice.collect((s) => s.getChild("received", "urn:xmpp:receipts")?.attrs.id === "dup-1");
    await receipts.until(2);
    // Two answers (greeting and echo). A repeat that came after them gets them again, with the same ids, in
    // any interleaving: so the answers are told apart by id, and every stanza of them is consumed here.
    const answers = alice.collect(isX(undefined, SUPPORTO));
    const distinctIds = () => new Set(answers.items.map((a) => a.attrs.id as string));
    for (const t0 = Date.now(); distinctIds().size < 2; await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() - t0 > 5000) throw new Error(`got ${distinctIds().size} of 2 answers`);
    }
    await router.idle();
    await new Promise((r) => setTimeout(r, 300));
    expect(distinctIds().size).toBe(2);
    answers.stop();
    expect(botRequestsFor("origin-dup-1")).toHaveLength(1);
    const { rows } = await router.store.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages WHERE dedupe_key = 'origin-dup-1'",
    );
    expect(rows[0]!.n).toBe(1);
    receipts.stop();
  });

  it("a message sent again after its answers went out gets the receipt and the same answers again (same ids); the bot is not called again", async () => {
    const stanza = () =>
      chatText("di nuovo", data(ALICE, 2), {
        to: SUPPORTO,
        thread: v2Thread(ALICE, "Again"),
        id: "again-1",
        originId: "origin-again-1",
        receipt: true,
      });
    await alice.send(stanza());
    await alice.waitFor((s) => s.getChild("received", "urn:xmpp:receipts")?.attrs.id === "again-1");
    const first = [await alice.waitFor(isX(undefined, SUPPORTO)), await alice.waitFor(isX(undefined, SUPPORTO))];
    await router.idle();
    // As a careful client does when it cannot tell whether its message got through (say, after its own reconnect).
    await alice.send(stanza());
    await alice.waitFor((s) => s.getChild("received", "urn:xmpp:receipts")?.attrs.id === "again-1");
    const again = [await alice.waitFor(isX(undefined, SUPPORTO)), await alice.waitFor(isX(undefined, SUPPORTO))];
    expect(again.map((s) => s.attrs.id as string)).toEqual(first.map((s) => s.attrs.id as string));
    expect(again.map((s) => readX(s)!.payload.text)).toEqual([
      "Ciao! Sono l'assistente virtuale. Come posso aiutarti?\n1. Offerte\n2. Parla con un operatore",
      "Hai scritto: di nuovo",
    ]);
    await router.idle();
    expect(botRequestsFor("origin-again-1")).toHaveLength(1);
  });

  it("a bad token is refused with not-authorized; no token too", async () => {
    await alice.send(chatText("x", { ...data(ALICE, 2), token: token(BOB) }, { to: SUPPORTO, thread: v2Thread(ALICE), id: "tok-bad" }));
    const err = readError(await alice.waitFor(isError("tok-bad")));
    expect(err).toMatchObject({ condition: "not-authorized", app: "invalid-token" });
    expect(err!.text).toMatch(/^payload\.data\.token:/);
    const { token: _t, ...noToken } = data(ALICE, 2);
    await alice.send(chatText("x", noToken, { to: SUPPORTO, thread: v2Thread(ALICE), id: "tok-none" }));
    expect(readError(await alice.waitFor(isError("tok-none")))).toMatchObject({ app: "invalid-token" });
    expect(botRequestsFor("tok-bad")).toEqual([]);
  });
});

describe("rich replies", () => {
  it("without useChatDynamic: chat_interactive with numbered options; a reply of the number sends the button's payload", async () => {
    const thread = v2Thread(BOB, "Menu");
    await bob.send(chatText("menu", data(BOB, 2.1), { to: SUPPORTO, thread, id: "menu-1" }));
    const [, menu] = await replies(bob, 2);
    expect(menu!.type).toBe("chat_interactive");
    expect(menu!.payload.text).toBe("Ecco cosa posso fare per te:\n1. Offerte\n2. Parla con un operatore\n3. Immagine");
    expect(menu!.body).toBe(menu!.payload.text);
    await bob.send(chatText("1", data(BOB, 2.1), { to: SUPPORTO, thread, id: "menu-2" }));
    const [offers] = await replies(bob, 1);
    expect(offers!.payload.text).toMatch(/^Le offerte di oggi/);
    expect(botRequestsFor("menu-2")[0]).toMatchObject({ message: "/offers", metadata: { event: "button" } });
  });

  it("with useChatDynamic: chat_dynamic with buttons and images, body as fallback", async () => {
    const thread = v2Thread(ALICE, "Rich");
    await alice.send(chatText("immagine", data(ALICE, 2.1, { useChatDynamic: true }), { to: SUPPORTO, thread, id: "rich-1" }));
    const [greeting, text, image] = await replies(alice, 3);
    expect(greeting).toMatchObject({
      type: "chat_dynamic",
      payload: {
        data: {
          conversationType: "bot",
          chatTitle: "Rich",
          buttons: [
            { title: "Offerte", payload: "/offers" },
            { title: "Parla con un operatore", payload: "/operator" },
          ],
        },
      },
    });
    expect(text).toMatchObject({ type: "chat_text", payload: { text: "Ecco un'immagine:" } });
    // The bot's image is at a loopback address the user cannot reach: the router's copy, at its signed URL (protocol.md section 10).
    expect(image).toMatchObject({ type: "chat_dynamic", payload: { text: "" } });
    const url = (image!.payload.data as { image: string }).image;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/attachments\/[\w-]+\?u=/);
    expect(image!.body).toBe(`\n${url}`);
    const [mine, original] = await Promise.all([fetch(url), fetch(`${bot.baseUrl}/static/sample.png`)]);
    expect(Buffer.from(await mine.arrayBuffer())).toEqual(Buffer.from(await original.arrayBuffer()));
  });

  it("resetSession starts a new bot session (the bot sees session_reset and a new sender)", async () => {
    const thread = v2Thread(ALICE, "Reset");
    await alice.send(chatText("uno", data(ALICE, 2.1), { to: SUPPORTO, thread, id: "reset-1" }));
    await replies(alice, 2);
    await alice.send(chatText("da capo", data(ALICE, 2.1, { resetSession: true }), { to: SUPPORTO, thread, id: "reset-2" }));
    const [fresh] = await replies(alice, 1);
    expect(fresh!.payload.text).toMatch(/^Nuova sessione/);
    const [before, after] = [botRequestsFor("reset-1")[0]!, botRequestsFor("reset-2")[0]!];
    expect(after.metadata!.event).toBe("session_reset");
    expect(after.sender).not.toBe(before.sender);
    expect(after.metadata!.conversationId).toBe(before.metadata!.conversationId);
  });
});

describe("the generic directory form (server address)", () => {
  it("a message to the server-address JID with the channel address as thread gets replies with the same thread", async () => {
    await alice.send(chatText("biglietto", data(ALICE, 2), { to: `myticket@${D}`, thread: "atm_milano", id: "srv-1" }));
    const [greeting, echo] = await replies(alice, 2, `myticket@${D}`);
    expect(greeting!.thread).toBe("atm_milano");
    expect(echo).toMatchObject({ from: `myticket@${D}`, thread: "atm_milano", payload: { text: "Hai scritto: biglietto" } });
    expect(botRequestsFor("srv-1")[0]!.metadata).toMatchObject({ channel: "atm_milano", chatTitle: "ATM Milano" });
  });

  it("a thread that is not one of the server address's channels is item-not-found", async () => {
    await alice.send(chatText("x", data(ALICE, 2), { to: `myticket@${D}`, thread: "supporto", id: "srv-bad" }));
    expect(readError(await alice.waitFor(isError("srv-bad")))).toMatchObject({ condition: "item-not-found", app: "no-channel-found" });
  });
});

describe("a bot that is down", () => {
  it("the user is told once, the message is kept, and delivered once the bot is back", async () => {
    await bot.setMode("down");
    const thread = v2Thread(BOB, "Down");
    await bob.send(chatText("ci sei?", data(BOB, 2), { to: SUPPORTO, thread, id: "down-1" }));
    const notice = readX(await bob.waitFor(isNotice("ROUTER_BOT_UNAVAILABLE#0001"), 8000));
    expect(notice).toMatchObject({
      thread: routerThread("supporto", BOB, "Down"),
      payload: { text: expect.stringMatching(/conservato/) as unknown },
    });
    await bob.send(chatText("e adesso?", data(BOB, 2), { to: SUPPORTO, thread, id: "down-2" }));
    await new Promise((r) => setTimeout(r, 600));
    await bot.setMode("normal");
    const got: Element[] = [];
    for (let i = 0; i < 3; i++) got.push(await bob.waitFor(isX(undefined, SUPPORTO), 10_000));
    // In order: the greeting of the new session, the first message, then the second; each once.
    expect(got.map((s) => readX(s)!.payload.text)).toEqual([
      "Ciao! Sono l'assistente virtuale. Come posso aiutarti?\n1. Offerte\n2. Parla con un operatore",
      "Hai scritto: ci sei?",
      "Hai scritto: e adesso?",
    ]);
    await router.idle();
    expect(bot.handled).toBeGreaterThanOrEqual(3);
    expect(new Set(bot.requests.filter((r) => r.metadata?.messageId === "down-1").map((r) => r.message))).toEqual(new Set(["ci sei?"]));
    expect(bob.collect(isNotice("ROUTER_BOT_UNAVAILABLE#0001")).items).toHaveLength(0); // told once
  });
});
