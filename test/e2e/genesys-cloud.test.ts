// Genesys Cloud Open Messaging (issue 18, backends.md 2b): real clients on the
// private Prosody, the sample bot, and the Genesys Cloud simulator calling
// the router's webhook with real signatures: handover with the transcript
// in customAttributes, agent joined (first message), agent message and
// typing, the user's message to the agent, a Delivered receipt, a replayed
// or badly signed webhook call, an attachment off the media hosts refused, agent left (from the
// conversation state) and close by the user.
import xml from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { keyRingFrom } from "../../src/security/keyring.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { cloudSettings, startCloudSimulator } from "./support/genesys-cloud.js";
import type { GenesysCloudSimulator, SimConversation } from "../support/genesys-cloud/simulator.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatNotice, chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { cloudDirectory, routerConfig, startRouter } from "./support/router.js";

const ALICE = "393475551111";
const BOB = "393475552222";
const INTEGRATION = "0c3d7a52-5e0e-4a6f-9d1e-000000000018";
let prosody: Prosody;
let bot: SampleBot;
let sim: GenesysCloudSimulator;
let router: App;
let alice: TestClient;
let bob: TestClient;
let SUPPORTO: string;
let webhook: string;

const data = () => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false });

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
    ],
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startCloudSimulator();
  router = await startRouter(
    routerConfig(prosody, {
      genesys: { pollIntervalMs: 150 },
      genesysCloud: cloudSettings(sim),
    }),
    cloudDirectory(bot.url, INTEGRATION),
  );
  webhook = `${router.httpAddress}/genesys-cloud/${INTEGRATION}/webhook`;
  sim.setWebhook(INTEGRATION, webhook);
  const connect = (username: string, password: string) => connectClient({ prosody, username, password, resource: "android-1" });
  [alice, bob] = await Promise.all([connect(ALICE, "a"), connect(BOB, "b")]);
});

afterAll(async () => {
  await Promise.all([alice, bob].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

async function handover(client: TestClient, msisdn: string, title: string): Promise<SimConversation> {
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("buongiorno", data(), { to: SUPPORTO, thread }));
  await client.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: buongiorno");
  await client.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
  await client.waitFor(isNotice("ROUTER_QUEUED#0001"));
  const c = await router.store.conversations.findByKey(`${msisdn}@${prosody.userDomain}`, "supporto", title);
  return sim.waitForConversation((x) => x.fromId === c!.id);
}

const isOperatorText = (s: Parameters<Parameters<TestClient["waitFor"]>[0]>[0]) =>
  isX("chat_text")(s) && readX(s)!.payload.data?.conversationType === "operator";

describe("bot → Genesys Cloud agent → bot", () => {
  it("hands over, the agent joins and writes, typing and messages go both ways, the agent leaves", async () => {
    const conv = await handover(alice, ALICE, "Assistenza");
    // backends.md 2b: from.id is the router's conversation id; the transcript and the keyed hash in customAttributes; no MSISDN, no token.
    expect(conv.customAttributes).toMatchObject({ channel: "supporto", chatTitle: "Assistenza" });
    expect(conv.customAttributes["botTranscript"]).toContain("user: buongiorno");
    expect(conv.customAttributes["msisdnHash"]).toBe(keyRingFrom(router.config.security.secretKey).backendMsisdnHash(ALICE));
    expect(JSON.stringify(sim.inbound)).not.toContain(ALICE);

    conv.agentJoin("Giulia");
    const first = await conv.agentSay("Buongiorno, sono Giulia.");
    expect(first.statuses).toEqual([200]);
    const joined = readX(await alice.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001")))!;
    expect(joined.payload.data).toMatchObject({ nickname: "Giulia" });
    await alice.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"));
    const saidStanza = await alice.waitFor(isOperatorText);
    const said = readX(saidStanza)!;
    expect(said.payload).toMatchObject({ text: "Buongiorno, sono Giulia.", data: { operator: { nickname: "Giulia" } } });
    // The agent's message asks for an XEP-0184 receipt; the client's receipt is Delivered, by the message's webhook id
    // (well within genesysCloud.receiptTimeoutMs, 30 s here: genesys-cloud-receipts.test.ts has the rest).
    expect(saidStanza.getChild("request", "urn:xmpp:receipts")).toBeDefined();
    await alice.send(
      xml("message", { to: SUPPORTO, id: "r-1" }, xml("received", { xmlns: "urn:xmpp:receipts", id: String(saidStanza.attrs.id) })),
    );
    const firstId = (JSON.parse(first.body) as { id: string }).id;
    await sim.waitFor(() => conv.receipts(firstId).find((r) => r.status === "Delivered"));

    // A replayed call (same id and channel.time) is answered and ignored; an unsigned or wrongly signed one is 401.
    expect((await sim.post(webhook, first.body)).statuses).toEqual([200]);
    expect((await sim.post(webhook, first.body, { "x-hub-signature-256": sim.sign(first.body, "not-the-secret") })).statuses).toEqual([
      401,
    ]);
    expect((await sim.post(webhook, first.body, {})).statuses).toEqual([401]);

    // Agent typing, then the user's message reaches the agent (not the bot).
    await conv.agentTyping();
    await alice.waitFor((s) => s.is("message") && !!s.getChild("composing", "http://jabber.org/protocol/chatstates"));
    const botCalls = bot.requests.length;
    // Mid-episode the token expires and Genesys answers one 429: the message still arrives, once.
    const tokens = sim.tokensIssued.length;
    sim.expireTokens();
    sim.force429 = { times: 1, retryAfterSeconds: 1 };
    await alice.send(chatText("Il modem non funziona", data(), { to: SUPPORTO, thread: said.thread! }));
    await sim.waitFor(() => conv.texts().includes("Il modem non funziona"));
    expect(conv.texts().filter((t) => t === "Il modem non funziona")).toHaveLength(1);
    expect(sim.tokensIssued.length).toBeGreaterThan(tokens);
    expect(bot.requests.length).toBe(botCalls);
    await expect(alice.waitFor(isOperatorText, 300)).rejects.toThrow(); // the replay showed nothing

    // An agent's attachment on a host that is not a Genesys media host is not fetched (genesys-cloud-files.test.ts has the rest).
    await conv.agentSay("", {
      content: [
        {
          contentType: "Attachment",
          attachment: { mediaType: "Image", url: "https://files.example/a.png", mime: "image/png", filename: "a.png" },
        },
      ],
    });
    const refused = readX(await alice.waitFor(isNotice("ROUTER_ATTACHMENT_REFUSED#0001")))!;
    expect(refused.payload.data).toMatchObject({ reason: "host", name: "a.png" });

    // The webhook has no "agent left": the router reads it from the conversation state.
    conv.agentLeave();
    await alice.waitFor(isNotice("GENESYS#0002"), 5000);
    await alice.waitFor((s) => isX()(s) && (readX(s)!.payload.text ?? "").startsWith("Bentornato"), 5000);
  });

  it("the user closes: the customer participant is disconnected in Genesys Cloud", async () => {
    const conv = await handover(bob, BOB, "Chiusura");
    conv.agentJoin("Marco");
    await conv.agentSay("Eccomi");
    await bob.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"));
    await bob.send(chatNotice("GENESYS_CLOSE_BY_USER#0001", data(), { to: SUPPORTO, thread: v2Thread(BOB, "Chiusura") }));
    await bob.waitFor(isNotice("GENESYS#0004"));
    await sim.waitFor(() => conv.ended);
  });
});
