// The operator file jobs (src/delivery/handlers/operator-files.ts) against the
// GMS simulator and a loopback file share over real HTTP: a job run again
// after a crash that followed its upload (the row was claimed once more)
// uploads nothing twice; Genesys refusing the upload itself, and a file share
// redirecting to a host not allowed, reach the user as
// ROUTER_ATTACHMENT_REFUSED#0001 with the reason.
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmsFiles, createGmsOperator } from "../../../src/adapters/genesys/index.js";
import { loadConfig } from "../../../src/config/load.js";
import type { ClientMessage } from "../../../src/core/client-message.js";
import { newConversation } from "../../../src/core/conversation.js";
import type { Conversation } from "../../../src/core/model.js";
import type { ConversationSteps } from "../../../src/delivery/conversation-port.js";
import { operatorFilesHandler } from "../../../src/delivery/handlers/operator-files.js";
import type { Job } from "../../../src/delivery/job.js";
import { createMetrics } from "../../../src/metrics.js";
import type { Store } from "../../../src/store/index.js";
import { startGmsSimulator, type GmsSimulator } from "../../../tools/gms-simulator/server.js";

const log = pino({ level: "silent" });
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let sim: GmsSimulator;
let share: Server;
let shareHost: string;
const shared = new Map<string, Buffer>();

beforeAll(async () => {
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  share = createServer((req, res) => {
    if (req.url === "/redirect") return void res.writeHead(302, { location: "http://127.0.0.2:9/evil.png" }).end();
    const body = shared.get(req.url ?? "");
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "image/png" }).end(body);
  });
  await new Promise<void>((resolve) => share.listen(0, "127.0.0.1", resolve));
  shareHost = `127.0.0.1:${(share.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await sim.stop();
  await new Promise((resolve) => share.close(resolve));
});

let seq = 0;
/** A conversation with an open GMS episode the agent has joined; a handler whose user-facing messages are recorded. */
async function setup(opts: { joined?: boolean } = {}) {
  const config = loadConfig({
    env: {},
    argv: [],
    overrides: {
      xmpp: { service: "xmpp://127.0.0.1:5347", domain: "router.localhost", secret: "s", userDomain: "localhost" },
      genesys: { url: sim.url, requestTimeoutMs: 2000 },
      attachments: { allowedHosts: [shareHost] },
      security: { allowPrivateTargets: true },
    },
  });
  const serviceName = `jobs-${++seq}`;
  const { nextPosition: _n, ...chat } = await createGmsOperator({ baseUrl: sim.url, requestTimeoutMs: 2000 }, log).requestChat({
    serviceName,
    nickname: "Mario",
    subject: "s",
    userData: {},
  });
  const joined = opts.joined ?? true;
  if (joined) sim.chat(chat.chatId).agentJoin("Anna");
  const now = new Date();
  const c: Conversation = {
    ...newConversation(
      { userJid: "393471111111@localhost", channel: "supporto", chatTitle: "t", msisdn: "393471111111", addressing: { kind: "channel" } },
      { apiVersion: "2.1", lang: "it", os: "android", appVersion: null, premium: false, useChatDynamic: false },
      { now, route: null, newUuid: () => `conv-${seq}` },
    ),
    state: joined ? "operator" : "queued",
    episode: {
      uuid: `ep-${seq}`,
      serviceName,
      chat,
      transcriptPosition: 1,
      queuePosition: null,
      notifiedQueuePosition: null,
      requestedAt: now,
      joinedAt: joined ? now : null,
      agentNickname: joined ? "Anna" : null,
      lastActivityAt: now,
      lastQueuedNoticeAt: now,
      endedAt: null,
      endCode: null,
    },
  };
  const told: ClientMessage[] = [];
  const steps: ConversationSteps = {
    get: async () => c,
    apply: async () => ({ jobs: [] }),
    tell: async (_id, message) => {
      told.push(message);
      return [];
    },
  };
  const handler = operatorFilesHandler({
    files: createGmsFiles({ baseUrl: sim.url, requestTimeoutMs: 2000 }, log),
    steps,
    store: {} as Store, // the send job stores nothing
    config,
    clock: { now: () => new Date() },
    log,
    metrics: createMetrics(),
    urlKey: Buffer.alloc(32),
    publicUrl: () => "http://127.0.0.1:1",
  });
  const job = (url: string, attempts = 1): Job => ({
    id: `job-${seq}`,
    target: "genesys",
    conversationId: c.id,
    payload: { type: "send_operator_file", episodeUuid: c.episode!.uuid, attachment: { url, mediaType: "image/png", name: "modem.png" } },
    idempotencyKey: `conv-${seq}:step:1`,
    attempts,
    nextAttemptAt: now,
    lastError: null,
    lockedBy: null,
    lockedUntil: null,
    createdAt: now,
    storedStanza: null,
  });
  /** The job of an agent's file (a FileUploaded of the chat). */
  const receive = (fileId: string): Job => ({
    ...job(""),
    payload: { type: "receive_operator_file", episodeUuid: c.episode!.uuid, file: { fileId, nickname: "Anna", name: "bolletta.pdf" } },
  });
  return { handler, job, receive, told, simChat: sim.chat(chat.chatId) };
}

function put(path: string, bytes: number) {
  const content = randomBytes(bytes);
  shared.set(path, content);
  return { url: `http://${shareHost}${path}`, content };
}

describe("operator file jobs", () => {
  it("a job claimed again after its upload went through (a crash before the row was deleted) uploads nothing twice", async () => {
    const { handler, job, simChat } = await setup();
    const file = put("/once.png", 30_000);
    expect(await handler.run(job(file.url, 1))).toEqual({ status: "done" });
    expect(await handler.run(job(file.url, 2))).toEqual({ status: "done" });
    expect(simChat.filesFromClient()).toHaveLength(1);
    expect(simChat.filesFromClient()[0]!.sha256).toBe(sha(file.content));
  });

  it("a retry whose first attempt did not reach Genesys uploads", async () => {
    const { handler, job, simChat } = await setup();
    const file = put("/retry.png", 1_000);
    expect(await handler.run(job(file.url, 2))).toEqual({ status: "done" });
    expect(simChat.filesFromClient()).toHaveLength(1);
  });

  it("Genesys refusing the upload itself reaches the user as the refusal", async () => {
    const { handler, job, told, simChat } = await setup();
    const file = put("/refused.png", 1_000);
    sim.inject({ op: "fileUpload", kind: "statusCode", statusCode: 2, code: 106, advice: "File type is not allowed." });
    const outcome = await handler.run(job(file.url));
    expect(outcome.status).toBe("done");
    expect(told).toEqual([{ kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason: "backend", name: "modem.png" } }]);
    expect(simChat.filesFromClient()).toHaveLength(0);
  });

  it("the share redirecting to a host not allowed is not followed: refused as host", async () => {
    const { handler, job, told, simChat } = await setup();
    await handler.run(job(`http://${shareHost}/redirect`));
    expect(told[0]).toMatchObject({ code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason: "host" } });
    expect(simChat.filesFromClient()).toHaveLength(0);
  });

  it("Genesys' limits read before the upload: the fourth file of a chat is refused as count", async () => {
    const { handler, job, told, simChat } = await setup();
    for (let i = 0; i < 3; i++) {
      const f = put(`/n${i}.png`, 100);
      await handler.run({ ...job(f.url), idempotencyKey: `k${i}` });
    }
    expect(simChat.filesFromClient()).toHaveLength(3);
    const fourth = put("/n3.png", 100);
    await handler.run({ ...job(fourth.url), idempotencyKey: "k3" });
    expect(told).toEqual([
      { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason: "backend", name: "modem.png", limit: "count" } },
    ]);
    expect(simChat.filesFromClient()).toHaveLength(3);
  });

  it("upload-need-agent: a file sent while the user still waits for an agent is refused as limit agent", async () => {
    sim.setFileLimits({ needAgent: true });
    try {
      const { handler, job, told, simChat } = await setup({ joined: false });
      const file = put("/early.png", 100);
      await handler.run(job(file.url));
      expect(told).toEqual([
        { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason: "backend", name: "modem.png", limit: "agent" } },
      ]);
      expect(simChat.files()).toHaveLength(0);
    } finally {
      sim.setFileLimits({ needAgent: false });
    }
  });

  it("download-attempts: an agent's file is not downloaded once the chat's downloads are spent; refused as limit downloads", async () => {
    sim.setFileLimits({ downloadAttempts: 0 });
    try {
      const { handler, receive, told, simChat } = await setup();
      const file = simChat.agentSendFile({ name: "bolletta.pdf", mediaType: "application/pdf", content: randomBytes(100) });
      expect(await handler.run(receive(file.fileId))).toMatchObject({ status: "done" });
      expect(told).toEqual([
        { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason: "backend", name: "bolletta.pdf", limit: "downloads" } },
      ]);
    } finally {
      sim.setFileLimits({ downloadAttempts: 100 });
    }
  });
});
