// The router under test in its own process: the same loadConfig → buildApp →
// start as src/main.ts, plus what the benchmark needs from inside: the test
// directory (one bot channel) written after start as the e2e tests do, and
// IPC commands for memory after a forced GC (run with --expose-gc), database
// counts and a graceful stop (so --cpu-prof writes its profile on exit).
//   node --import tsx [--cpu-prof] --expose-gc bench/router-child.ts CONFIG.json BOT_URL
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import pg from "pg";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config/load.js";
import { createLogging } from "../src/log.js";
import { testDirectory } from "../test/e2e/support/router.js";
import { noDelay, noDelayWanted, serveParent } from "./proc.js";

const [configFile, botUrl] = process.argv.slice(2);
if (!configFile || !botUrl) {
  process.stderr.write("usage: router-child.ts CONFIG.json BOT_URL\n");
  process.exit(2);
}

const config = loadConfig({ argv: ["--config", configFile], env: {} });
const logging = createLogging(config.log);
// --group-commit off (bench/run.ts): every step in its own transaction, for the comparison.
const app = buildApp(config, { logging, ...(process.env["BENCH_GROUP_COMMIT"] === "off" ? { groupCommitMaxBatch: 1 } : {}) });
app.connection.on("fatal", (err) => {
  process.stderr.write(`router: fatal: ${err.message}\n`);
  process.exit(1);
});

// Bench-only experiment (--nodelay): reach the connection's xmpp.js entity, which src/ keeps private.
if (noDelayWanted()) noDelay((app.connection as unknown as { xmpp: Parameters<typeof noDelay>[0] }).xmpp);

const gc = (globalThis as { gc?: () => void }).gc;

let profiler: Session | undefined;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

// Database round trips, counted by statement kind: node-postgres's Client.query
// (the pool uses it too) wrapped here, outside src/. PGlite is not counted.
const queries = new Map<string, number>();
const kinds = new Map<string, string>();
// Commits the router asked for: each COMMIT, and each statement run outside BEGIN … COMMIT (its own transaction).
let commits = 0;
const inTransaction = new WeakSet<object>();
const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const originalQuery = clientProto.query;
clientProto.query = function (this: unknown, ...args: unknown[]) {
  const first = args[0];
  const text = typeof first === "string" ? first : ((first as { text?: string } | undefined)?.text ?? "");
  let kind = kinds.get(text);
  if (kind === undefined) kinds.set(text, (kind = statementKind(text)));
  queries.set(kind, (queries.get(kind) ?? 0) + 1);
  countCommit(this as object, kind);
  return originalQuery.apply(this, args);
};

function countCommit(client: object, statement: string): void {
  const kind = statement.toUpperCase();
  if (kind === "BEGIN") inTransaction.add(client);
  else if (kind === "COMMIT" || kind === "ROLLBACK") {
    if (kind === "COMMIT") commits++;
    inTransaction.delete(client);
  } else if (!inTransaction.has(client)) commits++;
}

function statementKind(sql: string): string {
  const s = sql.replace(/\s+/g, " ").trim();
  const m =
    /^(INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|SELECT pg_advisory_xact_lock|SELECT pg_notify|LISTEN|UNLISTEN)/i.exec(s) ??
    /\b(INSERT INTO \w+|UPDATE \w+ SET)/i.exec(s) ??
    /^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|SELECT)/i.exec(s);
  if (!m) return s.slice(0, 30);
  const kind = m[1]!.replace(/ SET$/i, "");
  return kind.toUpperCase() === "SELECT" ? `SELECT ${/\bFROM (\w+)/i.exec(s)?.[1] ?? ""}`.trim() : kind;
}

serveParent({
  /** Starts V8's CPU profiler (the one behind --cpu-prof) for a window chosen by the parent. */
  async profileStart() {
    profiler = new Session();
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.setSamplingInterval", { interval: 250 });
    await profiler.post("Profiler.start");
  },
  async profileStop(msg) {
    if (!profiler) throw new Error("the profiler is not running");
    const { profile } = await profiler.post("Profiler.stop");
    profiler.disconnect();
    profiler = undefined;
    writeFileSync(String(msg.file), JSON.stringify(profile));
    return { file: msg.file };
  },
  async queriesReset() {
    queries.clear();
    commits = 0;
    loopDelay.reset();
  },
  /** Starts a new event-loop lag window (read with `loop`). */
  async lagReset() {
    loopDelay.reset();
  },
  /** Event-loop lag since queriesReset, ms: how long a ready callback (a socket read, a timer) waited. */
  async loop() {
    // The histogram holds the probe's interval (10 ms) plus the lag: report the lag.
    const lag = (ns: number) => Math.max(0, ns / 1e6 - 10);
    return { p50: lag(loopDelay.percentile(50)), p99: lag(loopDelay.percentile(99)), max: lag(loopDelay.max) };
  },
  async queries() {
    return { counts: Object.fromEntries(queries), commits };
  },
  async mem(msg) {
    if (msg.gc && gc) {
      gc();
      gc();
    }
    const m = process.memoryUsage();
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      gc: !!(msg.gc && gc),
    };
  },
  async count() {
    const { rows } = await app.store.db.query<{ direction: string; n: number }>(
      "SELECT direction, count(*)::int AS n FROM messages GROUP BY direction",
    );
    const convs = await app.store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM conversations");
    const outbox = await app.store.outbox.depth();
    const by = Object.fromEntries(rows.map((r) => [r.direction, r.n]));
    return { inbound: by.in ?? 0, outbound: by.out ?? 0, conversations: convs.rows[0]?.n ?? 0, outbox };
  },
  async idle() {
    await Promise.race([app.idle(), new Promise((r) => setTimeout(r, 10_000))]);
  },
  async stop() {
    const t0 = performance.now();
    await app.stop();
    process.stderr.write(`router stopped in ${Math.round(performance.now() - t0)} ms\n`);
    setImmediate(() => process.exit(0));
  },
});

try {
  await app.start();
  await app.store.directory.replaceTree(testDirectory(botUrl));
  process.send?.({ type: "ready", engine: app.store.db.engine });
} catch (err) {
  process.stderr.write(`router: start failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
