// The admin API's throttle of failed authentications (issue 13; auth.ts):
// per client address, only failures count; beyond the limit every admin call
// from that address is 429 with Retry-After, the right token included, while
// another address with the right token is served.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { buildHttp } from "../../../src/http/index.js";
import { createLogging } from "../../../src/log.js";
import { createMetrics } from "../../../src/metrics.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const TOKEN = "admin-token-throttle-1";
const LIMIT = 5;
const ATTACKER = "203.0.113.7";
const ADMIN = "198.51.100.20";

let store: Store;
let app: FastifyInstance;

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  const config = loadConfig({
    env: {},
    argv: [],
    overrides: { xmpp: { secret: "s" }, http: { port: 0, adminToken: TOKEN }, security: { adminAuthFailuresPerMinute: LIMIT } },
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
  await app?.close();
  await store?.close();
});

const get = (remoteAddress: string, token?: string) =>
  app.inject({ method: "GET", url: "/admin/directory", remoteAddress, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe("failed admin authentications are throttled per client address", () => {
  it("successes do not count", async () => {
    for (let i = 0; i < LIMIT * 2; i++) expect((await get(ATTACKER, TOKEN)).statusCode).toBe(200);
  });

  it(`${LIMIT} bad tokens are 401; then every call from that address is 429, the right token too; another address is served`, async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await get(ATTACKER, `wrong-token-${i}`);
      expect(res.statusCode).toBe(401);
    }
    const blocked = await get(ATTACKER, "wrong-token-again");
    expect(blocked.statusCode).toBe(429);
    expect(JSON.parse(blocked.body)).toMatchObject({ error: { code: "RATE_LIMITED" } });
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect(Number(blocked.headers["retry-after"])).toBeLessThanOrEqual(60);
    // The right token from the throttled address does not tell a guesser it was right.
    expect((await get(ATTACKER, TOKEN)).statusCode).toBe(429);
    // A missing token counts as a failure too, from any address.
    expect((await get(ADMIN)).statusCode).toBe(401);
    const admin = await get(ADMIN, TOKEN);
    expect(admin.statusCode).toBe(200);
    expect(JSON.parse(admin.body)).toEqual({ items: [] });
  });

  it("health and metrics are not behind the throttle", async () => {
    expect((await app.inject({ method: "GET", url: "/health/live", remoteAddress: ATTACKER })).statusCode).toBe(200);
  });
});
