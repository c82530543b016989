// The router under test as a child process, started the way an operator
// starts it (`node dist/main.js --config FILE`, the build of this checkout),
// so the suite can kill -9 it and can tell when it died by itself. Its
// stdout/stderr (the JSON log) go to a file.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const REPO = new URL("..", import.meta.url).pathname;
const MAIN = join(REPO, "dist", "main.js");

export interface RouterSettings {
  instanceId: string;
  xmpp: { service: string; domain: string; secret: string; userDomain: string; senderRateMessages?: number; standby?: boolean };
  databaseUrl: string;
  httpPort: number;
  seedFile: string;
  genesysUrl: string;
  genesysPollMs: number;
  outboxTakeoverMs?: number;
}

/**
 * The config file: only settings an operator would set, so the suite keeps
 * working while the config schema grows (defaults: config/default.json).
 */
export function writeRouterConfig(file: string, s: RouterSettings): void {
  const config = {
    instanceId: s.instanceId,
    xmpp: s.xmpp,
    database: { url: s.databaseUrl },
    http: { host: "127.0.0.1", port: s.httpPort },
    directory: { seedFile: s.seedFile },
    tokens: { verifier: "none" },
    genesys: { url: s.genesysUrl, pollIntervalMs: s.genesysPollMs },
    log: { level: "info" },
    ...(s.outboxTakeoverMs === undefined ? {} : { outbox: { takeoverMs: s.outboxTakeoverMs } }),
    // Every peer of the suite (bot, GMS simulator) is on loopback, which the URL policy refuses by default (docs/security.md).
    security: { allowPrivateTargets: true },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
}

export interface RouterProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when it exits: code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True while it runs. */
  alive(): boolean;
  /** True when it exited and the suite had not asked it to (neither kill9 nor stop). */
  diedByItself(): boolean;
  kill9(): Promise<void>;
  /** SIGTERM (a graceful stop), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export function ensureBuilt(): void {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (or drop --no-build)`);
}

export function startRouterProcess(configFile: string, logFile: string): RouterProcess {
  ensureBuilt();
  const fd = openSync(logFile, "a");
  const proc = spawn(process.execPath, [MAIN, "--config", configFile], { cwd: REPO, stdio: ["ignore", fd, fd], env: { ...process.env } });
  closeSync(fd);
  live.add(proc);
  let asked = false;
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once("exit", (code, signal) => {
      done = true;
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  return {
    pid: proc.pid!,
    logFile,
    exited,
    alive: () => !done,
    diedByItself: () => done && !asked,
    async kill9() {
      asked = true;
      if (!done) proc.kill("SIGKILL");
      await exited;
    },
    async stop(graceMs = 12_000) {
      asked = true;
      if (done) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** The last lines of the router's log that say why it stopped (fatal, error, an uncaught stack). */
export function deathNote(logFile: string, lines = 6): string {
  try {
    const all = readFileSync(logFile, "utf8").split("\n").filter(Boolean);
    const telling = all.filter((l) => /"level":(50|60)|Error|error:|at /.test(l));
    return (telling.length > 0 ? telling : all).slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Polls GET /health/ready until it answers 200; resolves with the ms it took,
 * or undefined when `timeoutMs` passed (or the router died meanwhile).
 */
export async function waitReady(httpPort: number, timeoutMs: number, router?: RouterProcess): Promise<number | undefined> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (router && !router.alive()) return undefined;
    if (await isReady(httpPort)) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

export async function isReady(httpPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/health/ready`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
