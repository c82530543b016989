// The HTTP side with fastify's inject against a real store (PGlite in
// memory): auth, field errors, the directory round trip, channels, users,
// conversations without text or secrets, health, status and metrics.
import { Writable } from "node:stream";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import type { Config } from "../../../src/config/schema.js";
import type { DirectoryTree, OperatorEpisode } from "../../../src/core/model.js";
import { buildHttp, type HttpDeps } from "../../../src/http/index.js";
import { createLogging } from "../../../src/log.js";
import { keyRingFrom } from "../../../src/security/keyring.js";
import { createMetrics, type Metrics } from "../../../src/metrics.js";
import { openStore, type Store } from "../../../src/store/index.js";
import type { ConnectionStatus } from "../../../src/xmpp/connection.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const TOKEN = "admin-token-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const MSISDN = "393471111111";
const SECURE_KEY = "gms-secure-key-5f3a9c";

function config(adminToken: string | null = TOKEN): Config {
  return loadConfig({
    env: {},
    argv: [],
    overrides: {
      xmpp: { secret: "s" },
      database: { dataDir: "memory://" },
      http: { port: 0, ...(adminToken ? { adminToken } : {}) },
      security: { allowPrivateTargets: true }, // bot.example does not resolve here; the policy has tests of its own
    },
  });
}

/** What the admin API shows of a tree or item: each bot route with `hasSecret`, never the secret. */
const shown = <T>(v: T): T =>
  JSON.parse(
    JSON.stringify(v, (key, val: unknown) => {
      if (key !== "bot" || typeof val !== "object" || val === null) return val;
      const { secret, ...rest } = val as { secret?: string };
      return { ...rest, hasSecret: secret !== undefined };
    }),
  ) as T;

const route = (url = "http://bot.example/webhook") => ({ mode: "bot" as const, bot: { url } });
const info = (name: string, extra: Record<string, string> = {}) => ({ name, status: "", imageUrl: "", thumbUrl: "", ...extra });

const TREE: DirectoryTree = {
  items: [
    {
      address: "gruppo",
      type: "group",
      mobileIsPublished: true,
      webIsPublished: false,
      info: info("Gruppo"),
      items: [
        {
          address: "atm_milano",
          type: "channel",
          serverAddress: "myticket",
          mobileIsPublished: true,
          webIsPublished: false,
          info: info("ATM", { defaultMessage: "Ciao" }),
          route: route(),
        },
      ],
    },
    {
      address: "supporto",
      type: "channel",
      mobileIsPublished: true,
      webIsPublished: true,
      info: info("Supporto"),
      route: {
        mode: "bot+operator",
        bot: { url: "http://bot.example/s", timeoutMs: 5000 },
        genesys: { serviceName: "svc", premiumServiceName: "svc-p" },
      },
    },
  ],
};

let store: Store;
let metrics: Metrics;
let status: ConnectionStatus;
let logLines: string[];
let app: FastifyInstance;

function build(overrides: Partial<HttpDeps> = {}): FastifyInstance {
  logLines = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  return buildHttp({
    config: config(),
    store: () => store,
    connectionStatus: () => status,
    registry: metrics.registry,
    logger: createLogging({ level: "debug", modules: {} }, destination).child("http"),
    ...overrides,
  });
}

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  metrics = createMetrics({ conversationsByState: () => store.conversations.countByState() });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

beforeEach(async () => {
  status = { online: true };
  await store.db.exec("DELETE FROM messages; DELETE FROM conversations; DELETE FROM users; DELETE FROM directory_items;");
  await store.directory.replaceTree(TREE);
  await app?.close();
  app = build();
});

/** The admin API's JSON bodies as these tests read them (each response has some of these fields). */
interface Body {
  error: { code: string; message: string; fields: { field: string; message: string }[] };
  conversations: { chatTitle: string; state: string; episode: unknown; user: unknown }[];
  [field: string]: unknown;
}
const json = (res: { body: string }) => JSON.parse(res.body) as Body;

describe("admin authentication", () => {
  it("refuses a call without a token, with a wrong one, or with another scheme: 401 with WWW-Authenticate", async () => {
    for (const headers of [
      {},
      { authorization: "Bearer wrong-token-xxxxxxxx" },
      { authorization: `Basic ${TOKEN}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: "Bearer" },
    ]) {
      const res = await app.inject({ method: "GET", url: "/admin/directory", headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(json(res).error.code).toBe("UNAUTHORIZED");
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer /);
    }
  });

  it("lets the right token through, whatever the case of the scheme", async () => {
    expect((await app.inject({ method: "GET", url: "/admin/directory", headers: AUTH })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/admin/directory", headers: { authorization: `bearer ${TOKEN}` } })).statusCode).toBe(
      200,
    );
  });

  it("checks the token before the body: an unauthenticated PUT with a bad body is 401, not 400", async () => {
    const res = await app.inject({
      method: "PUT",
      url: "/admin/directory",
      payload: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.statusCode).toBe(401);
  });

  it("unknown admin routes: 401 without the token, 404 NOT_FOUND with it", async () => {
    expect((await app.inject({ method: "GET", url: "/admin/nothing" })).statusCode).toBe(401);
    const res = await app.inject({ method: "GET", url: "/admin/nothing", headers: AUTH });
    expect(res.statusCode).toBe(404);
    expect(json(res).error.code).toBe("NOT_FOUND");
    expect((await app.inject({ method: "GET", url: "/nothing" })).statusCode).toBe(404);
  });

  it("with no admin token configured every admin call is refused (401, saying the API is disabled)", async () => {
    const closed = build({ config: config(null) });
    try {
      for (const headers of [{}, AUTH, { authorization: "Bearer " }]) {
        const res = await closed.inject({ method: "GET", url: "/admin/directory", headers });
        expect(res.statusCode).toBe(401);
        expect(json(res).error).toMatchObject({ code: "UNAUTHORIZED", message: expect.stringMatching(/disabled/) as unknown });
      }
      // The rest of the server still answers.
      expect((await closed.inject({ method: "GET", url: "/health/live" })).statusCode).toBe(200);
    } finally {
      await closed.close();
    }
  });
});

describe("directory", () => {
  it("GET gives the whole tree in the admin format, routes included", async () => {
    const res = await app.inject({ method: "GET", url: "/admin/directory", headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(json(res)).toEqual(shown(TREE));
  });

  it("PUT replaces it; GET gives back exactly what was put; every instance is notified", async () => {
    const changes: (string | null)[] = [];
    const unlisten = await store.directory.onDirectoryChanged((a) => changes.push(a));
    try {
      const tree: DirectoryTree = { items: [TREE.items[1]!, { ...TREE.items[0]!, items: [] }] };
      const put = await app.inject({ method: "PUT", url: "/admin/directory", headers: AUTH, payload: tree });
      expect(put.statusCode).toBe(200);
      expect(json(put)).toEqual(shown(tree));
      expect(json(await app.inject({ method: "GET", url: "/admin/directory", headers: AUTH }))).toEqual(shown(tree));
      await expect.poll(() => changes).toContain(null);
    } finally {
      await unlisten();
    }
  });

  it("a bad tree is 400 with every bad field named by its path, and nothing changes", async () => {
    const bad = {
      items: [
        { ...TREE.items[1], route: { mode: "bot", bot: { url: "ftp://nope" } }, colour: "red" },
        { ...TREE.items[0], info: { name: "" } },
        { address: "Not Valid!", type: "channel" },
      ],
    };
    const res = await app.inject({ method: "PUT", url: "/admin/directory", headers: AUTH, payload: bad });
    expect(res.statusCode).toBe(400);
    const { error } = json(res);
    expect(error.code).toBe("BAD_REQUEST");
    const fields = error.fields.map((f) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining(["items.0.route.bot.url", "items.0.colour", "items.1.info.name", "items.2.address", "items.2.route"]),
    );
    expect(error.message).toMatch(/^items\.0\./);
    expect(json(await app.inject({ method: "GET", url: "/admin/directory", headers: AUTH }))).toEqual(shown(TREE));
  });

  it("names the missing backend of a route mode, duplicate addresses and nested groups", async () => {
    const cases: [unknown, string][] = [
      [{ items: [{ ...TREE.items[1], route: { mode: "bot+operator", bot: { url: "http://b/" } } }] }, "items.0.route.genesys.serviceName"],
      [{ items: [TREE.items[1], TREE.items[1]] }, "items.1.address"],
      [{ items: [{ ...TREE.items[0], items: [{ ...TREE.items[0] }] }] }, "items.0.items.0.type"],
      [{ items: [{ ...TREE.items[1], type: "folder" }] }, "items.0.type"],
      [{}, "items"],
      [[], "body"],
    ];
    for (const [payload, field] of cases) {
      const res = await app.inject({ method: "PUT", url: "/admin/directory", headers: AUTH, payload: payload as object });
      expect(res.statusCode, field).toBe(400);
      expect(
        json(res).error.fields.map((f) => f.field),
        field,
      ).toContain(field);
    }
  });

  it("malformed JSON, a wrong media type and an oversize body get their error codes", async () => {
    const malformed = await app.inject({
      method: "PUT",
      url: "/admin/directory",
      headers: { ...AUTH, "content-type": "application/json" },
      payload: "{nope",
    });
    expect(malformed.statusCode).toBe(400);
    expect(json(malformed).error).toMatchObject({ code: "BAD_REQUEST", fields: [{ field: "body" }] });
    const text = await app.inject({
      method: "PUT",
      url: "/admin/directory",
      headers: { ...AUTH, "content-type": "text/plain" },
      payload: "x",
    });
    expect(text.statusCode).toBe(400);
    expect(json(text).error).toMatchObject({ code: "BAD_REQUEST", fields: [{ field: "content-type" }] });
    const small = build({ adminBodyLimitBytes: 100 });
    try {
      const big = await small.inject({ method: "PUT", url: "/admin/directory", headers: AUTH, payload: TREE });
      expect(big.statusCode).toBe(413);
      expect(json(big).error.code).toBe("PAYLOAD_TOO_LARGE");
    } finally {
      await small.close();
    }
  });
});

describe("one channel or group", () => {
  const channel = {
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: info("Nuovo", { defaultMessage: "Salve" }),
    route: route(),
  };

  it("PUT creates a channel in a group (201), then replaces it in place (200); GET and the tree show it", async () => {
    const changes: (string | null)[] = [];
    const unlisten = await store.directory.onDirectoryChanged((a) => changes.push(a));
    try {
      const created = await app.inject({
        method: "PUT",
        url: "/admin/channels/nuovo",
        headers: AUTH,
        payload: { ...channel, parent: "gruppo" },
      });
      expect(created.statusCode).toBe(201);
      expect(json(created)).toEqual(shown({ address: "nuovo", ...channel, parent: "gruppo" }));
      await expect.poll(() => changes).toContain("nuovo");

      const updated = await app.inject({
        method: "PUT",
        url: "/admin/channels/atm_milano",
        headers: AUTH,
        payload: { ...TREE.items[0]!.items![0], info: info("ATM 2"), parent: "gruppo" },
      });
      expect(updated.statusCode).toBe(200);
      const tree = await store.directory.getTree();
      expect(tree.items[0]!.items!.map((c) => [c.address, c.info.name])).toEqual([
        ["atm_milano", "ATM 2"],
        ["nuovo", "Nuovo"],
      ]);

      const one = await app.inject({ method: "GET", url: "/admin/channels/nuovo", headers: AUTH });
      expect(json(one)).toMatchObject({ address: "nuovo", parent: "gruppo", route: route() });
    } finally {
      await unlisten();
    }
  });

  it("without parent the item goes to the top level; a channel moves out of its group", async () => {
    const res = await app.inject({
      method: "PUT",
      url: "/admin/channels/atm_milano",
      headers: AUTH,
      payload: { ...TREE.items[0]!.items![0], address: undefined },
    });
    expect(res.statusCode).toBe(200);
    expect(json(res).parent).toBeNull();
    const tree = await store.directory.getTree();
    expect(tree.items.map((i) => i.address)).toEqual(["gruppo", "supporto", "atm_milano"]);
    expect(tree.items[0]!.items).toEqual([]);
  });

  it("a group put without items keeps its channels; with items gets exactly those", async () => {
    const { items: _items, ...group } = TREE.items[0]!;
    const keep = await app.inject({
      method: "PUT",
      url: "/admin/channels/gruppo",
      headers: AUTH,
      payload: { ...group, info: info("Rinominato") },
    });
    expect(keep.statusCode).toBe(200);
    expect(json(keep)).toMatchObject({ info: { name: "Rinominato" }, items: [{ address: "atm_milano" }] });
    const empty = await app.inject({ method: "PUT", url: "/admin/channels/gruppo", headers: AUTH, payload: { ...group, items: [] } });
    expect(json(empty).items).toEqual([]);
  });

  it("field errors: the address must match the path, be valid; parent must be a group; groups do not nest", async () => {
    const cases: [string, unknown, string][] = [
      ["/admin/channels/nuovo", { ...channel, address: "altro" }, "address"],
      ["/admin/channels/Bad%20Address", channel, "address"],
      ["/admin/channels/nuovo", { ...channel, parent: "supporto" }, "parent"],
      ["/admin/channels/nuovo", { ...channel, parent: "nessuno" }, "parent"],
      ["/admin/channels/nuovo", { ...channel, parent: 7 }, "parent"],
      ["/admin/channels/g2", { ...TREE.items[0], address: undefined, parent: "gruppo" }, "parent"],
      ["/admin/channels/nuovo", { ...channel, route: { mode: "operator" } }, "route.genesys.serviceName"],
      ["/admin/channels/nuovo", { ...channel, info: { name: "x", imageUrl: "nope" } }, "info.imageUrl"],
      ["/admin/channels/nuovo", [channel], "body"],
    ];
    for (const [url, payload, field] of cases) {
      const res = await app.inject({ method: "PUT", url, headers: AUTH, payload: payload as object });
      expect(res.statusCode, `${url} ${field}`).toBe(400);
      expect(json(res).error.code).toBe("BAD_REQUEST");
      expect(
        json(res).error.fields.map((f) => f.field),
        `${url} ${field}`,
      ).toContain(field);
    }
    expect(await store.directory.getTree()).toEqual(TREE);
  });

  it("DELETE answers 204, then 404 NO_CHANNEL_FOUND; deleting a group takes its channels", async () => {
    const del = await app.inject({ method: "DELETE", url: "/admin/channels/gruppo", headers: AUTH });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe("");
    expect((await store.directory.getTree()).items.map((i) => i.address)).toEqual(["supporto"]);
    for (const url of ["/admin/channels/gruppo", "/admin/channels/atm_milano"]) {
      const again = await app.inject({ method: "DELETE", url, headers: AUTH });
      expect(again.statusCode).toBe(404);
      expect(json(again).error.code).toBe("NO_CHANNEL_FOUND");
    }
    expect((await app.inject({ method: "GET", url: "/admin/channels/gruppo", headers: AUTH })).statusCode).toBe(404);
  });
});

describe("users", () => {
  it("imports a batch, normalising every MSISDN form; a repeated MSISDN counts once", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/admin/users",
      headers: AUTH,
      payload: [
        { msisdn: "+39 347 111 1111", name: "Anna" },
        { msisdn: "00393472222222" },
        { msisdn: "3473333333", name: null },
        { msisdn: MSISDN, name: "Anna B." },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ received: 4, imported: 3 });
    expect(await store.users.get(MSISDN)).toMatchObject({ name: "Anna B." });
    expect(await store.users.get("393472222222")).toMatchObject({ name: null });
    expect(await store.users.get("393473333333")).not.toBeNull();
  });

  it("bad entries: 400 naming each by index, nothing imported, no MSISDN echoed", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/admin/users",
      headers: AUTH,
      payload: [
        { msisdn: MSISDN },
        { msisdn: "12" },
        { name: "no number" },
        { msisdn: "393471111111", extra: 1 },
        "x",
        { msisdn: "+39 347 999 99999999" },
      ],
    });
    expect(res.statusCode).toBe(400);
    const { error } = json(res);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.fields.map((f) => f.field)).toEqual(["1.msisdn", "2.msisdn", "3.extra", "4", "5.msisdn"]);
    expect(error.message).toMatch(/^5 of 6 entries are invalid/);
    expect(res.body).not.toContain("347");
    expect(await store.users.count()).toBe(0);
  });

  it("a body that is not an array is 400; a batch over the limit is 413 and imports nothing", async () => {
    const notArray = await app.inject({ method: "POST", url: "/admin/users", headers: AUTH, payload: { msisdn: MSISDN } });
    expect(notArray.statusCode).toBe(400);
    expect(json(notArray).error.fields).toEqual([{ field: "body", message: expect.any(String) as unknown }]);
    const limited = build({ maxUsersPerImport: 3 });
    try {
      const many = Array.from({ length: 4 }, (_, i) => ({ msisdn: `39347000000${i}` }));
      const res = await limited.inject({ method: "POST", url: "/admin/users", headers: AUTH, payload: many });
      expect(res.statusCode).toBe(413);
      expect(json(res).error.code).toBe("PAYLOAD_TOO_LARGE");
      expect(await store.users.count()).toBe(0);
      expect((await limited.inject({ method: "POST", url: "/admin/users", headers: AUTH, payload: many.slice(1) })).statusCode).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("takes 10,000 users in one request", async () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ msisdn: `3934${String(i).padStart(8, "0")}`, name: `Utente ${i}` }));
    const res = await app.inject({ method: "POST", url: "/admin/users", headers: AUTH, payload: many });
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({ received: 10_000, imported: 10_000 });
    expect(await store.users.count()).toBe(10_000);
  });

  it("DELETE by any form of the MSISDN: 204, then 404 NO_USER_FOUND; not an MSISDN: 400", async () => {
    await store.users.upsertMany([{ msisdn: MSISDN, name: "Anna" }]);
    const del = await app.inject({ method: "DELETE", url: `/admin/users/${encodeURIComponent("+39 347 111 1111")}`, headers: AUTH });
    expect(del.statusCode).toBe(204);
    expect(await store.users.get(MSISDN)).toBeNull();
    const again = await app.inject({ method: "DELETE", url: `/admin/users/${MSISDN}`, headers: AUTH });
    expect(again.statusCode).toBe(404);
    expect(json(again).error.code).toBe("NO_USER_FOUND");
    const bad = await app.inject({ method: "DELETE", url: "/admin/users/12", headers: AUTH });
    expect(bad.statusCode).toBe(400);
    expect(json(bad).error.fields).toEqual([{ field: "msisdn", message: expect.any(String) as unknown }]);
  });
});

describe("conversations", () => {
  const episode = (): OperatorEpisode => {
    const t = new Date("2025-03-01T10:00:00Z");
    return {
      uuid: "6f1c1b1e-0000-4000-8000-000000000001",
      serviceName: "svc",
      chat: { chatId: "chat-1", userId: "gms-user-1", secureKey: SECURE_KEY, alias: "117" },
      transcriptPosition: 3,
      queuePosition: null,
      notifiedQueuePosition: null,
      requestedAt: t,
      joinedAt: t,
      agentNickname: "Mario",
      lastActivityAt: t,
      lastQueuedNoticeAt: null,
      endedAt: null,
      endCode: null,
    };
  };

  beforeEach(async () => {
    const base = {
      userJid: `${MSISDN}@localhost`,
      msisdn: MSISDN,
      addressing: { kind: "channel" } as const,
      apiVersion: "2.1" as const,
      os: "android" as const,
      lang: "it",
    };
    const op = await store.conversations.create({
      ...base,
      channel: "supporto",
      chatTitle: "Supporto",
      state: "operator",
      episode: episode(),
      now: new Date("2025-03-01T10:05:00Z"),
    });
    await store.steps.append({
      conversationId: op.id,
      version: null,
      inbound: { sender: base.userJid, dedupeKey: "m1", kind: "chat_text", text: "il mio segreto", payload: { text: "il mio segreto" } },
      outbound: [],
      enqueue: [],
      owner: "test",
      lockMs: 10_000,
    });
    await store.conversations.create({ ...base, channel: "atm_milano", chatTitle: "Biglietti", now: new Date("2025-03-01T09:00:00Z") });
    await store.conversations.create({
      ...base,
      userJid: "web-visitor-42@localhost",
      msisdn: null,
      channel: "supporto",
      chatTitle: "Web",
      os: "web",
      now: new Date("2025-03-01T08:00:00Z"),
    });
  });

  it("lists the most recent first, with ids, state, episode and timestamps, never text, secrets, JIDs or MSISDNs", async () => {
    const res = await app.inject({ method: "GET", url: "/admin/conversations", headers: AUTH });
    expect(res.statusCode).toBe(200);
    const { conversations } = json(res);
    expect(conversations.map((c) => c.chatTitle)).toEqual(["Supporto", "Biglietti", "Web"]);
    expect(conversations[0]).toMatchObject({
      id: expect.any(String) as unknown,
      user: { tag: keyRingFrom(undefined).msisdnTag(MSISDN), masked: "39********11@localhost" },
      channel: "supporto",
      state: "operator",
      apiVersion: "2.1",
      os: "android",
      episode: {
        uuid: "6f1c1b1e-0000-4000-8000-000000000001",
        state: "joined",
        genesysChatId: "chat-1",
        requestedAt: "2025-03-01T10:00:00.000Z",
      },
      createdAt: "2025-03-01T10:05:00.000Z",
    });
    expect(conversations[1]!.episode).toBeNull();
    expect(conversations[2]!.user).toEqual({
      tag: expect.stringMatching(/^jid#[0-9a-f]{12}$/) as unknown,
      masked: "we**********42@localhost",
    });
    for (const secret of [SECURE_KEY, "gms-user-1", "il mio segreto", MSISDN, "web-visitor-42"]) expect(res.body).not.toContain(secret);
  });

  it("filters by state and limits", async () => {
    const op = json(await app.inject({ method: "GET", url: "/admin/conversations?state=operator", headers: AUTH }));
    expect(op.conversations.map((c) => c.state)).toEqual(["operator"]);
    const one = json(await app.inject({ method: "GET", url: "/admin/conversations?state=bot&limit=1", headers: AUTH }));
    expect(one.conversations.map((c) => c.chatTitle)).toEqual(["Biglietti"]);
  });

  it("a bad state, limit or unknown parameter is 400 naming it", async () => {
    for (const [query, field] of [
      ["state=open", "state"],
      ["limit=0", "limit"],
      ["limit=1001", "limit"],
      ["limit=ten", "limit"],
      ["color=red", "color"],
    ] as const) {
      const res = await app.inject({ method: "GET", url: `/admin/conversations?${query}`, headers: AUTH });
      expect(res.statusCode, query).toBe(400);
      expect(
        json(res).error.fields.map((f) => f.field),
        query,
      ).toEqual([field]);
    }
  });
});

describe("health, status and metrics", () => {
  it("live is always 200; ready is 200 with the database answering and the component online", async () => {
    expect(json(await app.inject({ method: "GET", url: "/health/live" }))).toEqual({ status: "live" });
    const ready = await app.inject({ method: "GET", url: "/health/ready" });
    expect(ready.statusCode).toBe(200);
    expect(json(ready)).toEqual({ status: "ready" });
  });

  it("ready is 503 with every reason: component offline, database gone, extra checks", async () => {
    status = { online: false, reason: "connection lost" };
    const offline = await app.inject({ method: "GET", url: "/health/ready" });
    expect(offline.statusCode).toBe(503);
    expect(json(offline)).toEqual({ status: "not ready", reasons: ["xmpp: connection lost"] });

    const unstarted = build({ store: () => undefined, ready: () => ["router: stopping"] });
    try {
      expect(json(await unstarted.inject({ method: "GET", url: "/health/ready" }))).toEqual({
        status: "not ready",
        reasons: ["database: not open", "xmpp: connection lost", "router: stopping"],
      });
      // The admin API answers 503 until there is a store.
      const admin = await unstarted.inject({ method: "GET", url: "/admin/directory", headers: AUTH });
      expect(admin.statusCode).toBe(503);
      expect(json(admin).error.code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      await unstarted.close();
    }
  });

  it("ready is 503 when the database does not answer within the bound, and concurrent probes share one query", async () => {
    status = { online: true };
    let queries = 0;
    const hanging = { ...store, db: { ...store.db, query: () => (queries++, new Promise<never>(() => undefined)) } } as unknown as Store;
    const slow = build({ store: () => hanging, dbCheckTimeoutMs: 50 });
    try {
      const [a, b] = await Promise.all([
        slow.inject({ method: "GET", url: "/health/ready" }),
        slow.inject({ method: "GET", url: "/health/ready" }),
      ]);
      for (const res of [a, b]) {
        expect(res.statusCode).toBe(503);
        expect(json(res).reasons).toEqual(["database: no answer within 50 ms"]);
      }
      expect(queries).toBe(1);
      const failing = {
        ...store,
        db: { ...store.db, query: () => Promise.reject(new Error("connect ECONNREFUSED 10.1.2.3:5432")) },
      } as unknown as Store;
      const broken = build({ store: () => failing });
      const res = await broken.inject({ method: "GET", url: "/health/ready" });
      await broken.close();
      expect(json(res).reasons).toEqual(["database: query failed"]);
      expect(res.body).not.toContain("10.1.2.3");
    } finally {
      await slow.close();
    }
  });

  it("status is ONLINE or OFFLINE (reason), text, always 200", async () => {
    const on = await app.inject({ method: "GET", url: "/status" });
    expect([on.statusCode, on.body, on.headers["content-type"]]).toEqual([200, "ONLINE", "text/plain; charset=utf-8"]);
    status = { online: false, reason: "connect ECONNREFUSED 127.0.0.1:5347" };
    const off = await app.inject({ method: "GET", url: "/status" });
    expect([off.statusCode, off.body]).toEqual([200, "OFFLINE (connect ECONNREFUSED 127.0.0.1:5347)"]);
  });

  it("metrics is the Prometheus text of the registry, conversations by state from the store", async () => {
    metrics.stanzasIn.inc({ type: "chat_text" });
    await store.conversations.create({
      userJid: `${MSISDN}@localhost`,
      channel: "supporto",
      chatTitle: "M",
      addressing: { kind: "channel" },
      apiVersion: "2",
      lang: "it",
    });
    const res = await app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toContain('eime_stanzas_in_total{type="chat_text"} 1');
    expect(res.body).toContain('eime_conversations{state="bot"} 1');
    expect(res.body).toContain("# TYPE eime_bot_request_seconds histogram");
  });
});

describe("logging", () => {
  it("one debug line per request with the route pattern; never the token, the Authorization header or an MSISDN", async () => {
    await store.users.upsertMany([{ msisdn: MSISDN }]);
    await app.inject({ method: "DELETE", url: `/admin/users/${MSISDN}`, headers: AUTH });
    await app.inject({ method: "GET", url: "/admin/directory", headers: { authorization: "Bearer wrong-token-xxxxxxxx" } });
    await app.inject({ method: "POST", url: "/admin/users", headers: AUTH, payload: [{ msisdn: "+39 347 222 2222" }] });
    const all = logLines.join("");
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 20, msg: "http request", method: "DELETE", route: "/admin/users/:msisdn", status: 204 }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ msg: "http request", route: "/admin/directory", status: 401 }));
    for (const secret of [TOKEN, "wrong-token", "authorization", "Bearer", MSISDN, "393472222222", "347"])
      expect(all).not.toContain(secret);
  });
});
