// The delivery of a bot file the router serves itself (protocol.md section 10,
// src/delivery/handlers/client-stanza.ts) with a real store (PGlite) and a real
// file server: fetched and stored under the id its signed URL names, then the
// stanza sent; run again (a restart) it is neither fetched nor stored twice;
// a file too large, of a type not allowed or behind a redirect to a host not
// allowed is told as ROUTER_ATTACHMENT_REFUSED#0001 and its stanza not sent.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import type { ClientMessage } from "../../../src/core/client-message.js";
import type { Job } from "../../../src/delivery/job.js";
import { clientStanzaHandler } from "../../../src/delivery/handlers/client-stanza.js";
import type { DirectoryCache } from "../../../src/router/directory-cache.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001", "hex");
let server: Server;
let base: string;
let fetches = 0;
let store: Store;
let conversationId: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    fetches++;
    if (req.url === "/a.png") return res.writeHead(200, { "content-type": "image/png" }).end(PNG);
    if (req.url === "/big.png") return res.writeHead(200, { "content-type": "image/png" }).end(Buffer.alloc(4000));
    if (req.url === "/page") return res.writeHead(200, { "content-type": "text/html" }).end("<html></html>");
    if (req.url === "/away") return res.writeHead(302, { location: "http://files.elsewhere.example/a.png" }).end();
    return res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store = await openStore(pgliteConfig(), silentLogging());
  conversationId = (
    await store.conversations.create({
      userJid: "anna@localhost",
      msisdn: null,
      channel: "supporto",
      chatTitle: "Supporto",
      addressing: { kind: "channel" },
      apiVersion: "2",
      lang: "it",
    })
  ).id;
});
afterAll(async () => {
  await store?.close();
  await new Promise<void>((r) => server.close(() => r()));
});

// Loopback is where the bot is: allowed as bot targets are with allowPrivateTargets; not the redirect's host.
const config = loadConfig({
  env: {},
  argv: [],
  overrides: { xmpp: { secret: "s" }, security: { allowPrivateTargets: true }, attachments: { maxBytes: 1000, fetchTimeoutMs: 2000 } },
});
const directory = { get: async () => ({ channels: new Map() }) } as unknown as DirectoryCache;
const sent: Element[] = [];
const told: { message: ClientMessage; key: string }[] = [];
/** The handler as the executor has it: sends into `sent`, tells into `told`. */
const handler = () =>
  clientStanzaHandler({
    send: async (s) => void sent.push(s),
    config,
    store,
    steps: {
      tell: async (_c, message, key) => {
        told.push({ message, key });
        return [];
      },
    },
    directory,
  });

let n = 0;
function job(path: string): Job {
  const id = `f0000000-0000-4000-8000-${String(++n).padStart(12, "0")}`;
  return {
    id: String(n),
    target: "client",
    conversationId,
    payload: {
      type: "send_client",
      kind: "attachment",
      fetch: { id, url: `${base}${path}`, name: null, mediaType: "image/png", origin: "bot", channel: "supporto" },
    },
    idempotencyKey: `bot:job${n}#0`,
    attempts: 1,
    nextAttemptAt: new Date(),
    lastError: null,
    lockedBy: null,
    lockedUntil: null,
    createdAt: new Date(),
    storedStanza: null,
    stanza: xml("message", { to: "anna@localhost", id: `s${n}` }, xml("body", {}, `file ${id}`)),
  };
}

describe("a bot file served by the router, at delivery", () => {
  it("is fetched and stored under its id, then its message is sent; run again, it is not fetched again", async () => {
    const h = handler();
    const j = job("/a.png");
    const fileId = (j.payload.fetch as { id: string }).id;
    expect(await h.run(j)).toEqual({ status: "sent" });
    const row = await store.attachments.get(fileId);
    expect(row).toMatchObject({ conversationId, origin: "bot", mediaType: "image/png", size: PNG.length });
    expect(await store.attachments.content(fileId)).toEqual(PNG);
    const before = fetches;
    expect(await h.run(j)).toEqual({ status: "sent" }); // the same job after a crash
    expect(fetches).toBe(before);
    expect(sent.filter((s) => s.attrs.id === j.stanza!.attrs.id)).toHaveLength(2); // the same stanza id: a redelivery
  });

  it.each([
    ["/big.png", "size"],
    ["/page", "type"],
    ["/away", "host"],
  ])("%s is told as ROUTER_ATTACHMENT_REFUSED#0001 (%s), its message not sent, nothing stored", async (path, reason) => {
    const h = handler();
    const j = job(path);
    const outcome = await h.run(j);
    expect(outcome).toEqual({ status: "done", jobs: [] });
    expect(told.at(-1)).toEqual({
      message: { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason, name: path.slice(1) } },
      key: `${j.idempotencyKey}/refused`,
    });
    expect(sent.some((s) => s.attrs.id === j.stanza!.attrs.id)).toBe(false);
    expect(await store.attachments.get((j.payload.fetch as { id: string }).id)).toBeNull();
  });

  it("a file that cannot be had now (the network) is tried again, and told as reason fetch once dead-lettered", async () => {
    const h = handler();
    const j = { ...job("/a.png") };
    j.payload = { ...j.payload, fetch: { ...(j.payload.fetch as object), url: "http://127.0.0.1:1/unreachable.png" } };
    const outcome = await h.run(j);
    expect(outcome.status).toBe("retry");
    await h.deadLettered!(j, "gave up");
    expect(told.at(-1)?.message).toEqual({
      kind: "notice",
      code: "ROUTER_ATTACHMENT_REFUSED#0001",
      data: { reason: "fetch", name: "unreachable.png" },
    });
  });
});
