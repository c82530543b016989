// Files between a user and a GMS operator (issue 16, protocol.md section 10,
// backends.md section 2 file calls) on a real Prosody with the GMS simulator:
// the user's file (served by a loopback file share) reaches the agent byte for
// byte through `…/file`; the agent's file reaches the user as chat_text with
// data.attachment, whose signed URL gives the same bytes to that user only
// (another user's URL: 403, an expired one: 410); a file past Genesys' limits
// is refused as ROUTER_ATTACHMENT_REFUSED#0001 while the text still goes; a
// plain XMPP client does the same with XEP-0066 both ways, its file uploaded
// with XEP-0363 to Prosody's own share (mod_http_file_share).
import { createHash, randomBytes } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { signedAttachmentUrl, urlSigningKey } from "../../src/attachments/signed-url.js";
import { startGmsSimulator, type GmsSimulator, type SimChat } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isNotice, isX, readX, v2Thread } from "./support/eime.js";
import { startFileShare, uploadToShare, type FileShare } from "./support/file-share.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393475555555";
const BOB = "393476666666";
const SERVICE = "files-support";
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const data = (extra: Record<string, unknown> = {}) => ({ apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false, ...extra });

let prosody: Prosody;
let bot: SampleBot;
let sim: GmsSimulator;
let router: App;
let alice: TestClient;
let bob: TestClient;
/** A plain XMPP client (Conversations): XEP-0066 both ways. */
let paolo: TestClient;
let SUPPORTO: string;
/** The file share the user's files come from (what XEP-0363 would have uploaded to). */
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
    fileShare: true,
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  router = await startRouter(
    routerConfig(prosody, {
      genesys: { url: sim.url, pollIntervalMs: 150 },
      attachments: { allowedHosts: [shareHost, prosody.fileShare!.host] },
    }),
    testDirectory(bot.url, { genesysService: SERVICE }),
  );
  const connect = (username: string, password: string) => connectClient({ prosody, username, password, resource: "android-1" });
  [alice, bob] = await Promise.all([connect(ALICE, "a"), connect(BOB, "b")]);
  paolo = await connectClient({ prosody, username: "paolo", password: "p", resource: "conversations" });
}, 60_000);

afterAll(async () => {
  await Promise.all([alice, bob, paolo].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
  await share?.close();
});

/** Bot, then an operator; the agent joins. */
async function withOperator(client: TestClient, msisdn: string, title: string): Promise<{ chat: SimChat; thread: string }> {
  const thread = v2Thread(msisdn, title);
  await client.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
  await client.waitFor(isNotice("ROUTER_QUEUED#0001"), 10_000);
  const c = await router.store.conversations.findByKey(`${msisdn}@${prosody.userDomain}`, "supporto", title);
  const chat = await sim.waitForChat((x) => x.userData.conversationId === c!.id, 10_000);
  chat.agentJoin("Giulia");
  await client.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001"), 10_000);
  return { chat, thread };
}

let n = 0;
/** What Conversations sends: the body, and XEP-0066 oob when it is a file (after its XEP-0363 upload). */
function plain(body: string, oobUrl?: string): Element {
  return xml(
    "message",
    { to: SUPPORTO, type: "chat", id: `p${++n}`, "xml:lang": "it" },
    xml("body", {}, body),
    ...(oobUrl ? [xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, oobUrl))] : []),
  );
}
const fromSupporto = (s: Element) => s.is("message") && s.attrs.from === SUPPORTO && s.getChild("body") !== undefined;

describe("files with a GMS operator", () => {
  it("the user's file reaches the agent byte for byte, with the text", async () => {
    const { chat, thread } = await withOperator(alice, ALICE, "Foto");
    const file = share.put("/share/a1/modem.png", 40_000);
    const attachment = { url: file.url, mediaType: "image/png", name: "modem.png", size: 40_000 };
    await alice.send(chatText("ecco il modem", data({ attachment }), { to: SUPPORTO, thread }));
    const done = await sim.waitFor(chat.chatId, (c) => c.filesFromClient().length === 1 && c.clientMessages().length > 0, 15_000);
    expect(done.clientMessages().map((m) => m.text)).toContain("ecco il modem");
    const received = done.filesFromClient()[0]!;
    expect(received.name).toBe("modem.png");
    expect(received.sha256).toBe(sha(file.content));
    // The job counts the file once GMS has answered the upload, a moment after the simulator stored it.
    await expect
      .poll(() => router.metrics.registry.getSingleMetricAsString("eime_attachments_total"), { timeout: 5_000 })
      .toContain('eime_attachments_total{direction="to_operator",outcome="delivered"} 1');
  }, 60_000);

  it("the agent's file reaches the user at a signed URL; another user's or an expired URL is refused", async () => {
    const { chat } = await withOperator(bob, BOB, "Bolletta");
    const content = randomBytes(25_000);
    chat.agentSendFile({ name: "bolletta.pdf", mediaType: "application/pdf", content });
    const got = readX(await bob.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.data?.attachment !== undefined, 15_000))!;
    const a = got.payload.data!.attachment as { url: string; mediaType: string; name: string; size: number };
    expect(a).toMatchObject({ mediaType: "application/pdf", name: "bolletta.pdf", size: 25_000 });
    expect(got.payload.data).toMatchObject({ conversationType: "operator", operator: { nickname: "Giulia" } });

    const res = await fetch(a.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/pdf");
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(content));

    const url = new URL(a.url);
    const other = new URL(a.url);
    other.searchParams.set("u", `${ALICE}@${prosody.userDomain}`);
    expect((await fetch(other)).status).toBe(403);
    const id = decodeURIComponent(url.pathname.split("/").pop()!);
    const expired = signedAttachmentUrl(urlSigningKey(router.config.security.secretKey), {
      base: url.origin,
      id,
      user: url.searchParams.get("u")!,
      expiresAt: new Date(Date.now() - 60_000),
    });
    expect((await fetch(expired)).status).toBe(410);
    // Stored once, with its conversation, size, type and sha256.
    const stored = await router.store.attachments.get(id);
    expect(stored).toMatchObject({ origin: "operator", mediaType: "application/pdf", size: 25_000, sha256: sha(content) });

    // Metrics: files by direction and outcome, bytes stored.
    const counted = await router.metrics.registry.getSingleMetricAsString("eime_attachments_total");
    expect(counted).toContain('eime_attachments_total{direction="from_operator",outcome="delivered"} 1');
    const bytes = await router.metrics.registry.getSingleMetricAsString("eime_attachments_stored_bytes");
    expect(bytes).toMatch(/eime_attachments_stored_bytes 25000$/m);
  }, 60_000);

  it("a file past Genesys' limits is refused with the reason, and the text still reaches the agent", async () => {
    const { chat, thread } = await withOperator(alice, ALICE, "Grande");
    sim.setFileLimits({ maxFileBytes: 10_000 });
    try {
      const file = share.put("/share/a2/grande.png", 20_000);
      const attachment = { url: file.url, mediaType: "image/png", name: "grande.png", size: 20_000 };
      await alice.send(chatText("foto grande", data({ attachment }), { to: SUPPORTO, thread }));
      const refusal = readX(await alice.waitFor(isNotice("ROUTER_ATTACHMENT_REFUSED#0001"), 15_000))!;
      expect(refusal.payload.data).toMatchObject({ reason: "backend", limit: "size", name: "grande.png" });
      expect(refusal.payload.text).toBe("Il file grande.png non è stato inoltrato: è stato rifiutato dal servizio operatori.");
      const done = await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "foto grande"), 15_000);
      expect(done.filesFromClient()).toHaveLength(0);
    } finally {
      sim.setFileLimits({ maxFileBytes: 2_097_152 });
    }
  }, 60_000);

  it("a plain XMPP client: its file, uploaded with XEP-0363 to Prosody's share, reaches the agent byte for byte; the agent's file comes back as XEP-0066 with the signed URL", async () => {
    await paolo.send(plain("!operatore"));
    await paolo.waitFor((s) => fromSupporto(s) && (s.getChildText("body") ?? "").includes("coda"), 10_000);
    const c = (await router.store.conversations.findByKey(paolo.bare, "supporto", "Supporto"))!;
    const chat = await sim.waitForChat((x) => x.userData.conversationId === c.id, 10_000);
    chat.agentJoin("Giulia");
    await paolo.waitFor((s) => fromSupporto(s) && (s.getChildText("body") ?? "").startsWith("Giulia"), 10_000);

    const photo = randomBytes(12_000);
    const url = await uploadToShare(paolo, prosody.fileShare!.jid, { name: "foto.png", content: photo, type: "image/png" });
    expect(new URL(url).host).toBe(prosody.fileShare!.host);
    await paolo.send(plain(url, url));
    const done = await sim.waitFor(chat.chatId, (x) => x.filesFromClient().length === 1, 15_000);
    expect(done.filesFromClient()[0]).toMatchObject({ name: "foto.png", sha256: sha(photo) });
    expect(done.clientMessages()).toEqual([]); // the URL alone is not text

    const content = randomBytes(8_000);
    chat.agentSendFile({ name: "istruzioni.pdf", mediaType: "application/pdf", content });
    const got = await paolo.waitFor((s) => fromSupporto(s) && s.getChild("x", "jabber:x:oob") !== undefined, 15_000);
    const oob = got.getChild("x", "jabber:x:oob")!;
    expect(oob.getChildText("desc")).toBe("istruzioni.pdf");
    expect(got.getChildText("body")).toBe(oob.getChildText("url"));
    const res = await fetch(oob.getChildText("url")!);
    expect(res.status).toBe(200);
    expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(content));
    expect(new URL(oob.getChildText("url")!).searchParams.get("u")).toBe(paolo.bare);
  }, 60_000);
});
