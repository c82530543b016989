// A user's file in flight to a GMS operator when the router is killed
// (issue 16; design.md rule 2, "never twice"): a real router process
// (node src/main.ts) on the private Prosody and a PostgreSQL database gets
// SIGKILL while GMS is storing the upload (the simulator answers it late), so
// the outbox row outlives the upload. The restarted router runs the job
// again: it finds its own upload in the transcript and uploads nothing twice;
// the agent has the file once, byte for byte, and the text once.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGmsSimulator, type GmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { createPgTestDatabase, skipPg, type TestDatabase } from "../support/db.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { freePort } from "./harness/free-port.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isNotice, v2Thread } from "./support/eime.js";
import { testDirectory } from "./support/router.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const ALICE = "393477777777";
const SERVICE = "files-kill";
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let prosody: Prosody;
let database: TestDatabase;
let sim: GmsSimulator;
let bot: SampleBot;
let share: Server;
let shareHost: string;
let tmp: string;
let alice: TestClient;
const shared = new Map<string, Buffer>();
const children = new Set<ChildProcess>();

interface Router {
  child: ChildProcess;
  port: number;
  log: () => string;
}

/** The router as production runs it; the same instanceId each time, so a restart takes its rows back at once. */
function startRouter(): Router {
  const configFile = join(tmp, "router.json");
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--config", configFile], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return { child, port: routerPort, log: () => out };
}

let routerPort: number;

async function untilReady(r: Router, boundMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${r.port}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
      async (res) => (await res.arrayBuffer(), res.status === 200),
      () => false,
    );
    if (ok) return;
    if (r.child.exitCode !== null) throw new Error(`router exited:\n${r.log().slice(-2000)}`);
    if (Date.now() - t0 > boundMs) throw new Error(`router not ready within ${boundMs} ms:\n${r.log().slice(-2000)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  share = createServer((req, res) => {
    const body = shared.get(req.url ?? "");
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "image/png" }).end(body);
  });
  await new Promise<void>((resolve) => share.listen(0, "127.0.0.1", resolve));
  shareHost = `127.0.0.1:${(share.address() as AddressInfo).port}`;
  prosody = await startProsody({ users: [{ username: ALICE, password: "a" }] });
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  bot = await startSampleBot();
  if (!skipPg) database = await createPgTestDatabase();
  tmp = mkdtempSync(join(tmpdir(), "eime-files-kill-"));
  routerPort = await freePort();
  writeFileSync(join(tmp, "directory.json"), JSON.stringify(testDirectory(bot.url, { genesysService: SERVICE })));
  writeFileSync(
    join(tmp, "router.json"),
    JSON.stringify({
      instanceId: "router-files",
      xmpp: {
        service: prosody.componentService,
        domain: prosody.componentDomain,
        secret: prosody.secret,
        userDomain: prosody.userDomain,
        standbyRetryMs: 300,
      },
      database: { url: skipPg ? "" : database.url, poolMax: 3 },
      http: { host: "127.0.0.1", port: routerPort },
      directory: { seedFile: join(tmp, "directory.json") },
      genesys: { url: sim.url, pollIntervalMs: 150, requestTimeoutMs: 10_000 },
      attachments: { allowedHosts: [shareHost] },
      security: { allowPrivateTargets: true },
      outbox: { pollIntervalMs: 100, backoffBaseMs: 200, backoffMaxMs: 1000 },
      log: { level: "info" },
    }),
  );
  alice = await connectClient({ prosody, username: ALICE, password: "a", resource: "android-1" });
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await alice?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
  await database?.drop();
  await new Promise((resolve) => share?.close(resolve));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skipPg)("a file in flight to a GMS operator when the router is killed", () => {
  it("is uploaded once: the restarted router finds its upload in the transcript", async () => {
    const first = startRouter();
    await untilReady(first, 60_000);
    const SUPPORTO = `supporto@${prosody.componentDomain}`;
    const thread = v2Thread(ALICE, "Kill");
    const data = (extra: Record<string, unknown> = {}) => ({ apiVersion: 2.1, os: "android", appVersion: "1", premium: false, ...extra });
    await alice.send(chatText("voglio un operatore", data(), { to: SUPPORTO, thread }));
    await alice.waitFor(isNotice("ROUTER_QUEUED#0001"), 15_000);
    const chat = await sim.waitForChat((c) => c.serviceName === SERVICE, 15_000);
    chat.agentJoin("Giulia");
    await alice.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001"), 15_000);

    // GMS stores the upload 2 s after it arrives, long after the router is gone.
    sim.inject({ op: "fileUpload", kind: { delayMs: 2_000 } });
    const content = randomBytes(64_000);
    shared.set("/share/k/modem.png", content);
    const attachment = { url: `http://${shareHost}/share/k/modem.png`, mediaType: "image/png", name: "modem.png" };
    await alice.send(chatText("ecco il modem", data({ attachment }), { to: SUPPORTO, thread }));
    const t0 = Date.now();
    while (!sim.requests.some((r) => r.op === "fileUpload")) {
      if (Date.now() - t0 > 15_000) throw new Error(`no upload reached GMS:\n${first.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill("SIGKILL");
    await sim.waitFor(chat.chatId, (c) => c.filesFromClient().length === 1, 10_000);

    const second = startRouter();
    await untilReady(second, 60_000);
    // The job ran again and counted the file as delivered, without a second upload.
    const t1 = Date.now();
    for (;;) {
      const text = await fetch(`http://127.0.0.1:${second.port}/metrics`).then((r) => r.text());
      if (text.includes('eime_attachments_total{direction="to_operator",outcome="delivered"} 1')) break;
      if (Date.now() - t1 > 20_000) throw new Error(`the file job did not run again:\n${second.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const files = sim.chat(chat.chatId).filesFromClient();
    expect(files).toHaveLength(1);
    expect(files[0]!.sha256).toBe(sha(content));
    expect(sim.requests.filter((r) => r.op === "fileUpload")).toHaveLength(1);
    expect(
      sim
        .chat(chat.chatId)
        .clientMessages()
        .filter((m) => m.text === "ecco il modem"),
    ).toHaveLength(1);
    second.child.kill("SIGTERM");
  }, 180_000);
});
