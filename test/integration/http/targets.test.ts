// The outbound URL policy at admin write time (issue 13): without
// security.allowPrivateTargets a bot URL on loopback, link-local (metadata),
// private ranges or another scheme is refused 400 with its field path, and
// nothing is written.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { serviceNameFor } from "../../../src/core/conversation.js";
import { buildHttp } from "../../../src/http/index.js";
import { createLogging } from "../../../src/log.js";
import { createMetrics } from "../../../src/metrics.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const TOKEN = "admin-token-for-tests";
const channel = (address: string, url: string) => ({
  address,
  type: "channel",
  mobileIsPublished: true,
  webIsPublished: true,
  info: { name: address, status: "", imageUrl: "", thumbUrl: "" },
  route: { mode: "bot", bot: { url } },
});

let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  const config = loadConfig({ env: {}, argv: [], overrides: { xmpp: { secret: "s" }, http: { port: 0, adminToken: TOKEN } } });
  expect(config.security.allowPrivateTargets).toBe(false);
  app = buildHttp({
    config,
    store: () => store,
    connectionStatus: () => ({ online: true }),
    registry: createMetrics({ conversationsByState: async () => ({}) }).registry,
    logger: createLogging({ level: "silent", modules: {} }).child("http"),
  });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

const put = (url: string, payload: unknown) =>
  app.inject({
    method: "PUT",
    url,
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    payload: JSON.stringify(payload),
  });

describe("bot URLs at admin write time", () => {
  it.each([
    ["http://127.0.0.1:5005/webhook", /127\.0\.0\.1/],
    ["http://localhost:5005/webhook", /127\.0\.0\.1|::1/],
    ["http://169.254.169.254/latest/meta-data/", /169\.254\.169\.254/],
    ["http://[fd00:ec2::254]/", /fd00:ec2::254/],
    ["http://10.0.0.7/hook", /10\.0\.0\.7/],
    ["http://[::ffff:192.168.0.1]/hook", /192\.168\.0\.1|::ffff/],
  ])("%s is refused on a channel PUT, naming the field", async (url, why) => {
    const res = await put("/admin/channels/supporto", channel("supporto", url));
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(res.body) as { error: { fields: { field: string; message: string }[] } };
    expect(body.error.fields[0]!.field).toBe("route.bot.url");
    expect(body.error.fields[0]!.message).toMatch(why);
    expect(await store.directory.isEmpty()).toBe(true);
  });

  it("is refused in a whole-tree PUT with the item's path; a public address passes", async () => {
    const res = await put("/admin/directory", {
      items: [channel("pubblico", "https://93.184.216.34/hook"), { ...channel("interno", "http://192.168.1.20/hook") }],
    });
    expect(res.statusCode).toBe(400);
    expect((JSON.parse(res.body) as { error: { fields: { field: string }[] } }).error.fields.map((f) => f.field)).toEqual([
      "items.1.route.bot.url",
    ]);
    expect(await store.directory.isEmpty()).toBe(true);
    expect((await put("/admin/directory", { items: [channel("pubblico", "https://93.184.216.34/hook")] })).statusCode).toBe(200);
  });
});

describe("a bot's handoff queue", () => {
  const route = { mode: "bot+operator" as const, bot: { url: "https://b" }, genesys: { serviceName: "svc", queues: ["billing"] } };
  it("may name only a service the channel lists in genesys.queues; any other falls back to the channel's own", () => {
    expect(serviceNameFor(route, false, "billing")).toBe("billing");
    expect(serviceNameFor(route, false, "vip-internal")).toBe("svc");
    expect(serviceNameFor(route, false, undefined)).toBe("svc");
  });
});
