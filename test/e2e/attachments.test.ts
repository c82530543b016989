// Attachments from a plain client on a real Prosody (issue 16, protocol.md
// section 10): an XEP-0066 message reaches the sample bot as
// metadata.attachments; a file from a host not allowed is refused with
// ROUTER_ATTACHMENT_REFUSED#0001 in the body while the text still reaches the bot.
// The file itself goes through Prosody's own XEP-0363 share (mod_http_file_share
// on a loopback port): a real slot request and HTTP PUT, then the message. A
// bot file the user cannot reach arrives at the router's signed URL, stored in a
// directory (attachments.storage "directory").
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, readX, v2Thread } from "./support/eime.js";
import { uploadToShare } from "./support/file-share.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

let prosody: Prosody;
let bot: SampleBot;
let router: App;
let mario: TestClient;
let eime: TestClient;
let SUPPORTO: string;
const EIME_USER = "393471234567";
const filesDir = mkdtempSync(join(tmpdir(), "eime-e2e-files-"));
const SHARE = "upload.files.test";

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: "mario", password: "m" },
      { username: EIME_USER, password: "e" },
    ],
    fileShare: true,
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  // The share's own host:port must be allowed (protocol.md section 10: attachments.allowedHosts).
  const allowedHosts = [SHARE, prosody.fileShare!.host];
  // Files the router stores go to a directory here (conversations.test.ts and plain-clients.test.ts use the database).
  const attachments = { allowedHosts, storage: "directory", directory: filesDir };
  router = await startRouter(routerConfig(prosody, { attachments }), testDirectory(bot.url));
  mario = await connectClient({ prosody, username: "mario", password: "m", resource: "conversations" });
  eime = await connectClient({ prosody, username: EIME_USER, password: "e", resource: "app" });
});

afterAll(async () => {
  await mario?.stop();
  await eime?.stop();
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
  rmSync(filesDir, { recursive: true, force: true });
});

let n = 0;
/** What Conversations sends after an XEP-0363 upload: the URL as the body and as XEP-0066 oob. */
function withFile(body: string, url: string): Element {
  return xml(
    "message",
    { to: SUPPORTO, type: "chat", id: `f${++n}`, "xml:lang": "it" },
    xml("body", {}, body),
    xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, url)),
  );
}

const bodyOf = (s: Element) => s.getChildText("body") ?? "";
const from = (test: (b: string) => boolean) => (s: Element) => s.is("message") && s.attrs.from === SUPPORTO && test(bodyOf(s));

const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAFklEQVR42mP8z8DwnwEIGBkYGBgYAAAkBgMBWYRZ2wAAAABJRU5ErkJggg==",
  "base64",
);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** XEP-0363 through Prosody's own share; the GET URL is the file's. */
const upload = (client: TestClient, name: string, content: Buffer, type: string) =>
  uploadToShare(client, prosody.fileShare!.jid, { name, content, type });

describe("a file uploaded to Prosody's XEP-0363 share", () => {
  it("a plain client's upload and OOB message: the bot sees the share's URL in metadata.attachments", async () => {
    const url = await upload(mario, "modem.png", PNG, "image/png");
    expect(new URL(url).host).toBe(prosody.fileShare!.host);
    await mario.send(withFile(url, url));
    await mario.waitFor(
      from((b) => b.startsWith("Non ho capito")),
      10_000,
    );
    const seen = bot.requests.find((r) => JSON.stringify(r.metadata ?? {}).includes(url));
    expect(seen?.message).toBe("");
    expect((seen?.metadata as Record<string, unknown>)["attachments"]).toEqual([{ url, mediaType: "image/png", name: null, size: null }]);
    // What the bot would fetch is what the user uploaded.
    const got = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(sha256(got)).toBe(sha256(PNG));
  });

  it("an EiMe client's chat_text with data.attachment and no text is accepted and reaches the bot", async () => {
    const url = await upload(eime, "bolletta.pdf", Buffer.from("%PDF-1.4 bolletta"), "application/pdf");
    const data = { apiVersion: "2", os: "android", attachment: { url, mediaType: "application/pdf", name: "bolletta.pdf", size: 17 } };
    await eime.send(chatText("", data, { to: SUPPORTO, thread: v2Thread(EIME_USER), id: "eime-file-1" }));
    const answer = await eime.waitFor((s) => readX(s)?.payload.text?.startsWith("Non ho capito") === true, 10_000);
    expect(answer.attrs.type).not.toBe("error");
    const seen = bot.requests.find((r) => r.metadata?.messageId === "eime-file-1");
    expect(seen?.message).toBe("");
    expect((seen?.metadata as Record<string, unknown>)["attachments"]).toEqual([
      { url, mediaType: "application/pdf", name: "bolletta.pdf", size: 17 },
    ]);
  });
});

describe("a bot's file the user cannot reach", () => {
  it("reaches an EiMe client as chat_text with data.attachment at the router's signed URL, once, with the bot's bytes", async () => {
    await eime.send(chatText("immagine", { apiVersion: "2", os: "android" }, { to: SUPPORTO, thread: v2Thread(EIME_USER), id: "img-1" }));
    const file = await eime.waitFor((s) => readX(s)?.payload.data?.["attachment"] !== undefined, 10_000);
    const x = readX(file)!;
    expect(x.type).toBe("chat_text");
    const attachment = x.payload.data!["attachment"] as { url: string; mediaType: string };
    expect(attachment.mediaType).toBe("image/png");
    expect(attachment.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/attachments\/[\w-]+\?u=393471234567%40/);
    expect(file.getChildText("body")).toBe(attachment.url);
    const [mine, original] = await Promise.all([fetch(attachment.url), fetch(`${bot.baseUrl}/static/sample.png`)]);
    expect(mine.headers.get("content-type")).toBe("image/png");
    expect(sha256(Buffer.from(await mine.arrayBuffer()))).toBe(sha256(Buffer.from(await original.arrayBuffer())));
    // Signed for this user: the same link for another user is refused.
    const other = new URL(attachment.url);
    other.searchParams.set("u", "mario@localhost");
    expect((await fetch(other)).status).toBe(403);
    // Once: one stored row, and no second copy of the message.
    await new Promise((r) => setTimeout(r, 500));
    const again = eime.collect((s) => readX(s)?.payload.data?.["attachment"] !== undefined);
    expect(again.items).toHaveLength(0);
    again.stop();
    const rows = await router.store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM attachments WHERE origin = 'bot'");
    expect(rows.rows[0]!.n).toBe(1);
    // attachments.storage "directory": the bytes are a file there, named by the row's id.
    const id = new URL(attachment.url).pathname.split("/").pop()!;
    expect(readdirSync(filesDir, { recursive: true }).map(String)).toContain(join(id.slice(0, 2), id));
  });
});

describe("attachments from a plain client", () => {
  it("the bot sees the file in metadata.attachments; the URL alone is not text", async () => {
    const url = `https://${SHARE}/share/abc/modem.jpg`;
    await mario.send(withFile(url, url));
    await mario.waitFor(
      from((b) => b.startsWith("Non ho capito")),
      8000,
    ); // the sample bot's answer to no text
    const seen = bot.requests.find((r) => r.metadata?.event === "message" && JSON.stringify(r.metadata).includes("modem.jpg"));
    expect(seen?.message).toBe("");
    expect((seen?.metadata as Record<string, unknown>)["attachments"]).toEqual([{ url, mediaType: "image/jpeg", name: null, size: null }]);
  });

  it("a host not allowed is refused with the reason, and the text still reaches the bot", async () => {
    await mario.send(withFile("guarda https://evil.example/x.png", "https://evil.example/x.png"));
    const refusal = await mario.waitFor(
      from((b) => b.startsWith("Il file")),
      8000,
    );
    expect(bodyOf(refusal)).toBe("Il file x.png non è stato inoltrato: non proviene da un indirizzo ammesso.");
    await mario.waitFor(
      from((b) => b === "Hai scritto: guarda"),
      8000,
    );
    const seen = bot.requests.find((r) => r.message === "guarda");
    expect(seen?.metadata).not.toHaveProperty("attachments");
  });
});
