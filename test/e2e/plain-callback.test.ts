// Callbacks for plain XMPP clients (protocol.md section 9, docs/protocol.md
// "Callbacks"): @xmpp/client users on a real Prosody sending bodies, the
// sample bot and the GMS simulator's Callback Services API. The queue is full
// (route.maxQueued 0); the notice's text names the callback word; the word,
// or the XEP-0050 "callback" command, books once with the user's number, and
// the user reads the booking; a word with no offer standing is refused.
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import type { DirectoryItem } from "../../src/core/model.js";
import { startGmsSimulator, type GmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { readError } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const NS_COMMANDS = "http://jabber.org/protocol/commands";
const PIA = "393474446666";
const UGO = "393474447777";
let prosody: Prosody;
let bot: SampleBot;
let sim: GmsSimulator;
let router: App;
let pia: TestClient;
let ugo: TestClient;
let RICHIAMI: string;

function channel(address: string): DirectoryItem {
  return {
    address,
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: { name: "Richiami", status: "", imageUrl: "", thumbUrl: "" },
    route: {
      mode: "bot+operator",
      bot: { url: bot.url },
      genesys: { serviceName: `${address}-chat` },
      maxQueued: 0,
      callback: { serviceName: `${address}-cb` },
    },
  };
}

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: PIA, password: "p" },
      { username: UGO, password: "u" },
    ],
  });
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  const directory = testDirectory(bot.url);
  directory.items.push(channel("richiami"));
  RICHIAMI = `richiami@${prosody.componentDomain}`;
  router = await startRouter(routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: 150 } }), directory);
  [pia, ugo] = await Promise.all([
    connectClient({ prosody, username: PIA, password: "p", resource: "gajim" }),
    connectClient({ prosody, username: UGO, password: "u", resource: "conversations" }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([pia?.stop(), ugo?.stop()]);
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

let n = 0;
/** What a stock client sends: a chat message with a body, an id and the user's language. */
function plain(body: string, lang: string, id = `pc${++n}`): Element {
  return xml("message", { to: RICHIAMI, type: "chat", id, "xml:lang": lang }, xml("body", {}, body));
}
const body = (s: Element) => s.getChildText("body") ?? "";
const said =
  (test: (body: string) => boolean) =>
  (s: Element): boolean =>
    s.is("message") && s.attrs.type === "chat" && s.attrs.from === RICHIAMI && s.getChild("body") !== undefined && test(body(s));
const execute = (client: TestClient, node: string) =>
  client.iq(xml("iq", { type: "set", to: RICHIAMI }, xml("command", { xmlns: NS_COMMANDS, node, action: "execute" })));

describe("a plain client at a full queue", () => {
  it("the text names «richiamami»; the word books once with the user's number; the user reads the booking", async () => {
    await pia.send(plain("operatore", "it"));
    const full = await pia.waitFor(
      said((b) => b.includes("coda")),
      10_000,
    );
    expect(body(full)).toMatch(/richiamato\.\nScrivi «richiamami» per essere richiamato appena possibile\.$/);
    expect(full.toString()).not.toContain("ROUTER_QUEUE_FULL");
    expect(sim.chats()).toHaveLength(0);
    expect(sim.callbacks.list("richiami-cb")).toHaveLength(0);

    await pia.send(plain("richiamami", "it"));
    await pia.waitFor(
      said((b) => b.startsWith("La richiamata è prenotata")),
      10_000,
    );
    const booked = sim.callbacks.list("richiami-cb");
    expect(booked).toHaveLength(1);
    // No time asked for: an immediate callback (GMS: QUEUED, not SCHEDULED).
    expect(booked[0]).toMatchObject({ _customer_number: PIA, _callback_state: "QUEUED" });

    // The offer is used up: the word again gets the EiMe refusal as an XMPP error, and books nothing.
    await pia.send(plain("!richiamami", "it", "again-1"));
    const err = await pia.waitFor((s) => s.attrs.type === "error" && s.attrs.id === "again-1", 8000);
    expect(readError(err)).toMatchObject({ condition: "unexpected-request", app: "no-callback-offer" });
    expect(readError(err)!.text).toContain("no callback is on offer");
    await router.idle();
    expect(sim.callbacks.list("richiami-cb")).toHaveLength(1);
    const bot0 = bot.requests.filter((r) => r.message === "richiamami" || r.message === "!richiamami");
    expect(bot0).toHaveLength(0); // a command, never text for the bot
  });

  it("the XEP-0050 'callback' command: listed on the channel, books once, refused with no offer standing", async () => {
    const listed = await ugo.iq(
      xml("iq", { type: "get", to: RICHIAMI }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items", node: NS_COMMANDS })),
    );
    const nodes = listed
      .getChild("query")!
      .getChildren("item")
      .map((i) => i.attrs.node as string);
    expect(nodes).toEqual(["operator", "close", "reset", "vote", "callback"]);

    // No offer yet: completed at once with the refusal as an error note.
    const early = (await execute(ugo, "callback")).getChild("command", NS_COMMANDS)!;
    expect(early.attrs).toMatchObject({ node: "callback", status: "completed" });
    expect(early.getChild("note")!.attrs.type).toBe("error");
    expect(early.getChild("note")!.getText()).toContain("no callback is on offer");

    await ugo.send(plain("operator", "en"));
    const full = await ugo.waitFor(
      said((b) => b.includes("queue")),
      10_000,
    );
    expect(body(full)).toMatch(/\nWrite "callback" to be called back as soon as possible\.$/);

    const done = (await execute(ugo, "callback")).getChild("command", NS_COMMANDS)!;
    expect(done.attrs).toMatchObject({ node: "callback", status: "completed" });
    expect(done.getChild("note")!.attrs.type).toBe("info");
    await ugo.waitFor(
      said((b) => b.startsWith("Your callback is booked")),
      10_000,
    );
    const mine = sim.callbacks.list("richiami-cb").filter((cb) => cb._customer_number === UGO);
    expect(mine).toHaveLength(1);
    const c = await router.store.conversations.findByKey(ugo.bare, "richiami", "Richiami");
    expect(c).toMatchObject({ plain: true, state: "bot", callback: { state: "booked", serviceName: "richiami-cb" } });
  });

  it("a channel with no callback on its route does not list the command, and refuses to run it", async () => {
    const supporto = `supporto@${prosody.componentDomain}`;
    const listed = await ugo.iq(
      xml("iq", { type: "get", to: supporto }, xml("query", { xmlns: "http://jabber.org/protocol/disco#items", node: NS_COMMANDS })),
    );
    expect(
      listed
        .getChild("query")!
        .getChildren("item")
        .map((i) => i.attrs.node as string),
    ).not.toContain("callback");
    const run = xml("iq", { type: "set", to: supporto }, xml("command", { xmlns: NS_COMMANDS, node: "callback", action: "execute" }));
    await expect(ugo.iq(run)).rejects.toMatchObject({ condition: "item-not-found" });
  });
});
