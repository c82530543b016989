// protocol.md section 10: a stored file is served at its signed URL to the
// user it names until it expires (real store on PGlite, fastify inject);
// another user's or an altered URL is 403, an expired one 410, a deleted file 404.
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expireAttachments } from "../../../src/attachments/retention.js";
import { checkSignature, signedAttachmentUrl, urlSigningKey } from "../../../src/attachments/signed-url.js";
import { loadConfig } from "../../../src/config/load.js";
import { buildHttp } from "../../../src/http/index.js";
import { createMetrics } from "../../../src/metrics.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const TOKEN = "admin-token-0123456789";
const key = urlSigningKey("c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh4eHg=");
const USER = "393471111111@localhost";
let store: Store;
let http: FastifyInstance;
let conversationId: string;

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  const c = await store.conversations.create({
    userJid: USER,
    msisdn: "393471111111",
    channel: "supporto",
    chatTitle: "Supporto",
    addressing: { kind: "channel" },
    apiVersion: "2",
    lang: "it",
  });
  conversationId = c.id;
  const config = loadConfig({ env: {}, argv: [], overrides: { xmpp: { secret: "s" }, http: { port: 0, adminToken: TOKEN } } });
  http = buildHttp({
    config,
    store: () => store,
    connectionStatus: () => ({ online: true }),
    registry: createMetrics().registry,
    logger: silentLogging().child("http"),
    attachmentUrlKey: key,
  });
});
afterAll(async () => {
  await http.close();
  await store.close();
});

const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]);
const sha = createHash("sha256").update(bytes).digest("hex");
const path = (url: string) => new URL(url).pathname + new URL(url).search;

async function stored(idem: string) {
  return store.attachments.put({
    conversationId,
    origin: "operator",
    idempotencyKey: idem,
    name: "modem è.png",
    mediaType: "image/png",
    content: bytes,
    sha256: sha,
  });
}

describe("stored attachments and their signed URLs", () => {
  it("are stored once per idempotency key, with size and sha256", async () => {
    const a = await stored("gms:chat1:file1");
    const again = await stored("gms:chat1:file1");
    expect(again.id).toBe(a.id);
    expect(a).toMatchObject({ size: bytes.length, sha256: sha, mediaType: "image/png", conversationId });
  });

  it("the user gets the same bytes, as the stored type, not sniffed", async () => {
    const a = await stored("gms:chat1:file1");
    const url = signedAttachmentUrl(key, {
      base: "https://router.example/eime",
      id: a.id,
      user: USER,
      expiresAt: new Date(Date.now() + 60_000),
    });
    expect(url.startsWith(`https://router.example/eime/attachments/${a.id}?`)).toBe(true);
    const res = await http.inject({ method: "GET", url: path(url).replace("/eime", "") });
    expect(res.statusCode).toBe(200);
    expect(createHash("sha256").update(res.rawPayload).digest("hex")).toBe(sha);
    expect(res.headers["content-type"]).toBe("image/png");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["content-disposition"]).toContain("filename*=UTF-8''modem%20%C3%A8.png");
  });

  it("another user's URL, an altered one or none is 403; an expired one 410", async () => {
    const a = await stored("gms:chat1:file1");
    const good = new URL(signedAttachmentUrl(key, { base: "http://x", id: a.id, user: USER, expiresAt: new Date(Date.now() + 60_000) }));
    const other = new URL(good);
    other.searchParams.set("u", "393472222222@localhost");
    expect((await http.inject({ method: "GET", url: path(other.toString()) })).statusCode).toBe(403);
    const later = new URL(good);
    later.searchParams.set("e", String(Number(good.searchParams.get("e")) + 3600));
    expect((await http.inject({ method: "GET", url: path(later.toString()) })).statusCode).toBe(403);
    expect((await http.inject({ method: "GET", url: `/attachments/${a.id}` })).statusCode).toBe(403);
    const foreignKey = signedAttachmentUrl(urlSigningKey(undefined), {
      base: "http://x",
      id: a.id,
      user: USER,
      expiresAt: new Date(Date.now() + 60_000),
    });
    expect((await http.inject({ method: "GET", url: path(foreignKey) })).statusCode).toBe(403);
    const expired = signedAttachmentUrl(key, { base: "http://x", id: a.id, user: USER, expiresAt: new Date(Date.now() - 1000) });
    expect((await http.inject({ method: "GET", url: path(expired) })).statusCode).toBe(410);
    expect(checkSignature(key, { id: a.id, u: USER, e: "x", s: "y" }, new Date())).toBe("forged");
  });

  it("the admin API deletes a conversation's files; their URLs then answer 404; retention deletes old ones", async () => {
    const a = await stored("gms:chat1:file2");
    const url = signedAttachmentUrl(key, { base: "http://x", id: a.id, user: USER, expiresAt: new Date(Date.now() + 60_000) });
    expect(await store.attachments.totalBytes()).toBeGreaterThanOrEqual(bytes.length * 2);
    const del = await http.inject({
      method: "DELETE",
      url: `/admin/conversations/${conversationId}/attachments`,
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ deleted: 2 });
    expect((await http.inject({ method: "GET", url: path(url) })).statusCode).toBe(404);
    await stored("gms:chat1:file3");
    expect(await store.attachments.deleteOlderThan(new Date(Date.now() - 86_400_000))).toBe(0);
    expect(await store.attachments.deleteOlderThan(new Date(Date.now() + 1000))).toBe(1);
    expect(await store.attachments.totalBytes()).toBe(0);
  });

  it("the retention job deletes files older than attachments.retentionDays and reports the bytes left", async () => {
    await stored("gms:chat1:file4");
    const log = silentLogging().child("attachments");
    let bytes = -1;
    const base = { attachments: () => store.attachments, retentionDays: 90, log, onBytes: (b: number) => (bytes = b) };
    expect(await expireAttachments({ ...base, now: () => new Date(Date.now() + 89 * 86_400_000) })).toBe(0);
    expect(bytes).toBe(9);
    expect(await expireAttachments({ ...base, now: () => new Date(Date.now() + 91 * 86_400_000) })).toBe(1);
    expect(bytes).toBe(0);
  });
});
