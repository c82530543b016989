// The dead-letter admin routes against a real store (PGlite in memory): what
// an operator sees of a delivery that failed for good (never the message
// text), and putting it back; plus the dead-letter gauge on /metrics.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { buildHttp } from "../../../src/http/index.js";
import { createMetrics } from "../../../src/metrics.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";
import { insertOutboxRows } from "../../support/outbox-rows.js";

const TOKEN = "admin-token-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SECRET_TEXT = "il mio codice fiscale è RSSMRA80A01F205X";

let store: Store;
let app: ReturnType<typeof buildHttp>;

async function deadLetter(key: string, target: string, type: string, error: string): Promise<string> {
  await insertOutboxRows(store, [{ target, conversationId: "conv-1", idempotencyKey: key, payload: { type, text: SECRET_TEXT } }]);
  const [row] = await store.outbox.claim({ owner: "test", limit: 1, lockMs: 10_000 });
  expect(await store.outbox.deadLetter(row!.id, error)).toBe(true);
  return row!.id;
}

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  const config = loadConfig({
    env: {},
    argv: [],
    overrides: { xmpp: { secret: "s" }, database: { dataDir: "memory://" }, http: { port: 0, adminToken: TOKEN } },
  });
  const metrics = createMetrics({ deadLetters: () => store.outbox.deadCounts() });
  app = buildHttp({
    config,
    store: () => store,
    connectionStatus: () => ({ online: true }),
    registry: metrics.registry,
    logger: silentLogging().child("http"),
  });
});
afterAll(async () => {
  await app.close();
  await store.close();
});

describe("GET /admin/outbox/dead and POST /admin/outbox/dead/{id}/retry", () => {
  it("lists dead letters newest first, by target, without their text, and counts them on /metrics", async () => {
    const bot = await deadLetter("in:conv-1:m1/0", "bot", "call_bot", "bot at bot:5005 did not answer: no answer within 10000 ms");
    const gms = await deadLetter("in:conv-1:m2/0", "genesys", "send_operator", "HTTP 500");
    const res = await app.inject({ method: "GET", url: "/admin/outbox/dead", headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain(SECRET_TEXT);
    expect(res.body).not.toContain("m1"); // the key carries the client's message id
    expect(res.json()).toEqual({
      dead: [
        {
          id: gms,
          target: "genesys",
          type: "send_operator",
          conversationId: "conv-1",
          attempts: 1,
          lastError: "HTTP 500",
          createdAt: expect.any(String) as unknown,
          deadAt: expect.any(String) as unknown,
        },
        expect.objectContaining({ id: bot, target: "bot", type: "call_bot" }),
      ],
    });
    const onlyBot = await app.inject({ method: "GET", url: "/admin/outbox/dead?target=bot&limit=10", headers: AUTH });
    expect(onlyBot.json<{ dead: { id: string }[] }>().dead.map((d) => d.id)).toEqual([bot]);
    const metrics = await app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/eime_outbox_dead\{target="bot"\} 1/);
    expect(metrics.body).toMatch(/eime_outbox_dead\{target="genesys"\} 1/);
  });

  it("puts a dead letter back into the outbox, due now, once", async () => {
    const id = await deadLetter("in:conv-1:m3/0", "client", "send_client", "offline");
    const res = await app.inject({ method: "POST", url: `/admin/outbox/dead/${id}/retry`, headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      job: { id: expect.any(String) as unknown, target: "client", type: "send_client", conversationId: "conv-1" },
    });
    const [again] = await store.outbox.claim({ owner: "test", limit: 10, lockMs: 10_000 });
    expect(again).toMatchObject({ idempotencyKey: "in:conv-1:m3/0", attempts: 1, payload: { text: SECRET_TEXT } });
    const twice = await app.inject({ method: "POST", url: `/admin/outbox/dead/${id}/retry`, headers: AUTH });
    expect(twice.statusCode).toBe(404);
    expect(twice.json()).toMatchObject({ error: { code: "NOT_FOUND" } });
  });

  it("names the field of a bad request, and wants the token", async () => {
    const bad = await app.inject({ method: "GET", url: "/admin/outbox/dead?target=nobody&limit=0", headers: AUTH });
    expect(bad.statusCode).toBe(400);
    expect(
      bad
        .json<{ error: { fields: { field: string }[] } }>()
        .error.fields.map((f) => f.field)
        .sort(),
    ).toEqual(["limit", "target"]);
    const badId = await app.inject({ method: "POST", url: "/admin/outbox/dead/abc/retry", headers: AUTH });
    expect(badId.statusCode).toBe(400);
    expect(badId.json()).toMatchObject({ error: { fields: [{ field: "id" }] } });
    expect((await app.inject({ method: "GET", url: "/admin/outbox/dead" })).statusCode).toBe(401);
    expect((await app.inject({ method: "POST", url: "/admin/outbox/dead/1/retry" })).statusCode).toBe(401);
  });
});
