// A callback booking in flight when the router is killed (backends.md section
// 2c; design.md rule 2, "never twice"): a real router process (node
// src/main.ts) on the private Prosody and a PostgreSQL database gets SIGKILL
// after GMS booked the callback but before it answered (the simulator books
// at once and answers late), so the book_callback job outlives the booking.
// The restarted router runs the job again: it finds the booking by its marker
// (Query Callback by Properties) instead of booking again; GMS has one
// callback, and the user hears ROUTER_CALLBACK_REGISTERED#0001 once.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGmsSimulator, type GmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { createPgTestDatabase, skipPg, type TestDatabase } from "../support/db.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { freePort } from "./harness/free-port.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatNotice, chatText, isNotice, readX, v2Thread } from "./support/eime.js";
import { testDirectory } from "./support/router.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const ALICE = "393475551111";

let prosody: Prosody;
let database: TestDatabase;
let sim: GmsSimulator;
let bot: SampleBot;
let tmp: string;
let alice: TestClient;
let routerPort: number;
const children = new Set<ChildProcess>();

interface Router {
  child: ChildProcess;
  log: () => string;
}

/** The router as production runs it; the same instanceId each time, so a restart takes its rows back at once. */
function startRouter(): Router {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--config", join(tmp, "router.json")], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return { child, log: () => out };
}

async function untilReady(r: Router, boundMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${routerPort}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
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
  prosody = await startProsody({ users: [{ username: ALICE, password: "a" }] });
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  bot = await startSampleBot();
  if (!skipPg) database = await createPgTestDatabase();
  tmp = mkdtempSync(join(tmpdir(), "eime-callback-kill-"));
  routerPort = await freePort();
  const directory = testDirectory(bot.url);
  directory.items.push({
    address: "richiami",
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: { name: "Richiami", status: "", imageUrl: "", thumbUrl: "" },
    route: {
      mode: "bot+operator",
      bot: { url: bot.url },
      genesys: { serviceName: "richiami-chat" },
      maxQueued: 0,
      callback: { serviceName: "richiami-cb" },
    },
  });
  writeFileSync(join(tmp, "directory.json"), JSON.stringify(directory));
  writeFileSync(
    join(tmp, "router.json"),
    JSON.stringify({
      instanceId: "router-callback",
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
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(skipPg)("a callback booking in flight when the router is killed", () => {
  it("is booked once: the restarted router finds the booking at GMS and tells the user", async () => {
    const first = startRouter();
    await untilReady(first, 60_000);
    const to = `richiami@${prosody.componentDomain}`;
    const thread = v2Thread(ALICE, "Kill");
    const data = { apiVersion: 2.1, os: "android", appVersion: "1", premium: false };
    await alice.send(chatText("voglio un operatore", data, { to, thread }));
    const full = readX(await alice.waitFor(isNotice("ROUTER_QUEUE_FULL#0001"), 15_000))!;
    expect(full.payload.data).toMatchObject({ callbackOffered: true });

    // GMS books at once and answers 3 s later, long after the router is gone.
    sim.callbacks.inject({ kind: { delayMs: 3_000 } });
    const registered = alice.collect(isNotice("ROUTER_CALLBACK_REGISTERED#0001"));
    await alice.send(chatNotice("ROUTER_CALLBACK_REQUEST#0001", data, { to, thread }));
    const t0 = Date.now();
    while (sim.callbacks.list().length === 0) {
      if (Date.now() - t0 > 15_000) throw new Error(`no callback reached GMS:\n${first.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill("SIGKILL");
    expect(registered.items).toHaveLength(0);

    const second = startRouter();
    await untilReady(second, 60_000);
    await registered.until(1, 20_000).catch((err: unknown) => {
      throw new Error(`no ROUTER_CALLBACK_REGISTERED#0001 after the restart (${String(err)}):\n${second.log().slice(-3000)}`);
    });
    await new Promise((r) => setTimeout(r, 1_000)); // time for a wrong second booking or notice to show
    expect(sim.callbacks.list()).toHaveLength(1);
    expect(sim.callbacks.list()[0]).toMatchObject({ _service_name: "richiami-cb", _customer_number: ALICE });
    expect(registered.items).toHaveLength(1);
    // The number went to GMS only: not into the router's log.
    expect(first.log() + second.log()).not.toContain(ALICE);
    second.child.kill("SIGTERM");
  }, 180_000);
});
