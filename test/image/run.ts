// The image as an operator runs it (scripts/test-image.sh builds it, then
// runs `npx tsx test/image/run.ts IMAGE`). Always --network host, every
// listener on 127.0.0.1: test traffic stays on loopback.
//   1. PostgreSQL: a fresh database, a private Prosody, the sample bot; the
//      container's HEALTHCHECK reports healthy; one conversation with a real
//      XMPP client; `docker stop` (SIGTERM) → exit code 0 and "router stopped".
//   2. PGlite on a named volume: a directory edit and a conversation, a
//      restart, both still there (admin API), and the CLI of the image reads
//      the same volume.
// Everything it starts is removed in `finally`; it prints each step with its time.
import { execFile } from "node:child_process";
import type { Element } from "@xmpp/xml";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "../e2e/harness/client.js";
import { freePorts } from "../e2e/harness/free-port.js";
import { startProsody, type Prosody } from "../e2e/harness/prosody.js";
import { chatText, isX, readX, v2Thread } from "../e2e/support/eime.js";
import { testDirectory } from "../e2e/support/router.js";
import { createPgTestDatabase, type TestDatabase } from "../support/db.js";

const exec = promisify(execFile);
const image = process.argv[2] ?? "";
if (!image) throw new Error("usage: tsx test/image/run.ts IMAGE");

const RUN = `eime-image-${randomBytes(4).toString("hex")}`;
const ADMIN_TOKEN = "image-test-admin-token";
// NODE_ENV=production (the image's) requires a key: secrets at rest, MSISDN hashes. One per run, kept across the restart.
const SECRET_KEY = randomBytes(32).toString("base64");
const ALICE = "393471111111";
const started = Date.now();
const step = (text: string) => console.log(`test-image: [${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec("docker", args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`FAILED: ${what}`);
  step(`ok: ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A container's log, both streams (the router writes config errors to stderr). */
async function containerLog(name: string, tail = "30"): Promise<string> {
  const { stdout, stderr } = await exec("docker", ["logs", "--tail", tail, name], { maxBuffer: 64 * 1024 * 1024 });
  return `${stdout}${stderr}`.trim();
}

/** Polls the container's health status (the image's own HEALTHCHECK) until healthy. */
async function waitHealthy(name: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await docker("inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", name);
    if (status === "running healthy") return;
    if (!status.startsWith("running"))
      throw new Error(
        `${name} is ${status}, exit code ${await docker("inspect", "-f", "{{.State.ExitCode}}", name)}:\n${await containerLog(name).catch(String)}`,
      );
    if (Date.now() > deadline)
      throw new Error(`${name} not healthy within ${timeoutMs} ms (${status}):\n${await containerLog(name).catch(String)}`);
    await sleep(500);
  }
}

/** `docker stop` sends the image's STOPSIGNAL (SIGTERM); then the exit code and the last log line. */
async function stopCleanly(name: string): Promise<void> {
  const t0 = Date.now();
  await docker("stop", "-t", "20", name);
  const code = await docker("inspect", "-f", "{{.State.ExitCode}}", name);
  const log = await containerLog(name, "all");
  check(code === "0", `${name}: SIGTERM → exit code 0 (got ${code}) in ${Date.now() - t0} ms`);
  check(/"msg":"router stopped"/.test(log), `${name}: logged "router stopped"`);
}

async function admin(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
}

async function putDirectory(base: string, botUrl: string, what: string): Promise<void> {
  const res = await admin(base, "PUT", "/admin/directory", testDirectory(botUrl));
  check(res.status === 200, `${what} (${res.status}${res.status === 200 ? "" : ` ${JSON.stringify(res.json)}`})`);
}

/** One conversation: the user writes to the channel, the bot (through the router in the container) echoes it. */
async function converse(client: TestClient, domain: string, text: string): Promise<void> {
  const to = `supporto@${domain}`;
  await client.send(
    chatText(text, { apiVersion: 2, os: "android", appVersion: "0.4.65", premium: false }, { to, thread: v2Thread(ALICE) }),
  );
  const echo = (el: Element) => isX("chat_text", to)(el) && readX(el)!.payload.text === `Hai scritto: ${text}`;
  await client.waitFor(echo, 20_000, `the bot's echo of "${text}" from ${to}`);
  check(true, `a real client was answered through the container ("Hai scritto: ${text}")`);
}

interface Context {
  prosody: Prosody;
  bot: SampleBot;
  client: TestClient;
  env: string[];
}

function routerEnv(prosody: Prosody, httpPort: number): string[] {
  const vars: Record<string, string> = {
    EIME_XMPP_SERVICE: prosody.componentService,
    EIME_XMPP_DOMAIN: prosody.componentDomain,
    EIME_XMPP_SECRET: prosody.secret,
    EIME_USER_DOMAIN: prosody.userDomain,
    EIME_HTTP_HOST: "127.0.0.1",
    EIME_HTTP_PORT: String(httpPort),
    EIME_ADMIN_TOKEN: ADMIN_TOKEN,
    EIME_SECRET_KEY: SECRET_KEY,
    // The sample bot listens on loopback, a private target (operations.md EIME_ALLOW_PRIVATE_TARGETS).
    EIME_ALLOW_PRIVATE_TARGETS: "true",
  };
  return Object.entries(vars).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
}

async function onPostgres(ctx: Context, db: TestDatabase, httpPort: number): Promise<void> {
  const name = `${RUN}-pg`;
  // The container reaches the host's server over loopback (host network).
  const url = db.url.replace("@localhost:", "@127.0.0.1:");
  await docker("run", "-d", "--name", name, "--network", "host", ...ctx.env, "-e", `DATABASE_URL=${url}`, image);
  step(`started ${name} on PostgreSQL database ${db.name}`);
  await waitHealthy(name);
  step(`${name} healthy (HEALTHCHECK)`);
  const base = `http://127.0.0.1:${httpPort}`;
  await putDirectory(base, ctx.bot.url, "directory put through the admin API");
  await converse(ctx.client, ctx.prosody.componentDomain, "ciao dal container");
  await stopCleanly(name);
}

async function onPglite(ctx: Context, httpPort: number): Promise<void> {
  const name = `${RUN}-pglite`;
  const volume = `${RUN}-data`;
  await docker("volume", "create", volume);
  await docker("run", "-d", "--name", name, "--network", "host", ...ctx.env, "-v", `${volume}:/data`, image);
  step(`started ${name} with PGlite on volume ${volume}`);
  await waitHealthy(name);
  const base = `http://127.0.0.1:${httpPort}`;
  await putDirectory(base, ctx.bot.url, "directory put (PGlite)");
  await converse(ctx.client, ctx.prosody.componentDomain, "prima del riavvio");

  await stopCleanly(name);
  await docker("start", name);
  step(`restarted ${name}`);
  await waitHealthy(name);
  const channel = await admin(base, "GET", "/admin/channels/supporto");
  check(channel.status === 200, "after the restart the directory entry is still there");
  const listed = (await admin(base, "GET", "/admin/conversations")).json as { conversations: unknown[] };
  check(listed.conversations.length === 1, `after the restart the conversation is still there (${listed.conversations.length})`);
  await converse(ctx.client, ctx.prosody.componentDomain, "dopo il riavvio");
  await stopCleanly(name);

  // The admin CLI of the same image, on the same volume (the router is stopped: PGlite has one user at a time).
  const exported = await docker(
    "run",
    "--rm",
    "--network",
    "host",
    "-v",
    `${volume}:/data`,
    ...ctx.env,
    image,
    "node",
    "dist/main.js",
    "directory",
    "export",
    "-",
  );
  check(exported.includes('"address": "supporto"'), "`eime-router directory export -` in the image reads the volume");
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const prosody = await startProsody({ users: [{ username: ALICE, password: "a" }] });
    cleanups.push(() => prosody.stop());
    const bot = await startSampleBot({ host: "127.0.0.1" });
    cleanups.push(() => bot.stop());
    const db = await createPgTestDatabase();
    cleanups.push(() => db.drop());
    const client = await connectClient({ prosody, username: ALICE, password: "a", resource: "android-1" });
    cleanups.push(() => client.stop());
    // Run in reverse order: the containers go before their volume.
    cleanups.push(() => docker("volume", "rm", "-f", `${RUN}-data`).catch(() => undefined));
    cleanups.push(() => docker("rm", "-f", "-v", `${RUN}-pg`, `${RUN}-pglite`).catch(() => undefined));
    const [httpPort] = await freePorts(1);
    const ctx: Context = { prosody, bot, client, env: routerEnv(prosody, httpPort!) };
    step(`Prosody ${prosody.componentService}, sample bot ${bot.url}, HTTP 127.0.0.1:${httpPort}`);

    await onPostgres(ctx, db, httpPort!);
    await onPglite(ctx, httpPort!);
    step("all checks passed");
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => console.error("cleanup:", err));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
