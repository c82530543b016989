// Write-only secrets in the admin API (issue 13): no answer carries a route
// secret (successes and errors alike); a PUT that omits a secret keeps the
// stored one, an explicit null removes it.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { buildHttp } from "../../../src/http/index.js";
import { createLogging } from "../../../src/log.js";
import { createMetrics } from "../../../src/metrics.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const TOKEN = "admin-token-for-tests";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SECRET = "bot-secret-7d1e0c55";
const OTHER = "bot-secret-other-a91b";

const channel = (address: string, bot: Record<string, unknown>) => ({
  address,
  type: "channel",
  mobileIsPublished: true,
  webIsPublished: true,
  info: { name: address, status: "", imageUrl: "", thumbUrl: "" },
  route: { mode: "bot", bot: { url: "http://bot.example/hook", ...bot } },
});
const tree = (...items: unknown[]) => ({ items });

let store: Store;
let app: FastifyInstance;
const seen: string[] = [];

async function call(method: "GET" | "PUT" | "DELETE" | "POST", url: string, payload?: unknown, headers: Record<string, string> = AUTH) {
  const res = await app.inject({
    method,
    url,
    headers: { ...headers, ...(payload !== undefined ? { "content-type": "application/json" } : {}) },
    ...(payload !== undefined ? { payload: typeof payload === "string" ? payload : JSON.stringify(payload) } : {}),
  });
  seen.push(res.body, JSON.stringify(res.headers));
  return res;
}
const storedSecret = async (address: string) =>
  (await store.directory.getTree()).items.find((i) => i.address === address)?.route?.bot?.secret;

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  const config = loadConfig({
    env: {},
    argv: [],
    overrides: { xmpp: { secret: "s" }, http: { port: 0, adminToken: TOKEN }, security: { allowPrivateTargets: true } },
  });
  app = buildHttp({
    config,
    store: () => store,
    connectionStatus: () => ({ online: true }),
    registry: createMetrics({ conversationsByState: async () => ({}) }).registry,
    logger: createLogging({ level: "silent", modules: {} }).child("http"),
  });
});

afterAll(async () => {
  // Every answer of this file, successes and errors, had no secret in it.
  const all = seen.join("\n");
  expect(all).not.toContain(SECRET);
  expect(all).not.toContain(OTHER);
  await app?.close();
  await store?.close();
});

beforeEach(async () => {
  await store.directory.replaceTree({ items: [] });
});

describe("write-only route secrets", () => {
  it("PUT /admin/directory stores the secret; neither the answer nor a GET shows it, only hasSecret", async () => {
    const put = await call("PUT", "/admin/directory", tree(channel("supporto", { secret: SECRET }), channel("nuda", {})));
    expect(put.statusCode).toBe(200);
    expect(put.body).not.toContain(SECRET);
    const got = await call("GET", "/admin/directory");
    const bots = (JSON.parse(got.body) as { items: { route: { bot: Record<string, unknown> } }[] }).items.map((i) => i.route.bot);
    expect(bots).toEqual([
      { url: "http://bot.example/hook", hasSecret: true },
      { url: "http://bot.example/hook", hasSecret: false },
    ]);
    expect((await call("GET", "/admin/channels/supporto")).body).not.toContain(SECRET);
    expect(await storedSecret("supporto")).toBe(SECRET);
  });

  it("a PUT that omits the secret keeps the stored one; an explicit null removes it", async () => {
    await call("PUT", "/admin/directory", tree(channel("supporto", { secret: SECRET })));
    expect((await call("PUT", "/admin/directory", tree(channel("supporto", { timeoutMs: 3000 })))).statusCode).toBe(200);
    expect(await storedSecret("supporto")).toBe(SECRET);
    expect((await call("PUT", "/admin/channels/supporto", channel("supporto", {}))).statusCode).toBe(200);
    expect(await storedSecret("supporto")).toBe(SECRET);
    expect((await call("PUT", "/admin/channels/supporto", channel("supporto", { secret: OTHER }))).statusCode).toBe(200);
    expect(await storedSecret("supporto")).toBe(OTHER);
    const removed = await call("PUT", "/admin/channels/supporto", channel("supporto", { secret: null }));
    expect(removed.statusCode).toBe(200);
    expect(await storedSecret("supporto")).toBeUndefined();
    await call("PUT", "/admin/channels/supporto", channel("supporto", { secret: SECRET }));
    await call("PUT", "/admin/directory", tree(channel("supporto", { secret: null })));
    expect(await storedSecret("supporto")).toBeUndefined();
  });

  it("error answers do not echo a secret either: bad fields, bad JSON, wrong token, unknown routes", async () => {
    await call("PUT", "/admin/directory", tree(channel("supporto", { secret: SECRET })));
    const answers = [
      await call("PUT", "/admin/directory", tree({ ...channel("supporto", { secret: SECRET }), colour: "red" })),
      await call("PUT", "/admin/directory", tree(channel("supporto", { secret: 42, url: SECRET }))),
      await call("PUT", "/admin/directory", `{"items":[{"route":{"bot":{"secret":"${SECRET}"`),
      await call("PUT", "/admin/directory", `{"items":[{"route":{"bot":{"secret":${SECRET}}}}]}`),
      await call("PUT", "/admin/channels/supporto", SECRET),
      await call("PUT", "/admin/directory", `{"items":[{"route":{"bot":{"secret":"${SECRET}"}}}]} trailing ${SECRET}`),
      await call("PUT", "/admin/channels/supporto", { ...channel("supporto", { secret: SECRET }), address: "altro" }),
      await call("PUT", "/admin/directory", tree(channel("supporto", { secret: SECRET })), { authorization: "Bearer wrong-token" }),
      await call("PUT", `/admin/no-such/${SECRET}`, { secret: SECRET }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([400, 400, 400, 400, 400, 400, 400, 401, 404]);
    for (const a of answers) expect(a.body).not.toContain(SECRET);
  });
});
