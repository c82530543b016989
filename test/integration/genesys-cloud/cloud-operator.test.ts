// The Genesys Cloud adapter against the simulator over real HTTP: token
// cached and renewed, inbound message/typing/receipt validated by the
// simulator, 429 + Retry-After waited out, state read into joined/left/ended.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { createApiClient, plainHttp } from "../../../src/adapters/genesys-cloud/api-client.js";
import { createCloudOperator, type CloudOperator } from "../../../src/adapters/genesys-cloud/cloud-operator.js";
import { cloudServiceName } from "../../../src/adapters/genesys-cloud/service-name.js";
import { createTokenSource } from "../../../src/adapters/genesys-cloud/token.js";
import { GenesysCloudSimulator } from "../../support/genesys-cloud/simulator.js";

const INTEGRATION = "5f1c1f5e-0000-4000-8000-000000000001";
const SERVICE = cloudServiceName(INTEGRATION, "queue-1");
const log = pino({ level: "silent" });
let sim: GenesysCloudSimulator;

function operator(overrides: { stateIntervalMs?: number; requestsPerMinute?: number } = {}): CloudOperator {
  const http = plainHttp();
  const tokens = createTokenSource({ loginUrl: sim.url, clientId: "cid", clientSecret: "csecret", timeoutMs: 2000 }, http);
  const api = createApiClient(
    { apiUrl: sim.url, timeoutMs: 2000, requestsPerMinute: overrides.requestsPerMinute ?? 300 },
    tokens,
    http,
    log,
  );
  return createCloudOperator(
    { requestsPerMinute: 1_000_000, stateReadShare: 0.5, stateIntervalMs: overrides.stateIntervalMs ?? 0, nickname: "EiMe" },
    api,
    log,
  );
}

const request = (conversationId: string) => ({
  serviceName: SERVICE,
  nickname: "Alice",
  subject: "asked for a human",
  userData: {
    conversationId,
    episodeUuid: "ep-1",
    channel: "supporto",
    msisdnHash: "ab".repeat(32),
    botTranscript: "user: ciao\nbot: ciao!",
  },
});

beforeAll(async () => {
  sim = new GenesysCloudSimulator({ clientId: "cid", clientSecret: "csecret", webhookSecret: "whsecret", requestsPerMinute: 1000 });
  await sim.start();
});
afterAll(() => sim.stop());

describe("Genesys Cloud adapter", () => {
  it("opens the conversation with the transcript in customAttributes and learns its id", async () => {
    const op = operator();
    const chat = await op.requestChat(request("conv-1"));
    const c = sim.conversations.find((x) => x.id === chat.chatId)!;
    expect(c.fromId).toBe("conv-1");
    expect(c.customAttributes).toMatchObject({ channel: "supporto", botTranscript: "user: ciao\nbot: ciao!", queueId: "queue-1" });
    expect(sim.inbound.at(-1)!.query).toEqual({ prefetchConversationId: "true" });
    await op.send(SERVICE, chat, "il modem non va", "job-1");
    await op.typing(SERVICE, chat, true);
    await op.typing(SERVICE, chat, false); // no "Off" in Open Messaging: nothing sent
    expect(c.texts()).toEqual(["asked for a human", "il modem non va"]);
    expect(sim.inbound.filter((r) => r.kind === "event")).toHaveLength(1);
    await op.receipt(INTEGRATION, "conv-1", "agent-msg-1", "Delivered");
    expect(sim.inbound.at(-1)).toMatchObject({ kind: "receipt", body: { id: "agent-msg-1", status: "Delivered" } });
    // A failure names why (Open Messaging "Inbound open receipt messages": reasons [{code: GeneralError, message}]).
    await op.receipt(INTEGRATION, "conv-1", "agent-msg-2", "Failed", "the user's server refused the message");
    expect(sim.inbound.at(-1)).toMatchObject({
      kind: "receipt",
      body: { id: "agent-msg-2", status: "Failed", reasons: [{ code: "GeneralError", message: "the user's server refused the message" }] },
    });
    expect(c.receipts().map((r) => [r.id, r.status])).toEqual([
      ["agent-msg-1", "Delivered"],
      ["agent-msg-2", "Failed"],
    ]);
  });

  it("reads agent joined, agent left and conversation ended from the state", async () => {
    const op = operator();
    const chat = await op.requestChat(request("conv-2"));
    const c = sim.conversations.find((x) => x.id === chat.chatId)!;
    expect(await op.refresh(SERVICE, chat, 1)).toEqual({ events: [], nextPosition: 1 });
    c.agentJoin("Giulia");
    const joined = await op.refresh(SERVICE, chat, 1);
    expect(joined).toEqual({ events: [{ kind: "joined", nickname: "Giulia" }], nextPosition: 2 });
    expect((await op.refresh(SERVICE, chat, 2)).events).toEqual([]);
    c.agentLeave();
    expect((await op.refresh(SERVICE, chat, 2)).events).toEqual([{ kind: "left", nickname: "Giulia", remaining: 0 }]);
    await op.disconnect(SERVICE, chat);
    expect(c.ended).toBe(true);
    await op.disconnect(SERVICE, chat); // idempotent
  });

  it("renews an expired token and waits out a 429 with Retry-After", async () => {
    const op = operator();
    const chat = await op.requestChat(request("conv-3"));
    const before = sim.tokensIssued.length;
    sim.expireTokens();
    await op.send(SERVICE, chat, "dopo la scadenza");
    expect(sim.tokensIssued.length).toBe(before + 1);
    sim.force429 = { times: 2, retryAfterSeconds: 1 };
    const started = Date.now();
    await op.send(SERVICE, chat, "dopo il 429");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(sim.conversations.find((x) => x.id === chat.chatId)!.texts()).toContain("dopo il 429");
  });

  it("keeps requests under the per-token rate (queues instead of meeting 429)", async () => {
    const op = operator({ requestsPerMinute: 3 });
    const chat = await op.requestChat(request("conv-4"));
    const sent = Promise.all([op.send(SERVICE, chat, "a"), op.send(SERVICE, chat, "b"), op.send(SERVICE, chat, "c")]);
    const outcome = await Promise.race([sent.then(() => "all sent"), new Promise((r) => setTimeout(() => r("queued"), 1000))]);
    expect(outcome).toBe("queued"); // the fourth request of the minute waits for the bucket
  });

  it("reads the state of one conversation no more often than the interval", async () => {
    const op = operator({ stateIntervalMs: 60_000 });
    const chat = await op.requestChat(request("conv-5"));
    const reads = () => sim.inbound.length;
    const n = reads();
    sim.conversations.find((x) => x.id === chat.chatId)!.agentJoin("Marco");
    expect((await op.refresh(SERVICE, chat, 1)).events).toEqual([]); // read at open, not due yet
    expect(reads()).toBe(n);
  });
});
