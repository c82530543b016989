// `npm run bench`: the router's full path against the bare-component ceiling
// on the same private Prosody (issue 9; docs/performance.md has the figures).
//
// One run: a private Prosody (test/e2e/harness), N real clients logged in
// with PLAIN (usernames are MSISDNs), the sample bot in its own process, then
//   1. ceiling: a bare echo component (bench/echo-component.ts) on the
//      component domain;
//   2. the router (bench/router-child.ts: loadConfig → buildApp → start, in
//      its own process) on the same domain, once on a fresh PostgreSQL
//      database and once on PGlite in memory.
// Each phase: throughput with `--inflight` messages in flight (closed loop),
// then send→reply latency at a fixed rate of half the ceiling's throughput
// (open loop). The router is also measured at half its own throughput, and
// the ceiling again at that same rate, for the latency the router adds at a
// load it sustains. Then the conversations scenario: 100 → 10,000 open
// conversations, router CPU per message and memory per conversation. The
// runs at half the ceiling's throughput overload the router here, so they
// come last, each on a fresh router. One table at the end.
// All of it on Prosody, then again on ejabberd (issue 14), where two router
// instances also run side by side on one PostgreSQL database (no
// domain_balancing: each stanza goes to a random connection). Every pg router
// phase reports database commits per message (pg_stat_database xact_commit),
// every router phase each router's own event-loop lag.
//
//   npm run bench [-- --quick] [--clients 50] [--seconds 10] [--warmup 3] [--inflight 100]
//                 [--db pg,pglite] [--pg-url postgres://postgres@127.0.0.1:5432/postgres]
//                 [--scenario all|table|conversations] [--conversations 100,1000,10000]
//                 [--conversations-db pg|pglite] [--timeout 10] [--wait-quiet SECONDS]
//                 [--server prosody,ejabberd] [--pair pg|none]  two routers on ejabberd sharing one database
//                 [--group-commit on|off]  off: every conversation step in its own transaction (the comparison)
//                 [--nodelay]           TCP_NODELAY on every XMPP socket (xmpp.js leaves Nagle on; experiment)
//                 [--cpu-prof]          V8 CPU profile of the router during each closed-loop window
//                 [--cpu-prof-process]  node --cpu-prof on the whole router process (start to stop)
import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import type { Element } from "@xmpp/xml";
import { connectClient, type TestClient } from "../test/e2e/harness/client.js";
import { startEjabberd } from "../test/e2e/harness/ejabberd.js";
import type { PrivateServer } from "../test/e2e/harness/private-server.js";
import { startProsody } from "../test/e2e/harness/prosody.js";
import { closedLoop, type Conv, Hub, latencySummary, type LoopResult, oneEach, openLoop, sleep } from "./load.js";
import { checkServer, countInbound, countStored, createDatabase, dropAll, xactCommits, type BenchDatabase } from "./pg.js";
import {
  benchFile,
  type Child,
  noDelay,
  cpuOfCommand,
  descendantNamed,
  loadLine,
  logTail,
  machineBusySeconds,
  procSample,
  selfCpuSeconds,
  startChild,
  threadCpuSeconds,
} from "./proc.js";
import { summarizeProfile } from "./profile-summary.js";
import { conv, echoTarget, msisdnOf, routerTarget } from "./targets.js";

// ---------------------------------------------------------------- options

const { values: argv } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    clients: { type: "string" },
    inflight: { type: "string", default: "100" },
    seconds: { type: "string" },
    warmup: { type: "string" },
    timeout: { type: "string", default: "10" },
    db: { type: "string", default: "pg,pglite" },
    "pg-url": { type: "string", default: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    scenario: { type: "string", default: "all" },
    conversations: { type: "string" },
    "conversations-db": { type: "string", default: "pg" },
    "cpu-prof": { type: "boolean", default: false },
    "cpu-prof-process": { type: "boolean", default: false },
    "wait-quiet": { type: "string", default: "0" },
    nodelay: { type: "boolean", default: false },
    server: { type: "string", default: "prosody,ejabberd" },
    pair: { type: "string", default: "pg" },
    "group-commit": { type: "string", default: "on" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (argv.help) {
  const lines = readFileSync(new URL(import.meta.url), "utf8").split("\n");
  console.log(
    lines
      .slice(
        0,
        lines.findIndex((l) => !l.startsWith("//")),
      )
      .map((l) => l.slice(3))
      .join("\n"),
  );
  process.exit(0);
}

const num = (v: string | undefined, fallback: number, name: string): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${v}`);
  return n;
};
const quick = argv.quick;
type ServerKind = "prosody" | "ejabberd";
/** The XMPP server under test (the harness's Prosody or ejabberd) and which one it is. */
type XmppServer = PrivateServer & { kind: ServerKind };
const opts = {
  clients: Math.round(num(argv.clients, quick ? 10 : 50, "clients")),
  inflight: Math.round(num(argv.inflight, 100, "inflight")),
  seconds: num(argv.seconds, quick ? 3 : 10, "seconds"),
  warmup: num(argv.warmup, quick ? 1 : 3, "warmup"),
  timeoutMs: num(argv.timeout, 10, "timeout") * 1000,
  dbs: argv.db
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean) as ("pg" | "pglite")[],
  pgUrl: argv["pg-url"],
  scenario: argv.scenario as "all" | "table" | "conversations",
  checkpoints: (argv.conversations ?? (quick ? "100,1000" : "100,1000,10000"))
    .split(",")
    .map((s) => Math.round(num(s, 0, "conversations"))),
  conversationsDb: argv["conversations-db"] as "pg" | "pglite",
  cpuProf: argv["cpu-prof"],
  cpuProfProcess: argv["cpu-prof-process"],
  waitQuietS: Number(argv["wait-quiet"]) || 0,
  nodelay: argv.nodelay,
  servers: argv.server
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean) as ServerKind[],
  pair: argv.pair === "pg",
};
for (const k of opts.servers) if (k !== "prosody" && k !== "ejabberd") throw new Error(`--server: prosody or ejabberd, not ${String(k)}`);
if (argv.pair !== "pg" && argv.pair !== "none") throw new Error(`--pair: pg or none, not ${argv.pair}`);
if (argv["group-commit"] !== "on" && argv["group-commit"] !== "off")
  throw new Error(`--group-commit: on or off, not ${argv["group-commit"]}`);
// The router children read it (bench/router-child.ts): off writes every step in its own transaction.
process.env["BENCH_GROUP_COMMIT"] = argv["group-commit"];
// Children read it from the environment they inherit.
if (opts.nodelay) process.env.BENCH_NODELAY = "1";
for (const d of [...opts.dbs, opts.conversationsDb])
  if (d !== "pg" && d !== "pglite") throw new Error(`--db: pg or pglite, not ${String(d)}`);
if (!["all", "table", "conversations"].includes(opts.scenario))
  throw new Error(`--scenario: all, table or conversations, not ${opts.scenario}`);
const runTable = opts.scenario !== "conversations";
const runConversations = opts.scenario !== "table";

const workDir = mkdtempSync(join(tmpdir(), "eime-bench-"));
const profileDir = benchFile("profiles");
const profileRuns: string[] = [];
const profileFiles: string[] = [];
/** This process's event-loop delay: if the load generator itself lags, latencies include it. */
const selfLoopDelay = monitorEventLoopDelay({ resolution: 10 });
selfLoopDelay.enable();
const log = (s: string) => {
  const line = `[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`;
  process.stderr.write(line);
  appendFileSync(join(workDir, "bench.log"), line);
};

// ---------------------------------------------------------------- accounting

interface Snapshot {
  t: number;
  machine: number;
  self: number;
  procs: Record<string, number>;
  sys: Record<string, number>;
  postgres: number;
}

function snapshot(pids: Record<string, number | undefined>, withPostgres: boolean): Snapshot {
  const procs: Record<string, number> = {};
  const sys: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    if (!pid) continue;
    const p = procSample(pid);
    procs[name] = p?.cpuSeconds ?? 0;
    sys[name] = p?.systemSeconds ?? 0;
  }
  return {
    t: performance.now(),
    machine: machineBusySeconds(),
    self: selfCpuSeconds(),
    procs,
    sys,
    postgres: withPostgres ? cpuOfCommand("postgres") : 0,
  };
}

/** CPU seconds per process (and the machine) between two snapshots. */
interface CpuUse {
  seconds: number;
  /** CPU seconds per process name ("machine": all cores, every process). */
  cpu: Record<string, number>;
  /** Of which system time (kernel), for the processes read from /proc. */
  sys: Record<string, number>;
}

function cpuBetween(a: Snapshot, b: Snapshot): CpuUse {
  const cpu: Record<string, number> = {};
  const sys: Record<string, number> = {};
  for (const name of Object.keys(b.procs)) {
    cpu[name] = (b.procs[name] ?? 0) - (a.procs[name] ?? 0);
    sys[name] = (b.sys[name] ?? 0) - (a.sys[name] ?? 0);
  }
  cpu.clients = b.self - a.self;
  if (b.postgres > 0) cpu.postgres = b.postgres - a.postgres;
  cpu.machine = b.machine - a.machine;
  return { seconds: (b.t - a.t) / 1000, cpu, sys };
}

/** Cores used by processes outside the benchmark (other work on the machine). */
function otherCores(c: CpuUse): number {
  const ours = Object.entries(c.cpu)
    .filter(([k]) => k !== "machine")
    .reduce((s, [, v]) => s + v, 0);
  return Math.max(0, (c.cpu.machine ?? 0) - ours) / c.seconds;
}

function describeCpu(c: CpuUse): string {
  const parts = Object.entries(c.cpu)
    .filter(([k]) => k !== "machine")
    .map(([k, v]) => `${k} ${(v / c.seconds).toFixed(2)}`);
  return `${parts.join(", ")}, other processes ${otherCores(c).toFixed(2)}; machine ${((c.cpu.machine ?? 0) / c.seconds).toFixed(2)} of ${cpus().length} cores`;
}

// ---------------------------------------------------------------- results

interface PhaseResult {
  name: string;
  closed: LoopResult;
  closedCpu: CpuUse;
  /** At half the ceiling's throughput. */
  open: LoopResult & { sendRate: number; otherCores?: number };
  openRate: number;
  /** At half of this phase's own throughput (router only). */
  ownHalf?: LoopResult & { sendRate: number; componentMicrosPerMsg?: number; otherCores?: number };
  /** The component process (echo or router): RSS at the end of the closed window, CPU s per 1,000 replies. */
  rssBytes: number;
  cpuPer1k: number;
  notes: string[];
}

const fmt = (v: number, digits = 1) => (Number.isNaN(v) ? "n/a" : v === Number.POSITIVE_INFINITY ? "timeout" : v.toFixed(digits));
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a");

function table(rows: PhaseResult[]): string {
  const ceiling = rows.find((r) => r.name === "ceiling");
  const head = [
    "",
    "msgs/s",
    "×ceil",
    "p50 ms",
    "×ceil",
    "p95 ms",
    "×ceil",
    "p99 ms",
    "×ceil",
    "+p99 ms",
    "RSS MB",
    "CPU s/1k msgs",
    "other cores",
  ];
  // "other cores": CPU used by processes outside the benchmark, closed loop / open loop (noise when > 0.1).
  const lines = [head];
  for (const r of rows) {
    const l = latencySummary(r.open.latencies);
    const c = ceiling ? latencySummary(ceiling.open.latencies) : undefined;
    const isCeil = r === ceiling;
    lines.push([
      r.name,
      fmt(r.closed.rate, 0),
      isCeil || !ceiling ? "" : ratio(r.closed.rate, ceiling.closed.rate),
      fmt(l.p50, 2),
      isCeil || !c ? "" : ratio(l.p50, c.p50),
      fmt(l.p95, 2),
      isCeil || !c ? "" : ratio(l.p95, c.p95),
      fmt(l.p99, 2),
      isCeil || !c ? "" : ratio(l.p99, c.p99),
      isCeil || !c ? "" : Number.isFinite(l.p99) ? (l.p99 - c.p99).toFixed(2) : "timeout",
      (r.rssBytes / 2 ** 20).toFixed(0),
      r.cpuPer1k.toFixed(3),
      `${otherCores(r.closedCpu).toFixed(2)}/${r.open.otherCores?.toFixed(2) ?? "?"}`,
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const out = lines.map((l) => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return out.join("\n");
}

// ---------------------------------------------------------------- setup

let xmpp: XmppServer | undefined;
const clients: TestClient[] = [];
let bot: Child | undefined;
const children = new Set<Child>();
const hub = new Hub();
hub.timeoutMs = opts.timeoutMs;

async function cleanup(): Promise<void> {
  hub.stop();
  for (const c of children) await c.stop(5000).catch(() => undefined);
  await Promise.all(clients.map((c) => c.stop()));
  await bot?.stop(5000).catch(() => undefined);
  await xmpp?.stop().catch(() => undefined);
  await dropAll();
}

let interrupted = false;
process.once("SIGINT", () => {
  interrupted = true;
  log("interrupted: cleaning up");
  void cleanup().finally(() => process.exit(130));
});

async function startBot(): Promise<{ child: Child; url: string }> {
  const child = startChild(benchFile("bot-child.ts"), [], { logFile: join(workDir, "bot.log") });
  const ready = await child.next<{ type: string; url: string }>("ready", 30_000);
  return { child, url: ready.url };
}

async function startEcho(p: XmppServer): Promise<Child> {
  const child = startChild(benchFile("echo-component.ts"), [p.componentService, p.componentDomain, p.secret], {
    logFile: join(workDir, "echo.log"),
  });
  children.add(child);
  await child.next("ready", 15_000);
  return child;
}

interface RouterRun {
  child: Child;
  db?: BenchDatabase;
  engine: string;
  /** Stops the router; `beforeDrop` runs once it is gone, before its database is dropped. */
  stop(beforeDrop?: (db: BenchDatabase) => Promise<void>): Promise<void>;
}

/** A router on a fresh database, or on `shared` (then its stop() leaves the database to the caller). */
async function startRouter(
  p: XmppServer,
  botUrl: string,
  engine: "pg" | "pglite",
  tag: string,
  shared?: BenchDatabase,
): Promise<RouterRun> {
  const db = shared ?? (engine === "pg" ? await createDatabase(opts.pgUrl) : undefined);
  const ownsDb = !shared;
  const config = {
    instanceId: `bench-${tag}`,
    xmpp: {
      service: p.componentService,
      domain: p.componentDomain,
      secret: p.secret,
      userDomain: p.userDomain,
      outboundQueueLimit: 1_000_000,
      // ejabberd without domain_balancing takes every instance's connection (issue 19); Prosody one per domain.
      standby: p.kind !== "ejabberd",
      // A load generator's user sends hundreds of messages a second: the per-sender bounds (fair-share.ts) are for people.
      senderRateMessages: 0,
      senderShare: 1,
    },
    database: db ? { url: db.url } : { dataDir: "memory://" },
    http: { port: 0 },
    tokens: { verifier: "none" },
    // The conversations scenario opens up to 10,000 over 50 clients: the per-user limit (issue 13) is for people.
    security: { maxOpenConversationsPerUser: 1_000_000 },
    log: { level: "warn" },
  };
  const configFile = join(workDir, `router-${tag}.json`);
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const nodeArgs = ["--expose-gc"];
  if (opts.cpuProfProcess) {
    // One directory per run: node writes one profile per thread (tsx's loader runs in a worker thread).
    const dir = join(profileDir, `router-${tag}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    mkdirSync(dir, { recursive: true });
    profileRuns.push(dir);
    nodeArgs.push("--cpu-prof", "--cpu-prof-dir", dir);
  }
  // The previous component on the domain may still be closing: Prosody refuses a second one (conflict).
  for (let attempt = 1; ; attempt++) {
    const logFile = join(workDir, `router-${tag}.log`);
    const child = startChild(benchFile("router-child.ts"), [configFile, botUrl], { logFile, nodeArgs });
    try {
      const ready = await child.next<{ type: string; engine: string }>("ready", 60_000);
      children.add(child);
      return {
        child,
        db,
        engine: ready.engine,
        async stop(beforeDrop) {
          await child.stop(20_000);
          children.delete(child);
          if (db && beforeDrop) await beforeDrop(db).catch((err: Error) => log(`after stop: ${err.message}`));
          if (ownsDb) await db?.drop();
        },
      };
    } catch (err) {
      child.kill();
      if (attempt < 3 && /conflict/.test(logTail(logFile, 5))) {
        log(`router ${tag}: domain still held by the previous component; retrying in 1 s`);
        await sleep(1000);
        continue;
      }
      if (ownsDb) await db?.drop();
      throw err;
    }
  }
}

/** The process doing the XMPP server's work: Prosody itself, or ejabberd's Erlang VM (beam.smp) under ejabberdctl. */
function serverCpuPid(p: XmppServer): number {
  return (p.kind === "ejabberd" ? descendantNamed(p.pid!, "beam.smp") : undefined) ?? p.pid!;
}

/** The XMPP server's CPU, under its name, for the phase's accounting. */
function serverPids(p: XmppServer): Record<string, number> {
  return { [p.kind]: serverCpuPid(p) };
}

/**
 * Waits (at most 30 s) until the XMPP server is idle: after an overload it keeps
 * delivering or bouncing the backlog for a while, which would be charged to
 * the next phase.
 */
async function settle(p: XmppServer, what: string): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const pid = serverCpuPid(p);
    const a = procSample(pid)?.cpuSeconds ?? 0;
    const late = hub.late;
    await sleep(1000);
    const busy = (procSample(pid)?.cpuSeconds ?? 0) - a;
    if ((busy < 0.05 && hub.late === late) || performance.now() - t0 > 30_000) {
      const waited = (performance.now() - t0) / 1000;
      if (waited > 1.5) log(`${what}: waited ${waited.toFixed(0)} s for Prosody to settle (${busy > 0.05 ? "still busy" : "idle"})`);
      return;
    }
  }
}

function outcomeNotes(name: string, r: LoopResult): string[] {
  const notes: string[] = [];
  if (r.timeouts || r.errors || r.lost)
    notes.push(`${name}: ${r.timeouts} timeouts (> ${opts.timeoutMs / 1000} s), ${r.errors} errors, ${r.lost} unanswered after the drain`);
  return notes;
}

// ---------------------------------------------------------------- phases

/** Runs beside a closed loop: start() and end() at the window's edges (synchronous), stop() after the drain. */
interface Hook {
  start(): void;
  end?(): void;
  stop(): Promise<void>;
}

type Lag = { type: string; p50: number; p99: number; max: number };
const lagText = (l: Lag) => `p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`;

/** Each router's own event-loop lag (monitorEventLoopDelay in the router process) over a window. */
function lagHook(name: string, routers: Child[], out: (line: string) => void): Hook {
  let reading: Promise<Lag[]> | undefined;
  return {
    start: () => {
      for (const r of routers) r.proc.send({ cmd: "lagReset" });
    },
    end: () => {
      reading = Promise.all(routers.map((r) => r.request<Lag>("loop", {}, 10_000)));
    },
    stop: async () => {
      const lags = await reading!;
      out(`${name}: router event-loop lag: ${lags.map((l, i) => (routers.length > 1 ? `router ${i + 1} ` : "") + lagText(l)).join("; ")}`);
    },
  };
}

/** Database commits per reply over the window: pg_stat_database's xact_commit delta, and what the routers counted sending. */
function commitHook(name: string, db: BenchDatabase, routers: Child[], replies: () => number, out: (line: string) => void): Hook {
  let c0: Promise<number> | undefined;
  let c1: Promise<number> | undefined;
  return {
    start: () => {
      c0 = xactCommits(opts.pgUrl, db.name);
      for (const r of routers) r.proc.send({ cmd: "queriesReset" });
    },
    end: () => {
      c1 = xactCommits(opts.pgUrl, db.name);
    },
    stop: async () => {
      const [a, b] = await Promise.all([c0!, c1!]);
      const counted = await Promise.all(routers.map((r) => r.request<{ type: string; commits: number }>("queries", {}, 10_000)));
      const n = Math.max(1, replies());
      const sent = counted.reduce((x, c) => x + c.commits, 0);
      out(
        `${name}: database commits per message ${((b - a) / n).toFixed(2)} (pg_stat_database xact_commit +${b - a} over ${n} replies; ` +
          `${(sent / n).toFixed(2)} counted in the router${routers.length > 1 ? "s" : ""} up to the drain)`,
      );
    },
  };
}

/** The closed loop, then the open loop at `openRate`; CPU per process during the closed window. */
async function measure(
  name: string,
  convs: Conv[],
  pids: Record<string, number | undefined>,
  componentPid: number,
  withPostgres: boolean,
  openRate: number | undefined,
  hooks: Hook[] = [],
  onClosed?: (r: LoopResult) => void,
): Promise<Omit<PhaseResult, "open" | "openRate"> & { open?: PhaseResult["open"] }> {
  let a: Snapshot | undefined;
  let b: Snapshot | undefined;
  let rss = 0;
  log(`${name}: closed loop, ${opts.inflight} in flight over ${convs.length} conversations, ${opts.warmup} s warm-up + ${opts.seconds} s`);
  const closed = await closedLoop(
    hub,
    convs,
    {
      inflight: opts.inflight,
      warmupMs: opts.warmup * 1000,
      measureMs: opts.seconds * 1000,
      drainMs: opts.timeoutMs + 2000,
      spread: "fixed",
    },
    {
      start: () => {
        for (const h of hooks) h.start();
        a = snapshot(pids, withPostgres);
      },
      end: () => {
        b = snapshot(pids, withPostgres);
        rss = procSample(componentPid)?.rss ?? 0;
        for (const h of hooks) h.end?.();
      },
    },
  );
  onClosed?.(closed);
  for (const h of hooks) await h.stop();
  const closedCpu = cpuBetween(a!, b!);
  const componentCpu = closedCpu.cpu.component ?? 0;
  log(
    `${name}: ${closed.rate.toFixed(0)} msgs/s (${closed.replies} replies in ${(closed.windowMs / 1000).toFixed(1)} s); ` +
      `component ${((componentCpu / Math.max(1, closed.replies)) * 1e6).toFixed(0)} µs CPU/msg (${(((closedCpu.sys.component ?? 0) / Math.max(1e-9, componentCpu)) * 100).toFixed(0)}% in the kernel); CPU cores: ${describeCpu(closedCpu)}`,
  );
  const notes = outcomeNotes(`${name} closed loop`, closed);
  let open: PhaseResult["open"] | undefined;
  if (openRate !== undefined) open = await measureOpen(name, convs, openRate, pids, withPostgres);
  return {
    name,
    closed,
    closedCpu,
    open,
    rssBytes: rss,
    cpuPer1k: closed.replies > 0 ? (componentCpu / closed.replies) * 1000 : Number.NaN,
    notes,
  };
}

type OpenResult = PhaseResult["open"] & { componentMicrosPerMsg?: number; otherCores?: number; routerLag?: string };

/** The open loop at `rate`; `pids` (with `component`) are charged for the window's CPU. */
async function measureOpen(
  name: string,
  convs: Conv[],
  rate: number,
  pids: Record<string, number | undefined> = {},
  withPostgres = false,
  routers: Child[] = [],
): Promise<OpenResult> {
  let routerLag: string | undefined;
  const lag0 = lagHook(name, routers, (l) => (routerLag = l));
  log(`${name}: open loop at ${rate.toFixed(0)} msgs/s, ${opts.warmup} s warm-up + ${opts.seconds} s`);
  let a: Snapshot | undefined;
  let b: Snapshot | undefined;
  let lag = "";
  const r = await openLoop(
    hub,
    convs,
    { rate, warmupMs: opts.warmup * 1000, measureMs: opts.seconds * 1000, drainMs: opts.timeoutMs + 2000 },
    {
      start: () => {
        a = snapshot(pids, withPostgres);
        selfLoopDelay.reset();
        if (routers.length > 0) lag0.start();
      },
      end: () => {
        if (routers.length > 0) lag0.end!();
        b = snapshot(pids, withPostgres);
        const l = (ns: number) => Math.max(0, ns / 1e6 - 10).toFixed(1);
        lag = `load generator event-loop lag p99 ${l(selfLoopDelay.percentile(99))} ms, max ${l(selfLoopDelay.max)} ms`;
      },
    },
  );
  if (routers.length > 0) {
    await lag0.stop();
    log(routerLag!);
  }
  const l = latencySummary(r.latencies);
  // CPU of the window per message sent in it (at a sustainable rate every one is answered).
  const cpu = cpuBetween(a!, b!);
  const componentMicrosPerMsg = pids.component && r.sent > 0 ? ((cpu.cpu.component ?? 0) / r.sent) * 1e6 : undefined;
  const other = otherCores(cpu);
  log(
    `${name}: sent ${r.sendRate.toFixed(0)}/s, answered ${r.rate.toFixed(0)}/s; p50 ${fmt(l.p50, 2)} p95 ${fmt(l.p95, 2)} p99 ${fmt(l.p99, 2)} ms` +
      (componentMicrosPerMsg !== undefined ? `; component ${componentMicrosPerMsg.toFixed(0)} µs CPU per message sent` : "") +
      `; ${lag}; other processes ${other.toFixed(2)} cores` +
      (r.timeouts || r.errors || r.lost ? `; ${r.timeouts} timeouts, ${r.errors} errors, ${r.lost} lost` : ""),
  );
  return { ...r, componentMicrosPerMsg, otherCores: other, routerLag };
}

/** The conversations the throughput phases use: `inflight` of them, spread over the clients (titles s0, s1, …). */
function phaseConvs(): Conv[] {
  const out: Conv[] = [];
  for (let k = 0; k < opts.inflight; k++) {
    const i = k % clients.length;
    out.push(conv(clients[i]!, msisdnOf(i), k, `s${Math.floor(k / clients.length)}`));
  }
  return out;
}

function logProblems(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const lines = text.split("\n").filter((l) => l.startsWith("{"));
  const byMsg = new Map<string, number>();
  for (const l of lines) {
    try {
      const j = JSON.parse(l) as { level: number; msg: string; module?: string };
      if (j.level < 40) continue;
      const key = `${j.level >= 50 ? "ERROR" : "WARN"} [${j.module ?? "?"}] ${j.msg}`;
      byMsg.set(key, (byMsg.get(key) ?? 0) + 1);
    } catch {
      /* not pino */
    }
  }
  const other = text.split("\n").filter((l) => l !== "" && !l.startsWith("{"));
  return [...[...byMsg].map(([k, n]) => `${n}× ${k}`), ...other.slice(0, 5).map((l) => `stderr: ${l.slice(0, 200)}`)];
}

async function ceilingPhase(p: XmppServer, botPid: number | undefined): Promise<PhaseResult> {
  await settle(p, "ceiling");
  const echo = await startEcho(p);
  hub.target = echoTarget(p.componentDomain);
  const convs = phaseConvs();
  const pids = { ...serverPids(p), component: echo.pid, bot: botPid };
  const m = await measure("ceiling", convs, pids, echo.pid, false, undefined);
  const openRate = m.closed.rate / 2;
  const open = await measureOpen("ceiling", convs, openRate, pids);
  await echo.stop();
  children.delete(echo);
  return { ...m, open, openRate, notes: [...m.notes, ...outcomeNotes("ceiling open loop", open)] };
}

type Sustained = Omit<PhaseResult, "open" | "openRate">;

/** The router's closed loop and its open loop at half its own throughput (a load it sustains). */
async function routerPhase(p: XmppServer, botUrl: string, botPid: number, engine: "pg" | "pglite"): Promise<Sustained> {
  const name = `router-${engine}`;
  await settle(p, name);
  log(`${name}: starting the router (${engine === "pg" ? "fresh PostgreSQL database" : "PGlite in memory"})`);
  const t0 = performance.now();
  const router = await startRouter(p, botUrl, engine, engine);
  log(
    `${name}: router ready in ${((performance.now() - t0) / 1000).toFixed(1)} s (pid ${router.child.pid}${router.db ? `, database ${router.db.name}` : ""})`,
  );
  try {
    hub.target = routerTarget(p.componentDomain, name);
    const convs = phaseConvs();
    // The first message of a conversation gets a greeting and the echo: open them all first.
    const opened = await oneEach(hub, convs, opts.inflight, opts.timeoutMs + 2000);
    log(
      `${name}: ${opened.ok}/${convs.length} conversations opened in ${(opened.ms / 1000).toFixed(1)} s` +
        (opened.timeouts || opened.errors ? ` (${opened.timeouts} timeouts, ${opened.errors} errors)` : ""),
    );
    const pids = { ...serverPids(p), component: router.child.pid, bot: botPid };
    let profiling: Promise<unknown> = Promise.resolve();
    const profile = opts.cpuProf
      ? {
          start: () => {
            profiling = router.child.request("profileStart", {}, 10_000);
          },
          stop: async () => {
            await profiling;
            mkdirSync(profileDir, { recursive: true });
            const file = join(profileDir, `${name}-closed-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
            await router.child.request("profileStop", { file }, 30_000);
            profileFiles.push(file);
          },
        }
      : undefined;
    let perMessage = "";
    let closedReplies = () => 0;
    const queryCount = {
      start: () => {
        router.child.proc.send({ cmd: "queriesReset" });
      },
      stop: async () => {
        const { counts } = await router.child.request<{ type: string; counts: Record<string, number> }>("queries", {}, 10_000);
        const n = closedReplies();
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        if (total === 0 || n === 0) return;
        const parts = Object.entries(counts)
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${(v / n).toFixed(2)} ${k}`);
        perMessage = `${name}: ${(total / n).toFixed(1)} database round trips per message in the closed loop: ${parts.join(", ")}`;
      },
    };
    let loopLine = "";
    const loopDelay = {
      start: () => {
        if (engine !== "pg") router.child.proc.send({ cmd: "queriesReset" });
      },
      stop: async () => {
        const l = await router.child.request<{ type: string; p50: number; p99: number; max: number }>("loop", {}, 10_000);
        loopLine = `${name}: router event-loop lag in the closed loop: p50 ${l.p50.toFixed(1)} ms, p99 ${l.p99.toFixed(1)} ms, max ${l.max.toFixed(1)} ms`;
      },
    };
    // The router's main thread against its other threads (PGlite's worker, GC helpers, libuv's pool).
    let threadLine = "";
    let t0 = { all: 0, main: 0 };
    let t1 = { all: 0, main: 0 };
    const pid = router.child.pid;
    const threadSample = () => ({ all: procSample(pid)?.cpuSeconds ?? 0, main: threadCpuSeconds(pid, pid) });
    const threads: Hook = {
      start: () => (t0 = threadSample()),
      end: () => (t1 = threadSample()),
      stop: async () => {
        const n = Math.max(1, closedReplies());
        const main = t1.main - t0.main;
        const rest = t1.all - t0.all - main;
        threadLine = `${name}: router CPU per message in the closed loop: main thread ${((main / n) * 1e6).toFixed(0)} µs, other threads ${((rest / n) * 1e6).toFixed(0)} µs${engine === "pglite" ? " (the PGlite worker, GC helpers, libuv)" : " (GC helpers, libuv)"}`;
      },
    };
    let commitLine = "";
    const commits = router.db
      ? commitHook(
          name,
          router.db,
          [router.child],
          () => closedReplies(),
          (l) => (commitLine = l),
        )
      : undefined;
    const hooks: Hook[] = engine === "pg" ? [queryCount, loopDelay] : [loopDelay];
    if (commits) hooks.push(commits);
    hooks.push(threads);
    const sent0 = hub.sent;
    const ok0 = hub.ok;
    if (profile) hooks.push(profile);
    // The window's reply count, known once the closed loop returns (the hooks' stop() runs after it).
    const m = await measure(
      name,
      convs,
      pids,
      router.child.pid,
      engine === "pg",
      undefined,
      hooks,
      (r) => (closedReplies = () => r.replies),
    );
    if (perMessage) log(perMessage);
    if (commitLine) log(commitLine);
    log(threadLine);
    log(loopLine);
    // Informational: latency at half of the router's own throughput (a load it sustains).
    const ownHalf =
      m.closed.rate > 0 ? await measureOpen(`${name} @½ own`, convs, m.closed.rate / 2, pids, engine === "pg", [router.child]) : undefined;
    const notes = [...m.notes];
    if (perMessage) notes.push(perMessage);
    if (commitLine) notes.push(commitLine);
    notes.push(threadLine);
    notes.push(loopLine);
    if (ownHalf?.routerLag) notes.push(ownHalf.routerLag);
    if (ownHalf) notes.push(...outcomeNotes(`${name} open loop at ½ own throughput`, ownHalf));
    await router.child.request("idle", {}, 15_000);
    const sentToRouter = hub.sent - sent0 + convs.length;
    const repliedByRouter = hub.ok - ok0 + opened.ok;
    const counts = await router.child.request<{ type: string; inbound: number; outbound: number; conversations: number; outbox: number }>(
      "count",
      {},
      15_000,
    );
    notes.push(
      `${name}: persisted ${counts.inbound} inbound and ${counts.outbound} outbound messages in ${counts.conversations} conversations, outbox depth ${counts.outbox}; ` +
        `${sentToRouter} messages sent to this router, ${repliedByRouter} echoes received`,
    );
    return { ...m, ownHalf, notes };
  } finally {
    log(`${name}: stopping the router`);
    await router.stop();
    for (const line of logProblems(router.child.logFile)) log(`${name} log: ${line}`);
    await bot?.request("reset", {}, 5000).catch(() => undefined);
  }
}

/**
 * The router at half the ceiling's throughput, on a fresh database: run after
 * everything else, since it overloads the router (and Prosody behind it).
 */
async function routerOverload(
  p: XmppServer,
  botUrl: string,
  botPid: number,
  engine: "pg" | "pglite",
  rate: number,
): Promise<{ open: PhaseResult["open"]; notes: string[] }> {
  const name = `router-${engine}`;
  await settle(p, `${name} overload`);
  log(`${name}: starting a fresh router for the run at ½ ceiling`);
  const router = await startRouter(p, botUrl, engine, `${engine}-overload`);
  const notes: string[] = [];
  let sent = 0;
  const unanswered0 = new Set(hub.neverAnswered());
  let openedOk = 0;
  try {
    hub.target = routerTarget(p.componentDomain, name);
    const convs = phaseConvs();
    const opened = await oneEach(hub, convs, opts.inflight, opts.timeoutMs + 2000);
    openedOk = opened.ok;
    log(`${name}: ${opened.ok}/${convs.length} conversations opened`);
    const sent0 = hub.sent;
    const pids = { ...serverPids(p), component: router.child.pid, bot: botPid };
    const open = await measureOpen(`${name} @½ ceiling`, convs, rate, pids, engine === "pg", [router.child]);
    notes.push(...outcomeNotes(`${name} open loop at ½ ceiling`, open));
    if (open.routerLag) notes.push(open.routerLag);
    sent = hub.sent - sent0;
    const counts = await router.child
      .request<{ type: string; inbound: number; error?: string }>("count", {}, 15_000)
      .catch((err: Error) => ({ type: "count", inbound: -1, error: err.message }));
    if (counts.inbound >= 0) {
      notes.push(
        `${name} at ½ ceiling: ${sent} messages sent; ${counts.inbound - opened.ok} of them stored by the time the run ended (the rest queued in the router's memory)`,
      );
    }
    return { open, notes };
  } finally {
    log(`${name}: stopping the router`);
    await router.stop(async (db) => {
      // Every message is tracked until some answer reaches it (an echo, the router's BUSY, a late echo,
      // or Prosody's bounce once the router is gone): what never got one is lost.
      // A message stored but not yet answered when the router stopped is not lost: its reply waits in the outbox.
      const stored = await countInbound(db.url);
      await sleep(2000); // bounces of what Prosody still held for the component arrive as late errors
      const silent = hub
        .neverAnswered()
        .filter((seq) => !unanswered0.has(seq))
        .map((seq) => `b${seq}`);
      const silentStored = silent.length > 0 ? await countStored(db.url, silent) : 0;
      notes.push(
        `${name} after the ½-ceiling run and stop: ${sent} messages sent, ${stored - openedOk} stored; ` +
          `${silent.length} never answered, of which ${silentStored} stored (reply waiting in the outbox) and ` +
          `${silent.length - silentStored} neither stored nor answered (lost)`,
      );
    });
    const problems = logProblems(router.child.logFile);
    for (const line of problems) log(`${name} overload log: ${line}`);
    notes.push(...problems.map((l) => `${name} log after the ½-ceiling run and stop: ${l}`));
    await bot?.request("reset", {}, 5000).catch(() => undefined);
  }
}

interface PairResult {
  name: string;
  closed: LoopResult;
  closedCpu: CpuUse;
  /** Both routers' CPU per reply in the closed loop, µs. */
  routerMicrosPerMsg: number;
  ceilingRate: number;
  ownHalf?: OpenResult;
  notes: string[];
}

/**
 * Two router instances on ejabberd's one component domain, sharing one
 * PostgreSQL database. No domain_balancing: ejabberd gives each stanza to a
 * random one of the connections, so one conversation's messages reach both.
 */
async function pairPhase(p: XmppServer, botUrl: string, botPid: number, ceilingRate: number): Promise<PairResult> {
  const name = "router-pg ×2";
  await settle(p, name);
  const db = await createDatabase(opts.pgUrl);
  const routers: RouterRun[] = [];
  const notes: string[] = [];
  try {
    for (const tag of ["pair-a", "pair-b"]) routers.push(await startRouter(p, botUrl, "pg", tag, db));
    const kids = routers.map((r) => r.child);
    log(`${name}: two routers (pids ${kids.map((k) => k.pid).join(", ")}) on database ${db.name}`);
    hub.target = routerTarget(p.componentDomain, name);
    const convs = phaseConvs();
    const opened = await oneEach(hub, convs, opts.inflight, opts.timeoutMs + 2000);
    log(
      `${name}: ${opened.ok}/${convs.length} conversations opened` +
        (opened.timeouts || opened.errors ? ` (${opened.timeouts} timeouts, ${opened.errors} errors)` : ""),
    );
    const pids = { ...serverPids(p), component: kids[0]!.pid, component2: kids[1]!.pid, bot: botPid };
    let replies = () => 0;
    let commitLine = "";
    let lagLine = "";
    const hooks = [
      commitHook(
        name,
        db,
        kids,
        () => replies(),
        (l) => (commitLine = l),
      ),
      lagHook(`${name} closed loop`, kids, (l) => (lagLine = l)),
    ];
    const sent0 = hub.sent;
    const ok0 = hub.ok;
    const m = await measure(name, convs, pids, kids[0]!.pid, true, undefined, hooks, (r) => (replies = () => r.replies));
    log(commitLine);
    log(lagLine);
    notes.push(...m.notes, commitLine, lagLine);
    const ownHalf = m.closed.rate > 0 ? await measureOpen(`${name} @½ own`, convs, m.closed.rate / 2, pids, true, kids) : undefined;
    if (ownHalf) notes.push(...outcomeNotes(`${name} open loop at ½ own throughput`, ownHalf), ownHalf.routerLag ?? "");
    await Promise.all(kids.map((k) => k.request("idle", {}, 15_000)));
    const counts = await kids[0]!.request<{ type: string; inbound: number; outbound: number; conversations: number; outbox: number }>(
      "count",
      {},
      15_000,
    );
    notes.push(
      `${name}: persisted ${counts.inbound} inbound and ${counts.outbound} outbound messages in ${counts.conversations} conversations, outbox depth ${counts.outbox}; ` +
        `${hub.sent - sent0 + convs.length} messages sent to the two routers, ${hub.ok - ok0 + opened.ok} echoes received`,
    );
    const cpu = (m.closedCpu.cpu.component ?? 0) + (m.closedCpu.cpu.component2 ?? 0);
    return {
      name,
      closed: m.closed,
      closedCpu: m.closedCpu,
      routerMicrosPerMsg: m.closed.replies > 0 ? (cpu / m.closed.replies) * 1e6 : Number.NaN,
      ceilingRate,
      ownHalf,
      notes: notes.filter(Boolean),
    };
  } finally {
    log(`${name}: stopping the routers`);
    for (const r of routers) {
      await r.stop();
      for (const line of logProblems(r.child.logFile)) {
        log(`${name} log: ${line}`);
        notes.push(`${name} log: ${line}`);
      }
    }
    await db.drop();
    await bot?.request("reset", {}, 5000).catch(() => undefined);
  }
}

function printPair(r: PairResult): void {
  console.log(`\nTwo routers on one PostgreSQL database (no domain_balancing: ejabberd gives each stanza to a random connection):`);
  const l = r.ownHalf ? latencySummary(r.ownHalf.latencies) : undefined;
  console.log(
    `  ${r.name}: ${r.closed.rate.toFixed(0)} msgs/s in the closed loop (${ratio(r.closed.rate, r.ceilingRate)} the ceiling), ` +
      `both routers ${r.routerMicrosPerMsg.toFixed(0)} µs CPU per message` +
      (l ? `; at ½ own (${r.ownHalf!.sendRate.toFixed(0)} msgs/s) p50 ${fmt(l.p50, 2)}, p99 ${fmt(l.p99, 2)} ms` : ""),
  );
  console.log(`  ${r.name}: CPU in cores during the closed loop: ${describeCpu(r.closedCpu)}`);
  for (const n of r.notes) console.log(`  ${n}`);
}

interface Checkpoint {
  conversations: number;
  openedPerSecond: number;
  rate: number;
  cpuMicrosPerMsg: number;
  /** PostgreSQL's CPU per message (pg only), µs. */
  pgMicrosPerMsg: number;
  /** CPU cores used by processes outside the benchmark during the window: noise. */
  otherCores: number;
  p50: number;
  p99: number;
  heapUsed: number;
  rss: number;
  problems: string;
}

/** CPU and database round trips per opened conversation (the greeting's and the answer's steps included: the router was idle after). */
async function openingCost(router: Awaited<ReturnType<typeof startRouter>>, cpu: CpuUse, n: number): Promise<string> {
  const us = (k: string) => (cpu.cpu[k] === undefined ? "–" : (((cpu.cpu[k] ?? 0) / n) * 1e6).toFixed(0));
  let trips = "";
  if (router.db) {
    const { counts, commits } = await router.child.request<{ type: string; counts: Record<string, number>; commits: number }>(
      "queries",
      {},
      10_000,
    );
    const total = Object.values(counts).reduce((x, y) => x + y, 0);
    const parts = Object.entries(counts)
      .sort((x, y) => y[1] - x[1])
      .map(([k, v]) => `${(v / n).toFixed(2)} ${k}`);
    trips = `; ${(total / n).toFixed(2)} round trips per opening (${parts.join(", ")}), ${(commits / n).toFixed(2)} commits`;
  }
  return `router ${us("component")} µs CPU, PostgreSQL ${us("postgres")} µs, bot ${us("bot")} µs, ${us("prosody") !== "–" ? `Prosody ${us("prosody")}` : `ejabberd ${us("ejabberd")}`} µs per opening${trips}; cores: ${describeCpu(cpu)}`;
}

async function conversationsScenario(
  p: XmppServer,
  botUrl: string,
  botPid: number,
): Promise<{ rows: Checkpoint[]; base: { heapUsed: number; rss: number }; lagLines: string[] }> {
  const engine = opts.conversationsDb;
  const name = `conversations-${engine}`;
  const max = Math.max(...opts.checkpoints);
  await settle(p, name);
  log(`${name}: starting the router; checkpoints ${opts.checkpoints.join(", ")} open conversations`);
  const router = await startRouter(p, botUrl, engine, `conv-${engine}`);
  const rows: Checkpoint[] = [];
  const lagLines: string[] = [];
  try {
    hub.target = routerTarget(p.componentDomain, name);
    const all: Conv[] = [];
    for (let k = 0; k < max; k++) {
      const i = k % clients.length;
      all.push(conv(clients[i]!, msisdnOf(i), k, `c${Math.floor(k / clients.length)}`));
    }
    type Mem = { type: string; heapUsed: number; rss: number };
    const base = await router.child.request<Mem>("mem", { gc: true });
    let opened = 0;
    for (const target of [...opts.checkpoints].sort((x, y) => x - y)) {
      const batch = all.slice(opened, target);
      const pidsOpen = { component: router.child.pid, ...serverPids(p), bot: botPid };
      const profiled = opts.cpuProf && target === max;
      if (engine === "pg") router.child.proc.send({ cmd: "queriesReset" });
      if (profiled) await router.child.request("profileStart", {}, 10_000);
      const a0 = snapshot(pidsOpen, engine === "pg");
      const o = await oneEach(hub, batch, opts.inflight, opts.timeoutMs + 2000);
      opened = target;
      log(
        `${name}: ${target} open (${o.ok} of ${batch.length} new ones in ${(o.ms / 1000).toFixed(1)} s, ${(batch.length / (o.ms / 1000)).toFixed(0)}/s)` +
          (o.timeouts || o.errors ? `; ${o.timeouts} timeouts, ${o.errors} errors` : ""),
      );
      await router.child.request("idle", {}, 15_000);
      log(
        `${name}: opening ${batch.length}: ${await openingCost(router, cpuBetween(a0, snapshot(pidsOpen, engine === "pg")), batch.length)}`,
      );
      if (profiled) {
        mkdirSync(profileDir, { recursive: true });
        const file = join(profileDir, `${name}-opening-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
        await router.child.request("profileStop", { file }, 30_000);
        profileFiles.push(file);
      }
      const mem = await router.child.request<Mem>("mem", { gc: true });
      const convs = all.slice(0, target);
      let a: Snapshot | undefined;
      let b: Snapshot | undefined;
      let ok0 = hub.ok;
      const pids = { component: router.child.pid, ...serverPids(p), bot: botPid };
      const lag = lagHook(`${name} at ${target} conversations`, [router.child], (l) => lagLines.push(l));
      const r = await closedLoop(
        hub,
        convs,
        {
          inflight: Math.min(opts.inflight, target),
          warmupMs: opts.warmup * 1000,
          measureMs: opts.seconds * 1000,
          drainMs: opts.timeoutMs + 2000,
          spread: "random",
        },
        {
          start: () => {
            a = snapshot(pids, engine === "pg");
            if (engine === "pg") router.child.proc.send({ cmd: "queriesReset" });
            ok0 = hub.ok;
            lag.start();
          },
          end: () => {
            b = snapshot(pids, engine === "pg");
            lag.end!();
          },
        },
      );
      await lag.stop();
      log(lagLines.at(-1)!);
      if (router.db) {
        const { counts, commits } = await router.child.request<{ type: string; counts: Record<string, number>; commits: number }>(
          "queries",
          {},
          10_000,
        );
        const n = Math.max(1, hub.ok - ok0);
        const total = Object.values(counts).reduce((x, y) => x + y, 0);
        const parts = Object.entries(counts)
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => `${(v / n).toFixed(2)} ${k}`);
        log(
          `${name}: ${(total / n).toFixed(2)} round trips per message in open conversations (${parts.join(", ")}), ${(commits / n).toFixed(2)} commits`,
        );
      }
      const cpu = cpuBetween(a!, b!);
      const l = latencySummary(r.latencies);
      rows.push({
        conversations: target,
        openedPerSecond: batch.length / (o.ms / 1000),
        rate: r.rate,
        cpuMicrosPerMsg: r.replies > 0 ? ((cpu.cpu.component ?? 0) / r.replies) * 1e6 : Number.NaN,
        pgMicrosPerMsg: r.replies > 0 && cpu.cpu.postgres !== undefined ? (cpu.cpu.postgres / r.replies) * 1e6 : Number.NaN,
        otherCores: otherCores(cpu),
        p50: l.p50,
        p99: l.p99,
        heapUsed: mem.heapUsed,
        rss: mem.rss,
        problems: [
          o.timeouts + r.timeouts && `${o.timeouts + r.timeouts} timeouts`,
          o.errors + r.errors && `${o.errors + r.errors} errors`,
          r.lost && `${r.lost} lost`,
        ]
          .filter(Boolean)
          .join(", "),
      });
      log(
        `${name}: ${target} conversations: ${r.rate.toFixed(0)} msgs/s, router ${rows.at(-1)!.cpuMicrosPerMsg.toFixed(0)} µs CPU/msg, heap ${(mem.heapUsed / 2 ** 20).toFixed(1)} MB, RSS ${(mem.rss / 2 ** 20).toFixed(0)} MB`,
      );
    }
    return { rows, base: { heapUsed: base.heapUsed, rss: base.rss }, lagLines };
  } finally {
    log(`${name}: stopping the router`);
    await router.stop();
    for (const line of logProblems(router.child.logFile)) log(`${name} log: ${line}`);
  }
}

function ownHalfTable(rows: { router: PhaseResult; ceiling: OpenResult }[]): string {
  const head = ["", "msgs/s", "p50 ms", "p95 ms", "p99 ms", "µs CPU/msg", "timeouts", "other cores"];
  const lines = [head];
  for (const { router, ceiling } of rows) {
    const own = router.ownHalf!;
    const r = latencySummary(own.latencies);
    const c = latencySummary(ceiling.latencies);
    const us = (v: number | undefined) => (v === undefined ? "" : v.toFixed(0));
    const oc = (v: number | undefined) => (v === undefined ? "" : v.toFixed(2));
    lines.push([
      `ceiling @ ${router.name} rate`,
      ceiling.sendRate.toFixed(0),
      fmt(c.p50, 2),
      fmt(c.p95, 2),
      fmt(c.p99, 2),
      us(ceiling.componentMicrosPerMsg),
      String(ceiling.timeouts + ceiling.lost),
      oc(ceiling.otherCores),
    ]);
    lines.push([
      router.name,
      own.sendRate.toFixed(0),
      fmt(r.p50, 2),
      fmt(r.p95, 2),
      fmt(r.p99, 2),
      us(own.componentMicrosPerMsg),
      String(own.timeouts + own.lost),
      oc(own.otherCores),
    ]);
    lines.push([`  added by the router`, "", fmt(r.p50 - c.p50, 2), fmt(r.p95 - c.p95, 2), fmt(r.p99 - c.p99, 2), "", "", ""]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const out = lines.map((l) => l.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return out.join("\n");
}

function conversationsTable(rows: Checkpoint[], base: { heapUsed: number; rss: number }): string {
  const head = [
    "open convs",
    "msgs/s",
    "router µs CPU/msg",
    "postgres µs/msg",
    "p50 ms",
    "p99 ms",
    "heap MB",
    "RSS MB",
    "Δheap/conv KB",
    "ΔRSS/conv KB",
    "other cores",
    "problems",
  ];
  const lines = [head];
  let prev = { conversations: 0, heapUsed: base.heapUsed, rss: base.rss };
  for (const r of rows) {
    const d = r.conversations - prev.conversations;
    lines.push([
      String(r.conversations),
      r.rate.toFixed(0),
      r.cpuMicrosPerMsg.toFixed(0),
      fmt(r.pgMicrosPerMsg, 0),
      fmt(r.p50, 2),
      fmt(r.p99, 2),
      (r.heapUsed / 2 ** 20).toFixed(1),
      (r.rss / 2 ** 20).toFixed(0),
      ((r.heapUsed - prev.heapUsed) / d / 1024).toFixed(2),
      ((r.rss - prev.rss) / d / 1024).toFixed(2),
      r.otherCores.toFixed(2),
      r.problems || "-",
    ]);
    prev = r;
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const out = lines.map((l) =>
    l.map((c, i) => (i === 0 || i === head.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "),
  );
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return out.join("\n");
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  })();
  const cpu = cpus()[0]?.model ?? "?";
  console.log(
    `eime-router benchmark — ${new Date().toISOString()} — commit ${commit}, node ${process.version}, ${cpus().length} × ${cpu}, ${loadLine()} (uptime)`,
  );
  console.log(
    `clients ${opts.clients}, in flight ${opts.inflight}, warm-up ${opts.warmup} s, window ${opts.seconds} s, timeout ${opts.timeoutMs / 1000} s, servers ${opts.servers.join(", ")}, databases ${opts.dbs.join(", ")}${opts.pair && opts.servers.includes("ejabberd") ? ", two routers on ejabberd" : ""}${opts.cpuProf || opts.cpuProfProcess ? ", router CPU profile on" : ""}${opts.nodelay ? ", TCP_NODELAY on every XMPP socket" : ""}, group commit ${argv["group-commit"]}; logs in ${workDir}`,
  );
  // Other work on the machine skews every figure: say how busy it is (and wait for it to calm down if asked).
  const deadline = performance.now() + opts.waitQuietS * 1000;
  for (;;) {
    const m0 = machineBusySeconds();
    await sleep(2000);
    const busy = (machineBusySeconds() - m0) / 2;
    const quiet = busy < 0.25;
    if (quiet || performance.now() >= deadline) {
      console.log(
        `machine busy before start: ${busy.toFixed(2)} cores${quiet ? "" : " — other processes are running: figures will be lower and noisier"}`,
      );
      break;
    }
    log(`machine busy ${busy.toFixed(2)} cores: waiting for it to calm down (--wait-quiet)`);
  }
  if ((opts.dbs.includes("pg") && runTable) || (opts.conversationsDb === "pg" && runConversations)) {
    const v = await checkServer(opts.pgUrl);
    console.log(`PostgreSQL ${v} at ${opts.pgUrl.replace(/:[^:@/]*@/, ":***@")} (same machine)`);
  }

  const b = await startBot();
  bot = b.child;
  for (const [i, kind] of opts.servers.entries()) {
    if (interrupted) return;
    await runOn(kind, b.url, b.child.pid, i === 0);
  }
  console.log(`\nAt the end: ${loadLine()}`);
  if (opts.cpuProf) {
    console.log(`\nRouter CPU profiles of the closed-loop windows (summary: npx tsx bench/profile-summary.ts FILE)`);
    for (const file of profileFiles) console.log(`\n${file}\n${summarizeProfile(file, 15)}`);
  }
  if (opts.cpuProfProcess) {
    console.log(`\nRouter CPU profiles, whole process (main thread; summary: npx tsx bench/profile-summary.ts FILE)`);
    for (const dir of profileRuns) {
      const main = mainThreadProfile(dir);
      if (main) console.log(`\n${main}\n${summarizeProfile(main, 15)}`);
    }
  }
}

async function startServer(kind: ServerKind): Promise<XmppServer> {
  const users = Array.from({ length: opts.clients }, (_, i) => ({ username: msisdnOf(i), password: "bench" }));
  const t = performance.now();
  let server: PrivateServer;
  if (kind === "prosody") server = await startProsody({ users, logLevel: "warn" });
  else {
    // ejabberdctl register starts an Erlang VM per call: ten at a time.
    server = await startEjabberd({ logLevel: "warning" });
    for (let i = 0; i < users.length; i += 10)
      await Promise.all(users.slice(i, i + 10).map((u) => server.registerUser(u.username, u.password)));
  }
  log(`${kind} up (pid ${server.pid}), ${users.length} users registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return Object.assign(server, { kind });
}

async function connectClients(p: XmppServer): Promise<void> {
  const t = performance.now();
  for (let i = 0; i < opts.clients; i += 10) {
    const batch = Array.from({ length: Math.min(10, opts.clients - i) }, (_, k) => msisdnOf(i + k));
    clients.push(
      ...(await Promise.all(
        batch.map((username) => connectClient({ prosody: p, username, password: "bench", resource: "android-bench" })),
      )),
    );
  }
  for (const c of clients) {
    if (opts.nodelay) noDelay(c.xmpp);
    // The harness inbox keeps unconsumed stanzas; the benchmark reads them itself: swallow them.
    const sink = c.collect(() => true, "bench");
    c.xmpp.on("stanza", (el: Element) => {
      sink.items.length = 0;
      hub.receive(el);
    });
  }
  log(`${clients.length} clients online on ${p.kind} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** Every phase on one XMPP server, then its tables. The conversations scenario runs on the first server only. */
async function runOn(kind: ServerKind, botUrl: string, botPid: number, first: boolean): Promise<void> {
  const server = (xmpp = await startServer(kind));
  try {
    await connectClients(server);
    await phasesOn(server, botUrl, botPid, first);
  } finally {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    await server.stop().catch(() => undefined);
    xmpp = undefined;
  }
}

async function phasesOn(server: XmppServer, botUrl: string, botPid: number, first: boolean): Promise<void> {
  const label = server.kind === "prosody" ? "Prosody" : `ejabberd ${(server as unknown as { version?: string }).version ?? ""}`.trimEnd();
  const results: PhaseResult[] = [];
  const sustained: { engine: "pg" | "pglite"; result: Sustained }[] = [];
  let ceiling: PhaseResult | undefined;
  if (runTable) {
    ceiling = await ceilingPhase(server, botPid);
    results.push(ceiling);
    for (const engine of opts.dbs) {
      if (interrupted) return;
      sustained.push({ engine, result: await routerPhase(server, botUrl, botPid, engine) });
    }
  }
  let pair: PairResult | undefined;
  if (runTable && server.kind === "ejabberd" && opts.pair && !interrupted)
    pair = await pairPhase(server, botUrl, botPid, ceiling!.closed.rate);
  // The ceiling at each router's half-own rate, for the latency the router adds at a load it sustains.
  const atOwnHalf: { router: PhaseResult; ceiling: OpenResult }[] = [];
  const routersWithOwnHalf = sustained.map((s) => s.result as PhaseResult).filter((r) => r.ownHalf && r.ownHalf.rate > 0);
  if (routersWithOwnHalf.length > 0 && !interrupted) {
    await settle(server, "ceiling at the routers' rates");
    const echo = await startEcho(server);
    hub.target = echoTarget(server.componentDomain);
    for (const r of routersWithOwnHalf) {
      atOwnHalf.push({
        router: r,
        ceiling: await measureOpen(`ceiling @½ ${r.name}`, phaseConvs(), r.ownHalf!.sendRate, {
          ...serverPids(server),
          component: echo.pid,
        }),
      });
    }
    await echo.stop();
    children.delete(echo);
  }
  let scenario: Awaited<ReturnType<typeof conversationsScenario>> | undefined;
  if (first && runConversations && !interrupted) scenario = await conversationsScenario(server, botUrl, botPid);

  // Last: the routers at half the ceiling's throughput (an overload here).
  for (const { engine, result } of sustained) {
    if (interrupted || !ceiling) break;
    const { open, notes } = await routerOverload(server, botUrl, botPid, engine, ceiling.openRate);
    results.push({ ...result, open, openRate: ceiling.openRate, notes: [...result.notes, ...notes] });
  }

  console.log(`\n==== ${label} (${loadLine()})`);
  console.log("");
  if (results.length > 0) {
    const ceiling = results[0]!;
    console.log(
      `Throughput: ${opts.inflight} messages in flight over ${opts.clients} clients (closed loop). Latency: send→reply at ${ceiling.openRate.toFixed(0)} msgs/s = ½ ceiling (open loop).`,
    );
    console.log(
      `RSS and CPU: the component's process (echo component or router, PGlite included); CPU per 1,000 replies in the closed loop.`,
    );
    console.log(`other cores: CPU used by processes outside the benchmark during the closed / open loop (noise when above 0.1).\n`);
    console.log(table(results));
    console.log("");
    for (const r of results) {
      console.log(`${r.name}: CPU in cores during the closed loop: ${describeCpu(r.closedCpu)}`);
      if (r.ownHalf) {
        const l = latencySummary(r.ownHalf.latencies);
        const us = r.ownHalf.componentMicrosPerMsg;
        console.log(
          `${r.name}: at ½ its own throughput (${r.ownHalf.sendRate.toFixed(0)} msgs/s): p50 ${fmt(l.p50, 2)}, p95 ${fmt(l.p95, 2)}, p99 ${fmt(l.p99, 2)} ms` +
            (us !== undefined ? `; router ${us.toFixed(0)} µs CPU per message` : ""),
        );
      }
      const o = r.open;
      console.log(`${r.name}: open loop at ½ ceiling sent ${o.sendRate.toFixed(0)}/s, answered ${o.rate.toFixed(0)}/s`);
      for (const n of r.notes) console.log(`  ${n}`);
    }
    if (atOwnHalf.length > 0) {
      console.log(`\nLatency at half of each router's own throughput (a load it sustains), the ceiling measured at the same rate:\n`);
      console.log(ownHalfTable(atOwnHalf));
      console.log("");
    }
    if (hub.errorSamples.length > 0) console.log(`error replies (first ${hub.errorSamples.length}): ${hub.errorSamples.join(" | ")}`);
    if (hub.late + hub.lateErrors > 0) {
      console.log(
        `${hub.late} echoes and ${hub.lateErrors} error replies arrived after their message had timed out or was abandoned (the runs at ½ ceiling)`,
      );
    }
  }
  if (scenario) {
    console.log(
      `\nConversations scenario (${opts.conversationsDb}): ${Math.min(opts.inflight, Math.max(...opts.checkpoints))} in flight, each message to a random open conversation; memory after a forced GC in the router, before the measurement.`,
    );
    console.log(
      `Baseline before any conversation: heap ${(scenario.base.heapUsed / 2 ** 20).toFixed(1)} MB, RSS ${(scenario.base.rss / 2 ** 20).toFixed(0)} MB\n`,
    );
    console.log(conversationsTable(scenario.rows, scenario.base));
    for (const l of scenario.lagLines) console.log(`  ${l}`);
  }
  if (pair) printPair(pair);
}

/** The main thread's profile of a run: the biggest file (the loader thread's is small). */
function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => ({ f: join(dir, f), size: statSync(join(dir, f)).size }))
    .sort((a, b) => b.size - a.size);
  return files[0]?.f;
}

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit(process.exitCode ?? 0);
