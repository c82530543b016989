// The GMS Callback Services API (src/adapters/genesys/gms-callback.ts) against
// the simulator over real HTTP, and the book_callback job
// (src/delivery/handlers/callback-booking.ts) on a real store (PGlite):
// booked once per request, also when the job runs again after an attempt
// whose answer was lost; refusals final; the number in no error message.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmsCallback, GenesysError } from "../../../src/adapters/genesys/index.js";
import { loadConfig } from "../../../src/config/load.js";
import { newConversation } from "../../../src/core/conversation.js";
import type { ConversationEvent } from "../../../src/core/events.js";
import type { Conversation } from "../../../src/core/model.js";
import type { CallbackPort } from "../../../src/core/ports.js";
import type { ConversationSteps } from "../../../src/delivery/conversation-port.js";
import { callbackBookingHandler, requestIdOf } from "../../../src/delivery/handlers/callback-booking.js";
import type { Job } from "../../../src/delivery/job.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { startGmsSimulator, type GmsSimulator } from "../../../tools/gms-simulator/server.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const log = pino({ level: "silent" });
const NUMBER = "393476661111";

let sim: GmsSimulator;
let gms: CallbackPort;
let store: Store;

beforeAll(async () => {
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  gms = createGmsCallback({ baseUrl: sim.url, requestTimeoutMs: 2_000 }, log);
  store = await openStore(pgliteConfig(), silentLogging());
});
afterAll(async () => {
  await sim.stop();
  await store.close();
});

describe("GMS Callback Services API against the simulator", () => {
  it("books with the number, the time and the marker, and finds the booking again by its marker", async () => {
    const when = new Date(Date.now() + 3_600_000).toISOString();
    const booked = await gms.book("cb-a", { customerNumber: NUMBER, desiredTime: when, requestId: "eime-a" });
    expect(booked.id).toMatch(/^[0-9a-f]{32}$/);
    expect(booked.at).toBe(when);
    expect(sim.callbacks.list("cb-a")).toMatchObject([
      { _id: booked.id, _customer_number: NUMBER, _desired_time: when, _callback_state: "SCHEDULED", data: { eime_request_id: "eime-a" } },
    ]);
    expect(await gms.find("cb-a", "eime-a")).toEqual({ id: booked.id, at: when });
    expect(await gms.find("cb-a", "eime-other")).toBeNull();
    const asap = await gms.book("cb-a", { customerNumber: NUMBER, desiredTime: null, requestId: "eime-b" });
    expect(asap.at).toBeNull();
    expect(sim.callbacks.list("cb-a")[1]).toMatchObject({ _callback_state: "QUEUED" });
  });

  it("a refusal (HTTP 4xx) is final, a 500 transient; no message names the number", async () => {
    sim.callbacks.inject({ kind: "refuse" });
    const refused = await gms.book("cb-b", { customerNumber: NUMBER, desiredTime: null, requestId: "eime-c" }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GenesysError);
    expect(refused).toMatchObject({ transient: false, httpStatus: 400, op: "callbackStart" });
    sim.callbacks.inject({ kind: "http500" });
    const failed = await gms.book("cb-b", { customerNumber: NUMBER, desiredTime: null, requestId: "eime-c" }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ transient: true, httpStatus: 500 });
    const past = await gms
      .book("cb-b", { customerNumber: NUMBER, desiredTime: "2020-01-01T00:00:00.000Z", requestId: "eime-c" })
      .catch((e: unknown) => e);
    expect(past).toMatchObject({ transient: false, httpStatus: 400 });
    for (const e of [refused, failed, past])
      expect(JSON.stringify({ m: (e as Error).message, s: (e as Error).stack })).not.toContain(NUMBER);
    expect(sim.callbacks.list("cb-b")).toHaveLength(0);
  });

  it("a query answered with callbacks that do not show the marker cannot tell: a final error, not a second booking", async () => {
    const ignoring: Server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('[{"_id":"x1"}]'));
    await new Promise<void>((resolve) => ignoring.listen(0, "127.0.0.1", resolve));
    try {
      const other = createGmsCallback(
        { baseUrl: `http://127.0.0.1:${(ignoring.address() as AddressInfo).port}`, requestTimeoutMs: 2_000 },
        log,
      );
      await expect(other.find("cb", "eime-z")).rejects.toMatchObject({ transient: false, op: "callbackQuery" });
    } finally {
      await new Promise((resolve) => ignoring.close(resolve));
    }
  });
});

let seq = 0;
/** A conversation whose callback request is being booked, stored; the steps record the events the job applies. */
async function setup() {
  const config = loadConfig({
    env: {},
    argv: [],
    overrides: {
      xmpp: { service: "xmpp://127.0.0.1:5347", domain: "router.localhost", secret: "s", userDomain: "localhost" },
      genesys: { url: sim.url, requestTimeoutMs: 2000 },
      outbox: { backoffBaseMs: 10 },
    },
  });
  const n = ++seq;
  const serviceName = `cb-job-${n}`;
  const now = new Date();
  const fresh = newConversation(
    { userJid: `${NUMBER}@localhost`, channel: "supporto", chatTitle: `t${n}`, msisdn: NUMBER, addressing: { kind: "channel" } },
    { apiVersion: "2.1", lang: "it", os: "android", appVersion: null, premium: false, useChatDynamic: false },
    { now, route: null, newUuid: () => `conv-cb-${n}` },
  );
  const callback = { state: "requested" as const, serviceName, since: now.toISOString(), at: null };
  const c: Conversation = { ...(await store.conversations.create({ ...fresh, callback })), callback };
  const applied: ConversationEvent[] = [];
  const steps: ConversationSteps = {
    get: async () => c,
    apply: async (_id, event) => {
      applied.push(event);
      return { jobs: [] };
    },
    tell: async () => [],
  };
  const handler = callbackBookingHandler({ callbacks: gms, steps, store, config });
  const job: Job = {
    id: `job-cb-${n}`,
    target: "genesys",
    conversationId: c.id,
    payload: { type: "book_callback", serviceName, desiredTime: null },
    idempotencyKey: `in:${c.id}:m${n}/0`,
    attempts: 1,
    nextAttemptAt: now,
    lastError: null,
    lockedBy: null,
    lockedUntil: null,
    createdAt: now,
    storedStanza: null,
  };
  return { handler, job, applied, serviceName, c };
}

describe("the book_callback job", () => {
  it("books once and reports it; run again (the step that completes it was lost), it books nothing more", async () => {
    const { handler, job, applied, serviceName } = await setup();
    expect(await handler.run(job)).toMatchObject({ status: "done", completed: true });
    expect(await handler.run(job)).toMatchObject({ status: "done", completed: true });
    const booked = sim.callbacks.list(serviceName);
    expect(booked).toHaveLength(1);
    expect(booked[0]).toMatchObject({ _customer_number: NUMBER, data: { eime_request_id: requestIdOf(job.idempotencyKey) } });
    expect(applied).toEqual([
      { type: "callback_booked", id: booked[0]!._id, at: null },
      { type: "callback_booked", id: booked[0]!._id, at: null },
    ]);
    expect(JSON.stringify(job.payload)).not.toContain(NUMBER);
  });

  it("after an attempt whose answer was lost (GMS booked, the router never heard), it finds the booking instead of booking again", async () => {
    const { handler, job, applied, serviceName, c } = await setup();
    // What the killed attempt left: its row (written before the call) and GMS' booking with its marker.
    await store.callbackBookings.attempt({
      idempotencyKey: job.idempotencyKey,
      conversationId: c.id,
      serviceName,
      requestId: requestIdOf(job.idempotencyKey),
    });
    const made = await gms.book(serviceName, { customerNumber: NUMBER, desiredTime: null, requestId: requestIdOf(job.idempotencyKey) });
    expect(await handler.run({ ...job, attempts: 2 })).toMatchObject({ status: "done", completed: true });
    expect(sim.callbacks.list(serviceName)).toHaveLength(1);
    expect(applied).toEqual([{ type: "callback_booked", id: made.id, at: null }]);
    expect(await store.callbackBookings.get(job.idempotencyKey)).toMatchObject({ genesysId: made.id, attempts: 1 });
  });

  it("an attempt that never reached GMS is made again; a refusal is final and tells the user", async () => {
    const { handler, job, applied, serviceName } = await setup();
    sim.callbacks.inject({ kind: "http500" });
    expect(await handler.run(job)).toMatchObject({ status: "retry" });
    expect(await handler.run({ ...job, attempts: 2 })).toMatchObject({ status: "done", completed: true });
    expect(sim.callbacks.list(serviceName)).toHaveLength(1);
    expect(applied.map((e) => e.type)).toEqual(["callback_booked"]);

    const second = await setup();
    sim.callbacks.inject({ kind: "refuse" });
    const outcome = await second.handler.run(second.job);
    expect(outcome).toMatchObject({ status: "failed" });
    expect(JSON.stringify(outcome)).not.toContain(NUMBER);
    await second.handler.deadLettered!(second.job, "refused");
    expect(second.applied).toEqual([{ type: "callback_failed", reason: "refused" }]);
    expect(sim.callbacks.list(second.serviceName)).toHaveLength(0);
  });

  it("a request no longer under way books nothing", async () => {
    const { handler, job, serviceName, c } = await setup();
    c.callback = { ...c.callback!, state: "booked" };
    expect(await handler.run(job)).toEqual({ status: "done" });
    expect(sim.callbacks.list(serviceName)).toHaveLength(0);
  });
});
