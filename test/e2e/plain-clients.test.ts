// Plain XMPP clients (issue 15, protocol.md section 9): real @xmpp/client
// users on a real Prosody sending what Conversations, Dino, Gajim or
// profanity send — a <body>, no x element — to the sample bot and the GMS
// simulator: numbered options by number and by title, quick responses, an
// image as OOB, receipts, the thread echoed, handover and back, close by word
// and by XEP-0050 command, the directory in disco, and bad input answered.
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startGmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { NS_X, readError } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const NS_CHAT_STATES = "http://jabber.org/protocol/chatstates";
const NS_COMMANDS = "http://jabber.org/protocol/commands";
const SERVICE = "customer-support";

let prosody: Prosody;
let bot: SampleBot;
let sim: Awaited<ReturnType<typeof startGmsSimulator>>;
let router: App;
let mario: TestClient; // a user name, not an MSISDN: most XMPP users
let anna: TestClient;
let luca: TestClient;
let D: string;
let SUPPORTO: string;

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: "mario", password: "m" },
      { username: "anna", password: "a" },
      { username: "393475555555", password: "l" },
    ],
  });
  D = prosody.componentDomain;
  SUPPORTO = `supporto@${D}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  router = await startRouter(
    routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: 150, queuedNoticeIntervalMs: 400 } }),
    testDirectory(bot.url, { genesysService: SERVICE }),
  );
  [mario, anna, luca] = await Promise.all([
    connectClient({ prosody, username: "mario", password: "m", resource: "gajim" }),
    connectClient({ prosody, username: "anna", password: "a", resource: "conversations" }),
    connectClient({ prosody, username: "393475555555", password: "l", resource: "dino" }),
  ]);
});

afterAll(async () => {
  await Promise.all([mario?.stop(), anna?.stop(), luca?.stop()]);
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

let n = 0;
/**
 * What a stock client sends: a chat message with a body (and an id, as they
 * all set one). Prosody stamps the stream's xml:lang on each stanza (the
 * test client's stream says "en"), so an Italian user's client says "it".
 */
function plain(to: string, body: string, extra: { thread?: string; receipt?: boolean; lang?: string; id?: string } = {}): Element {
  const attrs: Record<string, string> = { to, type: "chat", id: extra.id ?? `p${++n}` };
  attrs["xml:lang"] = extra.lang ?? "it";
  return xml(
    "message",
    attrs,
    xml("body", {}, body),
    ...(extra.thread ? [xml("thread", {}, extra.thread)] : []),
    ...(extra.receipt ? [xml("request", { xmlns: "urn:xmpp:receipts" })] : []),
    xml("active", { xmlns: NS_CHAT_STATES }),
  );
}

const body = (s: Element) => s.getChildText("body") ?? "";
/** A chat message from `from` whose body passes `test`. */
const said =
  (from: string, test: (body: string) => boolean) =>
  (s: Element): boolean =>
    s.is("message") && s.attrs.type === "chat" && s.attrs.from === from && s.getChild("body") !== undefined && test(body(s));
const startsWith = (from: string, prefix: string) => said(from, (b) => b.startsWith(prefix));

describe("a bot conversation from a plain client", () => {
  it("greets with numbered options and quick responses, no x element; the number and the title select", async () => {
    await mario.send(plain(SUPPORTO, "buongiorno", { thread: "gajim-thread-1" }));
    const greeting = await mario.waitFor(startsWith(SUPPORTO, "Ciao! Sono l'assistente virtuale."), 8000);
    expect(body(greeting)).toBe("Ciao! Sono l'assistente virtuale. Come posso aiutarti?\n1. Offerte\n2. Parla con un operatore");
    expect(greeting.getChild("x", NS_X)).toBeUndefined();
    expect(greeting.getChildText("thread")).toBe("gajim-thread-1");
    expect(greeting.attrs.to).toBe(mario.bare);
    expect(
      greeting.getChildren("response", "urn:xmpp:tmp:quick-response").map((r) => [String(r.attrs.value), String(r.attrs.label)]),
    ).toEqual([
      ["1", "Offerte"],
      ["2", "Parla con un operatore"],
    ]);
    const echo = await mario.waitFor(startsWith(SUPPORTO, "Hai scritto:"), 8000);
    expect(body(echo)).toBe("Hai scritto: buongiorno");

    // "Hai scritto" offers no options: ask for the menu, then pick by number and by title.
    await mario.send(plain(SUPPORTO, "menu", { thread: "gajim-thread-1" }));
    await mario.waitFor(startsWith(SUPPORTO, "Ecco cosa posso fare per te:\n1. Offerte\n2. Parla con un operatore\n3. Immagine"), 8000);
    await mario.send(plain(SUPPORTO, "1", { thread: "gajim-thread-1" }));
    const offers = await mario.waitFor(startsWith(SUPPORTO, "Le offerte di oggi"), 8000);
    expect(body(offers)).toMatch(/\n1\. Offerte\n2\. Parla con un operatore$/);
    await mario.send(plain(SUPPORTO, "offerte", { thread: "gajim-thread-1" }));
    await mario.waitFor(startsWith(SUPPORTO, "Le offerte di oggi"), 8000);
    expect(bot.requests.filter((r) => r.metadata?.event === "button").map((r) => r.message)).toEqual(["/offers", "/offers"]);
  });

  it("sends an image as XEP-0066 out-of-band data with the URL alone as the body", async () => {
    await mario.send(plain(SUPPORTO, "immagine"));
    await mario.waitFor(startsWith(SUPPORTO, "Ecco un'immagine:"), 8000);
    const image = await mario.waitFor((s) => s.is("message") && s.getChild("x", "jabber:x:oob") !== undefined, 8000);
    const url = image.getChild("x", "jabber:x:oob")!.getChildText("url")!;
    // The sample bot's image is on loopback, which a user cannot reach: the router's signed copy (protocol.md section 10).
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/attachments\/[\w-]+\?u=/);
    expect(body(image)).toBe(url);
    expect((await fetch(url)).headers.get("content-type")).toBe("image/png");
  });

  it("answers a receipt request once the message is stored (XEP-0184)", async () => {
    await mario.send(plain(SUPPORTO, "ricevuta?", { receipt: true, id: "rcpt-me" }));
    const receipt = await mario.waitFor((s) => s.is("message") && s.getChild("received", "urn:xmpp:receipts") !== undefined, 8000);
    expect(receipt.getChild("received", "urn:xmpp:receipts")!.attrs.id).toBe("rcpt-me");
    expect(receipt.attrs.from).toBe(SUPPORTO);
  });

  it("speaks the language of xml:lang", async () => {
    await anna.send(plain(`atm_milano@${D}`, "hello", { lang: "en" }));
    await anna.waitFor(startsWith(`atm_milano@${D}`, "Hi! I am the virtual assistant."), 8000);
  });

  it("at a server-address JID with a single channel: that channel, answered from the same JID", async () => {
    await luca.send(plain(`myticket@${D}`, "biglietto"));
    await luca.waitFor(startsWith(`myticket@${D}`, "Hai scritto: biglietto"), 8000);
    const c = await router.store.conversations.findByKey(luca.bare, "atm_milano", "ATM Milano");
    expect(c).toMatchObject({ plain: true, addressing: { kind: "server", serverAddress: "myticket" } });
  });

  it("answers bad input with an error naming the body: empty, and over the length limit", async () => {
    await mario.send(plain(SUPPORTO, "   ", { id: "empty-1" }));
    const empty = await mario.waitFor((s) => s.attrs.type === "error" && s.attrs.id === "empty-1", 8000);
    expect(readError(empty)).toEqual({ condition: "bad-request", app: "invalid-payload", text: "body: the message is empty" });
    await mario.send(plain(SUPPORTO, "x".repeat(4097), { id: "long-1" }));
    const long = await mario.waitFor((s) => s.attrs.type === "error" && s.attrs.id === "long-1", 8000);
    expect(readError(long)).toMatchObject({
      condition: "bad-request",
      app: "payload-too-large",
      text: "body: longer than 4096 characters",
    });
    await mario.send(plain(`nessuno@${D}`, "c'è qualcuno?", { id: "nobody-1" }));
    const nobody = await mario.waitFor((s) => s.attrs.type === "error" && s.attrs.id === "nobody-1", 8000);
    expect(readError(nobody)).toMatchObject({ condition: "item-not-found", text: "to: no channel nessuno" });
  });
});

describe("handover to the simulated agent and back", () => {
  it("option 2 reaches the agent; typing and messages both ways; 'chiudi' closes and the bot is back", async () => {
    await luca.send(plain(SUPPORTO, "salve"));
    await luca.waitFor(startsWith(SUPPORTO, "Hai scritto: salve"), 8000);
    await luca.send(plain(SUPPORTO, "menu"));
    await luca.waitFor(startsWith(SUPPORTO, "Ecco cosa posso fare"), 8000);
    await luca.send(plain(SUPPORTO, "2"));
    await luca.waitFor(startsWith(SUPPORTO, "Ti passo a un operatore"), 8000);
    const queued = await luca.waitFor(
      said(SUPPORTO, (b) => b.includes("coda")),
      8000,
    );
    expect(body(queued)).toMatch(/\nScrivi «chiudi» per chiudere la conversazione con l'operatore\.$/);
    expect(queued.toString()).not.toContain("ROUTER_QUEUED");
    const c = (await router.store.conversations.findByKey(luca.bare, "supporto", "Supporto"))!;
    const chat = await sim.waitForChat((ch) => ch.userData.conversationId === c.id, 8000);

    chat.agentJoin("Giulia");
    await luca.waitFor(startsWith(SUPPORTO, "Giulia ha preso in carico la conversazione."), 8000);
    chat.agentTyping(true);
    const typing = await luca.waitFor((s) => s.is("message") && s.getChild("composing", NS_CHAT_STATES) !== undefined, 8000);
    expect(typing.getChild("body")).toBeUndefined();
    chat.agentSay("Buongiorno, sono Giulia.");
    await luca.waitFor(
      said(SUPPORTO, (b) => b === "Buongiorno, sono Giulia."),
      8000,
    );

    await luca.send(xml("message", { to: SUPPORTO, type: "chat" }, xml("composing", { xmlns: NS_CHAT_STATES })));
    await sim.waitFor(chat.chatId, (ch) => ch.typingFromClient, 8000);
    const botCalls = bot.requests.length;
    await luca.send(plain(SUPPORTO, "il modem non va"));
    await sim.waitFor(chat.chatId, (ch) => ch.clientMessages().some((m) => m.text === "il modem non va"), 8000);
    expect(bot.requests.length).toBe(botCalls);

    await luca.send(plain(SUPPORTO, "chiudi"));
    await luca.waitFor(
      said(SUPPORTO, (b) => b === "Hai chiuso la conversazione con l'operatore."),
      8000,
    );
    await sim.waitFor(chat.chatId, (ch) => ch.ended && ch.endReason === "client-disconnect", 8000);
    const back = await luca.waitFor(startsWith(SUPPORTO, "Bentornato!"), 8000);
    expect(body(back)).toMatch(/\n1\. Offerte\n2\. Parla con un operatore$/);
    expect(
      sim
        .chat(chat.chatId)
        .clientMessages()
        .some((m) => m.text === "chiudi"),
    ).toBe(false);
  });

  it("'!operatore' asks for a human without the bot, and the XEP-0050 'close' command ends it", async () => {
    const before = bot.requests.length;
    await anna.send(plain(SUPPORTO, "!operatore"));
    await anna.waitFor(
      said(SUPPORTO, (b) => b.includes("coda")),
      8000,
    );
    const c = (await router.store.conversations.findByKey(anna.bare, "supporto", "Supporto"))!;
    const chat = await sim.waitForChat((ch) => ch.userData.conversationId === c.id, 8000);
    // The new session's start is the only bot call; the word itself never reached the bot.
    expect(bot.requests.slice(before).map((r) => r.message)).not.toContain("!operatore");
    chat.agentJoin("Marco");
    await anna.waitFor(startsWith(SUPPORTO, "Marco ha preso in carico"), 8000);

    const result = await anna.iq(
      xml("iq", { type: "set", to: SUPPORTO }, xml("command", { xmlns: NS_COMMANDS, node: "close", action: "execute" })),
    );
    const command = result.getChild("command", NS_COMMANDS)!;
    expect(command.attrs).toMatchObject({ node: "close", status: "completed" });
    expect(command.getChild("note")?.attrs.type).toBe("info");
    await anna.waitFor(
      said(SUPPORTO, (b) => b === "Hai chiuso la conversazione con l'operatore."),
      8000,
    );
    await sim.waitFor(chat.chatId, (ch) => ch.ended && ch.endReason === "client-disconnect", 8000);

    // Nothing left to close: the command completes with the refusal as an error note.
    const again = await anna.iq(
      xml("iq", { type: "set", to: SUPPORTO }, xml("command", { xmlns: NS_COMMANDS, node: "close", action: "execute" })),
    );
    const note = again.getChild("command", NS_COMMANDS)!.getChild("note")!;
    expect(note.attrs.type).toBe("error");
    expect(note.getText()).toContain("no operator conversation is open to close");
  });

  it("'ricomincia' starts a fresh bot session", async () => {
    await mario.send(plain(SUPPORTO, "ricomincia"));
    await mario.waitFor(startsWith(SUPPORTO, "Nuova sessione: ciao di nuovo!"), 8000);
    expect(bot.requests.at(-1)?.metadata?.event).toBe("session_reset");
  });
});

describe("what a stock client discovers", () => {
  it("disco#items of the service lists the channels with their names", async () => {
    const items = await mario.iq(xml("iq", { type: "get", to: D }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" })));
    const listed = items
      .getChild("query")!
      .getChildren("item")
      .map((i) => [String(i.attrs.jid), String(i.attrs.name)]);
    expect(listed).toEqual(
      expect.arrayContaining([
        [`atm_milano@${D}`, "ATM Milano"],
        [`supporto@${D}`, "Supporto"],
      ]),
    );
  });

  it("disco#info of a channel: a bot with chat states, receipts and commands; the commands node lists four", async () => {
    const info = await mario.iq(xml("iq", { type: "get", to: SUPPORTO }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })));
    const q = info.getChild("query")!;
    expect(q.getChild("identity")!.attrs).toMatchObject({ category: "client", type: "bot", name: "Supporto" });
    const features = q.getChildren("feature").map((f) => f.attrs.var as string);
    expect(features).toEqual(expect.arrayContaining([NS_CHAT_STATES, "urn:xmpp:receipts", NS_COMMANDS]));
    const commands = await mario.iq(
      xml("iq", { type: "get", to: SUPPORTO }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items", node: NS_COMMANDS })),
    );
    expect(
      commands
        .getChild("query")!
        .getChildren("item")
        .map((i) => i.attrs.node as string),
    ).toEqual(["operator", "close", "reset", "vote"]);
  });

  it("a subscription to a channel is approved and the channel shows online", async () => {
    await mario.send(xml("presence", { to: SUPPORTO, type: "subscribe" }));
    await mario.waitFor((s) => s.is("presence") && s.attrs.from === SUPPORTO && s.attrs.type === undefined, 8000);
  });
});
