// The GMS file calls (src/adapters/genesys/gms-files.ts) against the
// simulator over real HTTP (backends.md section 2 file calls): limits in the
// Notice's userData, a multipart upload the agent receives byte for byte, the
// upload marked so a retry sees it, the agent's file announced as a file event
// and downloaded unchanged, and Genesys' refusals as final errors.
import { createHash, randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGmsFiles, createGmsOperator, GenesysError } from "../../../src/adapters/genesys/index.js";
import type { OperatorFilesPort, OperatorPort } from "../../../src/core/ports.js";
import { startGmsSimulator, type GmsSimulator } from "../../../tools/gms-simulator/server.js";

const log = pino({ level: "silent" });
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let sim: GmsSimulator;
let gms: OperatorPort;
let files: OperatorFilesPort;

beforeAll(async () => {
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  gms = createGmsOperator({ baseUrl: sim.url, requestTimeoutMs: 2_000 }, log);
  files = createGmsFiles({ baseUrl: sim.url, requestTimeoutMs: 2_000 }, log);
});
afterAll(async () => {
  await sim.stop();
});

let seq = 0;
async function openChat() {
  const serviceName = `files-${++seq}`;
  const { nextPosition: _n, ...chat } = await gms.requestChat({ serviceName, nickname: "Mario", subject: "s", userData: {} });
  const simChat = sim.chat(chat.chatId);
  simChat.agentJoin("Anna");
  return { serviceName, chat, simChat };
}

describe("GMS file calls against the simulator", () => {
  it("reads the Chat Server limits (defaults: 3 files, 2 MiB each, 5 MiB in all)", async () => {
    const { serviceName, chat } = await openChat();
    const limits = await files.limits(serviceName, chat);
    expect(limits).toMatchObject({ maxFiles: 3, maxFileBytes: 2_097_152, maxTotalBytes: 5_242_880, usedFiles: 0, usedTotalBytes: 0 });
    expect(limits.fileTypes).toContain("png");
  });

  it("uploads a file the agent receives byte for byte, and the upload is found again by its key", async () => {
    const { serviceName, chat, simChat } = await openChat();
    const content = randomBytes(50_000);
    expect(await files.uploadedBefore(serviceName, chat, "k1")).toBe(false);
    const { fileId } = await files.upload(serviceName, chat, { name: "modem.png", mediaType: "image/png", content }, "k1");
    const received = simChat.filesFromClient();
    expect(received).toHaveLength(1);
    expect(received[0]!.fileId).toBe(fileId);
    expect(received[0]!.name).toBe("modem.png");
    expect(received[0]!.sha256).toBe(sha(content));
    expect(await files.uploadedBefore(serviceName, chat, "k1")).toBe(true);
    expect(await files.uploadedBefore(serviceName, chat, "k2")).toBe(false);
    const limits = await files.limits(serviceName, chat);
    expect(limits).toMatchObject({ usedFiles: 1, usedTotalBytes: 50_000 });
  });

  it("a file past Genesys' limits is refused for good (statusCode 2), nothing is stored", async () => {
    const { serviceName, chat, simChat } = await openChat();
    const big = randomBytes(2_097_153);
    const err = await files
      .upload(serviceName, chat, { name: "big.png", mediaType: "image/png", content: big }, "k")
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenesysError);
    expect((err as GenesysError).transient).toBe(false);
    expect((err as GenesysError).statusCode).toBe(2);
    expect(simChat.filesFromClient()).toHaveLength(0);
  });

  it("the agent's file is a file event in the transcript, downloaded unchanged", async () => {
    const { serviceName, chat, simChat } = await openChat();
    const content = randomBytes(30_000);
    const sent = simChat.agentSendFile({ name: "bill.pdf", mediaType: "application/pdf", content });
    const poll = await gms.refresh(serviceName, chat, 1);
    const event = poll.events.find((e) => e.kind === "file");
    expect(event).toEqual({
      kind: "file",
      fileId: sent.fileId,
      nickname: "Anna",
      name: "bill.pdf",
      mediaType: "application/pdf",
      size: 30_000,
      index: expect.any(Number) as unknown, // its GMS transcript index (backends.md section 2)
    });
    const got = await files.download(serviceName, chat, sent.fileId, 1_000_000);
    expect(got.mediaType).toBe("application/pdf");
    expect(got.name).toBe("bill.pdf");
    expect(sha(got.content)).toBe(sha(content));
  });

  it("a download larger than the bound is refused, an unknown file is an error", async () => {
    const { serviceName, chat, simChat } = await openChat();
    const sent = simChat.agentSendFile({ name: "x.png", mediaType: "image/png", content: randomBytes(20_000) });
    await expect(files.download(serviceName, chat, sent.fileId, 10_000)).rejects.toThrow(/larger than 10000/);
    await expect(files.download(serviceName, chat, "00F0NOPE", 10_000)).rejects.toThrow(/statusCode 2/);
  });
});
