// Genesys Cloud receipts in a real database (PGlite, migrated): each agent
// message's receipt is decided once — by the client's receipt, by a bounce,
// by its client job dead-lettered (the send failed at the executor for
// good), or by the timeout once its client job is sent — and becomes one
// cloud_receipt outbox job, also when two instances sweep at once (PostgreSQL);
// the handler posts it to the simulator.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import pino from "pino";
import { createApiClient, plainHttp } from "../../../src/adapters/genesys-cloud/api-client.js";
import { createCloudOperator } from "../../../src/adapters/genesys-cloud/cloud-operator.js";
import { CloudError } from "../../../src/adapters/genesys-cloud/errors.js";
import { receiptStore, type ReceiptStore } from "../../../src/adapters/genesys-cloud/receipt-store.js";
import { cloudReceipts } from "../../../src/adapters/genesys-cloud/receipts.js";
import { createTokenSource } from "../../../src/adapters/genesys-cloud/token.js";
import { loadConfig } from "../../../src/config/load.js";
import { cloudReceiptHandler } from "../../../src/delivery/handlers/cloud-receipt.js";
import type { Job } from "../../../src/delivery/job.js";
import { openStore, type DatabaseConfig, type Store } from "../../../src/store/index.js";
import { GenesysCloudSimulator } from "../../support/genesys-cloud/simulator.js";
import { createPgTestDatabase, pgConfig, pgliteConfig, silentLogging, skipPg, type TestDatabase } from "../../support/db.js";

const log = pino({ level: "silent" });
const INTEGRATION = "int-184";
let store: Store;
let receipts: ReceiptStore;
let conversationId: string;
let userJid: string;
let n = 0;

/** An agent message sent to the user as a step writes it: its message and its client job; then its receipt expected. */
async function agentMessage(timeoutMs: number): Promise<{ key: string; messageId: string; stanzaId: string; jobId: string }> {
  const i = ++n;
  const key = `opack:ep-1:m-${i}`;
  const { jobs } = await store.steps.append({
    conversationId,
    version: null,
    outbound: [{ author: "operator", kind: "chat_text", text: "ciao", dedupeKey: key, stanza: `<message id="s-${i}"/>` }],
    enqueue: [{ target: "client", payload: { type: "send_client", kind: "text" }, idempotencyKey: key }],
    owner: "test",
    lockMs: 60_000,
  });
  const r = { key, messageId: `m-${i}`, stanzaId: `s-${i}`, jobId: jobs[0]!.id };
  await receipts.expect({
    userJid,
    stanzaId: r.stanzaId,
    conversationId,
    integrationId: INTEGRATION,
    messageId: r.messageId,
    clientKey: key,
    timeoutMs,
  });
  return r;
}

const receiptJobs = async () =>
  (
    await store.db.query<{ key: string; payload: Record<string, unknown> }>(
      `SELECT idempotency_key AS key, payload FROM outbox WHERE payload->>'type' = 'cloud_receipt' ORDER BY id`,
    )
  ).rows;

const engines: { engine: string; config: () => Promise<DatabaseConfig>; drop?: () => Promise<void> }[] = [
  { engine: "pglite", config: async () => pgliteConfig() },
];
if (!skipPg) {
  let database: Promise<TestDatabase> | undefined;
  engines.push({
    engine: "pg",
    // One database per file: a second store (another instance) opens the same one.
    config: async () => pgConfig((await (database ??= createPgTestDatabase())).url),
    drop: async () => (await database)?.drop(),
  });
}

describe.each(engines)("Genesys Cloud receipts on $engine", ({ engine, config, drop }) => {
  beforeAll(async () => {
    store = await openStore(await config(), silentLogging());
    receipts = receiptStore(store.db);
  });
  afterAll(async () => {
    await store.close();
    await drop?.();
  });
  beforeEach(async () => {
    await store.db.exec("TRUNCATE outbox, outbox_dead, gcloud_receipts RESTART IDENTITY");
    const c = await store.conversations.create({
      userJid: `39347${++n}@localhost`,
      msisdn: null,
      channel: "supporto",
      chatTitle: "Supporto",
      addressing: { kind: "channel" },
      apiVersion: "2.1",
      lang: "it",
    });
    conversationId = c.id;
    userJid = c.userJid;
  });

  it("the client's receipt decides once; a repeat, another user's, the sweep or a bounce after it add nothing", async () => {
    const m = await agentMessage(60_000);
    expect(await receipts.decide("someone-else@localhost", m.stanzaId, "Delivered")).toBe(false);
    expect(await receipts.decide(userJid, m.stanzaId, "Delivered")).toBe(true);
    expect(await receipts.decide(userJid, m.stanzaId, "Delivered")).toBe(false);
    expect(await receipts.decide(userJid, m.stanzaId, "Failed", "bounced")).toBe(false);
    expect(await receipts.sweep(100)).toBe(0);
    expect(await receiptJobs()).toEqual([
      {
        key: `gcrcpt:${INTEGRATION}:${m.messageId}`,
        payload: { type: "cloud_receipt", integrationId: INTEGRATION, conversationId, messageId: m.messageId, status: "Delivered" },
      },
    ]);
  });

  it("a client job that fails for good (a dead letter) is Failed; one still waiting is not Delivered, however late", async () => {
    const dead = await agentMessage(0);
    const waiting = await agentMessage(0);
    expect(await receipts.sweep(100)).toBe(0); // both client jobs still in the outbox: not sent yet
    expect(await store.outbox.deadLetter(dead.jobId, "component offline")).toBe(true);
    expect(await receipts.sweep(100)).toBe(1);
    expect((await receiptJobs()).map((j) => [j.payload["messageId"], j.payload["status"], j.payload["reason"]])).toEqual([
      [dead.messageId, "Failed", "the message could not be delivered to the user"],
    ]);
    // Sent (its row gone): Delivered, since the timeout passed.
    expect(await store.outbox.complete(waiting.jobId)).toBe(true);
    expect(await receipts.sweep(100)).toBe(1);
    expect(await receipts.sweep(100)).toBe(0);
    expect((await receiptJobs()).map((j) => [j.payload["messageId"], j.payload["status"]])).toEqual([
      [dead.messageId, "Failed"],
      [waiting.messageId, "Delivered"],
    ]);
  });

  it("sent and within the timeout: nothing yet; a message the step did not write is not expected", async () => {
    const m = await agentMessage(60_000);
    await store.outbox.complete(m.jobId);
    expect(await receipts.sweep(100)).toBe(0);
    await receipts.expect({
      userJid,
      stanzaId: "never-sent",
      conversationId,
      integrationId: INTEGRATION,
      messageId: "m-never",
      clientKey: "opack:ep-1:m-never",
      timeoutMs: 0,
    });
    expect(await receipts.decide(userJid, "never-sent", "Delivered")).toBe(false);
    expect(await receipts.sweep(100)).toBe(0);
  });

  it("the service wakes the executor when it enqueued, and a bounce is Failed with its condition", async () => {
    let wakes = 0;
    const service = cloudReceipts(receipts, { timeoutMs: 60_000 }, () => wakes++, log);
    const m = await agentMessage(60_000);
    await service.received(userJid, "not-ours");
    expect(wakes).toBe(0);
    await service.bounced(userJid, m.stanzaId, "service-unavailable");
    expect(wakes).toBe(1);
    expect((await receiptJobs())[0]!.payload).toMatchObject({
      status: "Failed",
      reason: "the user's server refused the message (service-unavailable)",
    });
  });

  if (engine === "pg")
    it("two instances sweeping at once decide each message once", async () => {
      const messages = await Promise.all(Array.from({ length: 20 }, () => agentMessage(0)));
      for (const m of messages) await store.outbox.complete(m.jobId);
      const other = await openStore(await config(), silentLogging());
      try {
        const swept = await Promise.all([
          receipts.sweep(7),
          receiptStore(other.db).sweep(7),
          receipts.sweep(7),
          receiptStore(other.db).sweep(7),
        ]);
        const rest = (await receipts.sweep(100)) + (await receipts.sweep(100));
        expect(swept.reduce((a, b) => a + b, 0) + rest).toBe(20);
        const jobs = await receiptJobs();
        expect(new Set(jobs.map((j) => j.payload["messageId"])).size).toBe(20);
        expect(jobs).toHaveLength(20);
      } finally {
        await other.close();
      }
    });
});

describe("the cloud_receipt job", () => {
  let sim: GenesysCloudSimulator;
  beforeAll(async () => {
    sim = new GenesysCloudSimulator({ clientId: "cid", clientSecret: "cs", webhookSecret: "wh" });
    await sim.start();
  });
  afterAll(() => sim.stop());

  const config = loadConfig({ env: {}, argv: [], overrides: { xmpp: { secret: "s" } } });
  const job = (payload: Record<string, unknown>): Job => ({
    id: "1",
    target: "genesys",
    conversationId: "conv-9",
    payload: { type: "cloud_receipt", ...payload },
    idempotencyKey: "gcrcpt:x",
    attempts: 1,
    nextAttemptAt: new Date(),
    lastError: null,
    lockedBy: null,
    lockedUntil: null,
    createdAt: new Date(),
    storedStanza: null,
  });

  it("posts the receipt; a refusal a retry will not change is final, others are retried", async () => {
    const http = plainHttp();
    const tokens = createTokenSource({ loginUrl: sim.url, clientId: "cid", clientSecret: "cs", timeoutMs: 2000 }, http);
    const api = createApiClient({ apiUrl: sim.url, timeoutMs: 2000, requestsPerMinute: 300 }, tokens, http, log);
    const op = createCloudOperator({ requestsPerMinute: 300, stateReadShare: 0.5, stateIntervalMs: 0, nickname: "EiMe" }, api, log);
    const handler = cloudReceiptHandler({ post: (...a) => op.receipt(...a), config });
    const payload = { integrationId: INTEGRATION, conversationId: "conv-9", messageId: "agent-1", status: "Failed", reason: "bounced" };
    expect(await handler.run(job(payload))).toEqual({ status: "done" });
    expect(sim.inbound.at(-1)).toMatchObject({
      kind: "receipt",
      integrationId: INTEGRATION,
      body: { id: "agent-1", status: "Failed", channel: { to: { id: "conv-9" } }, reasons: [{ code: "GeneralError", message: "bounced" }] },
    });

    const refusing = (transient: boolean) =>
      cloudReceiptHandler({
        post: () => Promise.reject(new CloudError("Genesys Cloud receipt: HTTP x", { op: "receipt", transient })),
        config,
      });
    expect((await refusing(false).run(job(payload))).status).toBe("failed");
    expect((await refusing(true).run(job(payload))).status).toBe("retry");
    expect((await cloudReceiptHandler({ post: null, config }).run(job(payload))).status).toBe("failed");
  });
});
