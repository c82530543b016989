// Receipts for Genesys Cloud agent messages (backends.md 2b): "Delivered when
// the client's XEP-0184 receipt arrives, else when sent", "Failed when
// delivery to the user failed". Real clients on the private Prosody (which
// keeps no offline messages here, so a message to a user who is offline
// bounces), the sample bot, the simulator, a router whose receipt timeout is
// short (genesysCloud.receiptTimeoutMs).
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { cloudSettings, startCloudSimulator } from "./support/genesys-cloud.js";
import type { GenesysCloudSimulator, SimConversation } from "../support/genesys-cloud/simulator.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { cloudDirectory, routerConfig, startRouter } from "./support/router.js";

const NS_RECEIPTS = "urn:xmpp:receipts";
const ALICE = "393475553331";
const BOB = "393475553332";
const CAROL = "393475553333";
const INTEGRATION = "0c3d7a52-5e0e-4a6f-9d1e-000000000184";
const TIMEOUT_MS = 2500;
let prosody: Prosody;
let bot: SampleBot;
let sim: GenesysCloudSimulator;
let router: App;
let alice: TestClient;
let bob: TestClient;
let carol: TestClient;
let SUPPORTO: string;

const data = () => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const idOf = (d: { body: string }) => (JSON.parse(d.body) as { id: string }).id;
const receipt = (id: string) => xml("message", { to: SUPPORTO }, xml("received", { xmlns: NS_RECEIPTS, id }));
const asksReceipt = (s: Element) => s.getChild("request", NS_RECEIPTS) !== undefined;

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
      { username: CAROL, password: "c" },
    ],
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startCloudSimulator();
  router = await startRouter(
    routerConfig(prosody, {
      genesys: { pollIntervalMs: 150 },
      genesysCloud: cloudSettings(sim, { receiptTimeoutMs: TIMEOUT_MS }),
    }),
    cloudDirectory(bot.url, INTEGRATION),
  );
  sim.setWebhook(INTEGRATION, `${router.httpAddress}/genesys-cloud/${INTEGRATION}/webhook`);
  const connect = (username: string, password: string) => connectClient({ prosody, username, password, resource: "phone" });
  [alice, bob, carol] = await Promise.all([connect(ALICE, "a"), connect(BOB, "b"), connect(CAROL, "c")]);
});

afterAll(async () => {
  await Promise.all([alice, bob, carol].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

const isOperatorText = (s: Element) => isX("chat_text")(s) && readX(s)!.payload.data?.conversationType === "operator";

/** An EiMe client's conversation handed over to an agent who has joined. */
async function eimeEpisode(client: TestClient, msisdn: string, title: string): Promise<SimConversation> {
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
  await client.waitFor(isNotice("ROUTER_QUEUED#0001"));
  const c = await router.store.conversations.findByKey(`${msisdn}@${prosody.userDomain}`, "supporto", title);
  const conv = await sim.waitForConversation((x) => x.fromId === c!.id);
  conv.agentJoin("Giulia");
  return conv;
}

describe("receipts of agent messages", () => {
  it("an EiMe client's receipt is Delivered for that message, once; not before it", async () => {
    const conv = await eimeEpisode(alice, ALICE, "Ricevute");
    const said = await conv.agentSay("Buongiorno, sono Giulia.");
    const stanza = await alice.waitFor(isOperatorText);
    expect(asksReceipt(stanza)).toBe(true);
    // Stored for the user and sent is not delivered: nothing yet.
    await sleep(400);
    expect(conv.receipts()).toEqual([]);

    const sent = Date.now();
    await alice.send(receipt(String(stanza.attrs.id)));
    await sim.waitFor(() => conv.receipts(idOf(said)).length > 0);
    expect(Date.now() - sent).toBeLessThan(TIMEOUT_MS / 2);
    expect(conv.receipts()).toEqual([{ id: idOf(said), status: "Delivered" }]);

    // The same receipt again, and the timeout passing, add nothing.
    await alice.send(receipt(String(stanza.attrs.id)));
    await sleep(TIMEOUT_MS + 1000);
    expect(conv.receipts()).toEqual([{ id: idOf(said), status: "Delivered" }]);
  });

  it("a plain client that never acknowledges gets Delivered once the timeout passed; one that does, at once", async () => {
    const plain = (body: string) => xml("message", { to: SUPPORTO, type: "chat", "xml:lang": "it" }, xml("body", {}, body));
    await bob.send(plain("operatore"));
    await bob.waitFor((s) => (s.getChildText("body") ?? "").includes("coda"), 8000);
    const c = await router.store.conversations.findByKey(bob.bare, "supporto", "Supporto");
    const conv = await sim.waitForConversation((x) => x.fromId === c!.id);
    conv.agentJoin("Marco");

    const silent = await conv.agentSay("Eccomi.");
    const first = await bob.waitFor((s) => s.getChildText("body") === "Eccomi.");
    const sentAt = Date.now();
    expect(first.getChild("x", "urn:eime:x:0")).toBeUndefined();
    expect(asksReceipt(first)).toBe(true);
    await sim.waitFor(() => conv.receipts(idOf(silent)).length > 0, TIMEOUT_MS + 3000);
    expect(Date.now() - sentAt).toBeGreaterThan(TIMEOUT_MS - 500);
    await sleep(1000);
    expect(conv.receipts(idOf(silent))).toEqual([{ id: idOf(silent), status: "Delivered" }]);
    // A late receipt for it changes nothing.
    await bob.send(receipt(String(first.attrs.id)));

    const acked = await conv.agentSay("Come posso aiutarla?");
    const second = await bob.waitFor((s) => s.getChildText("body") === "Come posso aiutarla?");
    await bob.send(receipt(String(second.attrs.id)));
    await sim.waitFor(() => conv.receipts(idOf(acked)).length > 0, TIMEOUT_MS / 2);
    await sleep(500);
    expect(conv.receipts()).toEqual([
      { id: idOf(silent), status: "Delivered" },
      { id: idOf(acked), status: "Delivered" },
    ]);
  });

  it("a message the user's server refuses (the user went offline; it keeps nothing) is Failed, never Delivered", async () => {
    const conv = await eimeEpisode(carol, CAROL, "Offline");
    await carol.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"));
    await carol.stop();
    const lost = await conv.agentSay("Mi sente?");
    await sim.waitFor(() => conv.receipts(idOf(lost)).length > 0, TIMEOUT_MS);
    await sleep(TIMEOUT_MS + 1000);
    expect(conv.receipts(idOf(lost))).toEqual([
      {
        id: idOf(lost),
        status: "Failed",
        reasons: [{ code: "GeneralError", message: "the user's server refused the message (service-unavailable)" }],
      },
    ]);
  });
});
