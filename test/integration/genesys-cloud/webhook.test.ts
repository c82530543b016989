// The Genesys Cloud webhook over real HTTP, with the simulator's signed,
// retrying calls and the dedup table in a real database (PGlite, migrated):
// a slow first answer makes Genesys retry, and the message is handled once;
// two routers (instances) on one database handle a message once between them;
// bad and missing signatures are 401 before the body is read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fastify, type FastifyInstance } from "fastify";
import pino from "pino";
import { cloudWebhookRoutes, webhookDedup } from "../../../src/adapters/genesys-cloud/index.js";
import type { WebhookMessage } from "../../../src/adapters/genesys-cloud/webhook-message.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { GenesysCloudSimulator } from "../../support/genesys-cloud/simulator.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const log = pino({ level: "silent" });
const SECRET = "webhook-secret";
let store: Store;
let sim: GenesysCloudSimulator;
const handled: WebhookMessage[] = [];
let delayMs = 0;
const servers: FastifyInstance[] = [];

async function router(): Promise<string> {
  const app = fastify();
  const dedup = webhookDedup(store.db);
  void app.register(
    cloudWebhookRoutes({
      secret: SECRET,
      log,
      handle: async (_integration, m) => {
        const claim = await dedup.claim(m.id, m.time);
        if (claim === "done") return "duplicate";
        if (claim === "busy") throw new Error("busy");
        await new Promise((r) => setTimeout(r, delayMs));
        handled.push(m);
        await dedup.done(m.id, m.time);
        return "handled";
      },
    }),
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  servers.push(app);
  const a = app.server.address();
  return `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/genesys-cloud/int-1/webhook`;
}

const message = (id: string, text = "ciao") =>
  JSON.stringify({
    id,
    channel: {
      id: "int-1",
      platform: "Open",
      type: "Private",
      to: { id: "conv-1" },
      from: { nickname: "Giulia", id: "int-1", idType: "Opaque" },
      time: "2026-12-02T14:00:00.000Z",
    },
    type: "Text",
    text,
    direction: "Outbound",
  });

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging());
  sim = new GenesysCloudSimulator({ clientId: "c", clientSecret: "s", webhookSecret: SECRET, webhookTimeoutMs: 300, retryDelayMs: 300 });
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await store.close();
});

describe("Genesys Cloud webhook", () => {
  it("a retry after a slow answer is handled once", async () => {
    const url = await router();
    delayMs = 700; // beyond the simulator's (Genesys's) answer timeout
    const delivery = await sim.post(url, message("m-slow"));
    delayMs = 0;
    expect(delivery.statuses[0]).toBe("timeout");
    expect(delivery.statuses.at(-1)).toBe(200);
    await new Promise((r) => setTimeout(r, 800));
    expect(handled.filter((m) => m.id === "m-slow")).toHaveLength(1);
  });

  it("two instances on one database handle a message once", async () => {
    const [a, b] = await Promise.all([router(), router()]);
    const body = message("m-twice");
    const results = await Promise.all([sim.post(a, body), sim.post(b, body), sim.post(a, body)]);
    // Each call ends in 200 (at once, or after a retry while another call was handling it).
    expect(results.map((r) => r.statuses.at(-1))).toEqual([200, 200, 200]);
    expect(handled.filter((m) => m.id === "m-twice")).toHaveLength(1);
  });

  it("refuses unsigned and wrongly signed calls with 401 and handles nothing", async () => {
    const url = await router();
    const body = message("m-forged");
    expect((await sim.post(url, body, {})).statuses).toEqual([401]);
    expect((await sim.post(url, body, { "x-hub-signature-256": sim.sign(body, "guess") })).statuses).toEqual([401]);
    // The hex form (GitHub's) is not Genesys's base64: refused too.
    const hex = "sha256=" + Buffer.from(sim.sign(body).slice(7), "base64").toString("hex");
    expect((await sim.post(url, body, { "x-hub-signature-256": hex })).statuses).toEqual([401]);
    // A body changed after signing.
    expect((await sim.post(url, message("m-forged", "altered"), { "x-hub-signature-256": sim.sign(body) })).statuses).toEqual([401]);
    expect(handled.filter((m) => m.id === "m-forged")).toHaveLength(0);
  });
});
