// Files between a user and a Genesys Cloud agent (issue 16, protocol.md
// section 10, backends.md 2b `content[].attachment`) on a real Prosody with
// the Genesys Cloud simulator: the user's file (from a loopback file share)
// is stored by the router and reaches Genesys as the inbound message's
// content, at the router's signed URL, which the simulator fetches byte for
// byte; the agent's attachment (served by the simulator) reaches the user at
// the user's signed URL, byte for byte, once however often Genesys retries
// the webhook; one on a host that is not a media host is refused, one whose
// URL no longer answers is told as `fetch`; a plain XMPP client gets
// XEP-0066.
import { createHash, randomBytes } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { cloudSettings, startCloudSimulator } from "./support/genesys-cloud.js";
import type { GenesysCloudSimulator, SimConversation } from "../support/genesys-cloud/simulator.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { startFileShare, type FileShare } from "./support/file-share.js";
import { cloudDirectory, routerConfig, startRouter } from "./support/router.js";

const ALICE = "393475557777";
const BOB = "393475558888";
const INTEGRATION = "0c3d7a52-5e0e-4a6f-9d1e-000000000016";
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const data = (extra: Record<string, unknown> = {}) => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false, ...extra });

let prosody: Prosody;
let bot: SampleBot;
let sim: GenesysCloudSimulator;
let router: App;
let alice: TestClient;
let bob: TestClient;
let paolo: TestClient;
let SUPPORTO: string;
let webhook: string;
let share: FileShare;
let shareHost: string;

beforeAll(async () => {
  share = await startFileShare();
  shareHost = share.host;
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
      { username: "paolo", password: "p" },
    ],
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startCloudSimulator();
  router = await startRouter(
    routerConfig(prosody, {
      genesys: { pollIntervalMs: 150 },
      genesysCloud: cloudSettings(sim, { mediaHosts: [new URL(sim.url).host] }),
      attachments: { allowedHosts: [shareHost] },
    }),
    cloudDirectory(bot.url, INTEGRATION),
  );
  webhook = `${router.httpAddress}/genesys-cloud/${INTEGRATION}/webhook`;
  sim.setWebhook(INTEGRATION, webhook);
  const connect = (username: string, password: string, resource: string) => connectClient({ prosody, username, password, resource });
  [alice, bob, paolo] = await Promise.all([
    connect(ALICE, "a", "android-1"),
    connect(BOB, "b", "android-1"),
    connect("paolo", "p", "conversations"),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([alice, bob, paolo].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
  await share?.close();
});

/** Bot, then the Genesys Cloud agent, who joins and writes first. */
async function withAgent(client: TestClient, msisdn: string, title: string): Promise<{ conv: SimConversation; thread: string }> {
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
  await client.waitFor(isNotice("ROUTER_QUEUED#0001"), 10_000);
  const c = await router.store.conversations.findByKey(`${msisdn}@${prosody.userDomain}`, "supporto", title);
  const conv = await sim.waitForConversation((x) => x.fromId === c!.id, 10_000);
  conv.agentJoin("Giulia");
  await conv.agentSay("Buongiorno, sono Giulia.");
  await client.waitFor(isNotice("FOREGROUND_CONVERSATION#0001"), 10_000);
  return { conv, thread };
}

const withAttachment = (s: Element) => isX("chat_text")(s) && readX(s)!.payload.data?.attachment !== undefined;
const attachmentOf = (s: Element) => readX(s)!.payload.data!.attachment as { url: string; mediaType: string; name: string; size: number };
const fromSupporto = (s: Element) => s.is("message") && s.attrs.from === SUPPORTO && s.getChild("body") !== undefined;

describe("files with a Genesys Cloud agent", () => {
  it("the user's file reaches Genesys as content at the router's signed URL, byte for byte, after the text", async () => {
    const { conv, thread } = await withAgent(alice, ALICE, "Foto");
    const file = share.put("/share/c1/modem.png", 40_000);
    const attachment = { url: file.url, mediaType: "image/png", name: "modem.png", size: 40_000 };
    await alice.send(chatText("ecco il modem", data({ attachment }), { to: SUPPORTO, thread }));

    const got = await sim.waitFor(() => conv.received[0], 15_000);
    expect(got).toMatchObject({ status: 200, mediaType: "Image", mime: "image/png", filename: "modem.png", size: 40_000 });
    expect(got.sha256).toBe(sha(file.content));
    // The router's URL, signed for the integration: never the share's, never the user's JID (it holds the MSISDN).
    const url = new URL(got.url);
    expect(url.origin).toBe(new URL(router.httpAddress!).origin);
    expect(url.pathname).toMatch(/^\/attachments\//);
    expect(url.searchParams.get("u")).toBe(`genesys-cloud:${INTEGRATION}`);
    expect(JSON.stringify(sim.inbound)).not.toContain(ALICE);
    expect(JSON.stringify(sim.inbound)).not.toContain(shareHost);
    // The text first, then the file as a message of its own.
    const texts = conv.messages.map((m) => (typeof m["text"] === "string" ? m["text"] : m["content"] ? "<file>" : ""));
    expect(texts.slice(-2)).toEqual(["ecco il modem", "<file>"]);
    const stored = await router.store.attachments.get(decodeURIComponent(url.pathname.split("/").pop()!));
    expect(stored).toMatchObject({ origin: "user", mediaType: "image/png", size: 40_000, sha256: sha(file.content) });
  }, 60_000);

  it("the agent's attachment reaches the user at the user's signed URL, byte for byte, once though Genesys retries the webhook", async () => {
    const { conv } = await withAgent(bob, BOB, "Bolletta");
    const files = bob.collect(withAttachment);
    const content = randomBytes(25_000);
    const sent = await conv.agentSendFile({ filename: "bolletta.pdf", mime: "application/pdf", content });
    expect(sent.statuses).toEqual([200]);
    const [got] = await files.until(1, 15_000);
    const a = attachmentOf(got!);
    expect(a).toMatchObject({ mediaType: "application/pdf", name: "bolletta.pdf", size: 25_000 });
    expect(readX(got!)!.payload.data).toMatchObject({ conversationType: "operator", operator: { nickname: "Giulia" } });
    const res = await fetch(a.url);
    expect(res.status).toBe(200);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(content));
    expect(new URL(a.url).searchParams.get("u")).toBe(bob.bare);

    // Genesys tries the same message again (its answer was lost): answered, nothing delivered twice.
    expect((await sim.post(webhook, sent.body)).statuses).toEqual([200]);
    await router.idle();
    await new Promise((r) => setTimeout(r, 500));
    expect(files.items).toHaveLength(1);
    const c = await router.store.conversations.findByKey(bob.bare, "supporto", "Bolletta");
    const rows = await router.store.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM attachments WHERE conversation_id = $1 AND origin = 'operator'",
      [c!.id],
    );
    expect(Number(rows.rows[0]!.n)).toBe(1);
    files.stop();
  }, 60_000);

  it("an agent's attachment off the media hosts is refused as host; one whose URL no longer answers, as fetch", async () => {
    const { conv } = await withAgent(alice, ALICE, "Altrove");
    await conv.agentSendFile({
      filename: "altrove.png",
      mime: "image/png",
      content: randomBytes(10),
      url: `http://${shareHost}/share/c1/modem.png`,
    });
    const host = readX(await alice.waitFor(isNotice("ROUTER_ATTACHMENT_REFUSED#0001"), 15_000))!;
    expect(host.payload.data).toMatchObject({ reason: "host", name: "altrove.png" });

    await conv.agentSendFile({ filename: "scaduto.png", mime: "image/png", content: randomBytes(10), gone: true });
    const gone = readX(await alice.waitFor(isNotice("ROUTER_ATTACHMENT_REFUSED#0001"), 15_000))!;
    expect(gone.payload.data).toMatchObject({ reason: "fetch", name: "scaduto.png" });
  }, 60_000);

  it("a plain XMPP client: its XEP-0066 file reaches Genesys; the agent's comes back as XEP-0066 at its signed URL", async () => {
    await paolo.send(xml("message", { to: SUPPORTO, type: "chat", id: "p1", "xml:lang": "it" }, xml("body", {}, "!operatore")));
    await paolo.waitFor((s) => fromSupporto(s) && (s.getChildText("body") ?? "").includes("coda"), 10_000);
    const c = (await router.store.conversations.findByKey(paolo.bare, "supporto", "Supporto"))!;
    const conv = await sim.waitForConversation((x) => x.fromId === c.id, 10_000);
    conv.agentJoin("Giulia");
    await conv.agentSay("Eccomi");
    await paolo.waitFor((s) => fromSupporto(s) && s.getChildText("body") === "Eccomi", 10_000);

    const file = share.put("/share/p1/foto.png", 12_000);
    const oobOut = xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, file.url));
    await paolo.send(xml("message", { to: SUPPORTO, type: "chat", id: "p2", "xml:lang": "it" }, xml("body", {}, file.url), oobOut));
    const got = await sim.waitFor(() => conv.received[0], 15_000);
    expect(got).toMatchObject({ status: 200, filename: "foto.png", sha256: sha(file.content) });

    const content = randomBytes(8_000);
    await conv.agentSendFile({ filename: "istruzioni.pdf", mime: "application/pdf", content });
    const back = await paolo.waitFor((s) => fromSupporto(s) && s.getChild("x", "jabber:x:oob") !== undefined, 15_000);
    const oob = back.getChild("x", "jabber:x:oob")!;
    expect(oob.getChildText("desc")).toBe("istruzioni.pdf");
    expect(back.getChildText("body")).toBe(oob.getChildText("url"));
    const res = await fetch(oob.getChildText("url")!);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(content));
    expect(new URL(oob.getChildText("url")!).searchParams.get("u")).toBe(paolo.bare);
  }, 60_000);
});
