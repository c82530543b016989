// A private PostgreSQL 15 for the fault suite: initdb into a temp dir, pg_ctl
// on a loopback port of its own, so restarting it (the "PostgreSQL restarted
// mid-traffic" scenario) touches no other database on the machine. Runs as the
// `postgres` user (initdb refuses root).
//
// Nothing is left behind: stop() removes the data dir; a process `exit` hook
// runs `pg_ctl stop -m immediate`; a detached watchdog shell does the same and
// removes the dir within a second if this process is SIGKILLed.
import { execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../test/e2e/harness/free-port.js";
import { asUser, ownedTempDir, systemUser } from "../test/e2e/harness/private-server.js";

const BIN = process.env.EIME_PG_BIN ?? "/usr/lib/postgresql/15/bin";
const HOST = "127.0.0.1";

export interface PrivatePostgres {
  readonly port: number;
  readonly baseDir: string;
  /** `postgres://postgres@127.0.0.1:PORT/NAME` */
  url(database: string): string;
  /** A fresh database; resolves with its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast` (backends are told "terminating connection due to administrator command"), then start again. */
  restart(opts?: { downMs?: number }): Promise<void>;
  stop(): Promise<void>;
  logTail(lines?: number): string;
}

function run(command: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command[0]!, command.slice(1), { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command.slice(4).join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPostgres(): Promise<PrivatePostgres> {
  const owner = systemUser("postgres", "apt-get install postgresql-15");
  const as = asUser("postgres");
  const baseDir = ownedTempDir("eime-faults-pg-", [], owner);
  const data = join(baseDir, "data");
  const logFile = join(baseDir, "postgres.log");
  const port = await freePort();
  const pgCtl = (...args: string[]) => [...as, join(BIN, "pg_ctl"), "-D", data, ...args];
  // fsync off: the data is thrown away afterwards, and the machine's disk is shared.
  const options = `-p ${port} -c listen_addresses=${HOST} -k ${baseDir} -c fsync=off -c max_connections=100`;
  const start = () => run(pgCtl("-l", logFile, "-w", "-t", "60", "-o", options, "start"), 70_000);
  const stopNow = () => {
    if (!existsSync(join(data, "postmaster.pid"))) return;
    const cmd = pgCtl("-m", "immediate", "-w", "stop");
    try {
      execFileSync(cmd[0]!, cmd.slice(1), { timeout: 10_000 });
    } catch {
      /* already gone */
    }
  };

  await run([...as, join(BIN, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"], 120_000);
  await start();
  let stopped = false;
  const onExit = () => {
    if (!stopped) stopNow();
  };
  process.on("exit", onExit);
  watchdog(baseDir, [join(BIN, "pg_ctl"), "-D", data]);

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: `postgres://postgres@${HOST}:${port}/postgres`, connectionTimeoutMillis: 10_000 });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end().catch(() => undefined);
    }
  };

  return {
    port,
    baseDir,
    url: (database) => `postgres://postgres@${HOST}:${port}/${database}`,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      return `postgres://postgres@${HOST}:${port}/${name}`;
    },
    async restart(opts = {}) {
      await run(pgCtl("-m", "fast", "-w", "-t", "30", "stop"), 40_000);
      if (opts.downMs) await sleep(opts.downMs);
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off("exit", onExit);
      await run(pgCtl("-m", "fast", "-w", "-t", "20", "stop"), 30_000).catch(() => stopNow());
      rmSync(baseDir, { recursive: true, force: true });
    },
    logTail(lines = 20) {
      try {
        return execFileSync("tail", ["-n", String(lines), logFile], { encoding: "utf8" });
      } catch {
        return "(no log)";
      }
    },
  };
}

/** A detached shell: once this process is gone, stops the server (as postgres) and removes its dir. */
function watchdog(baseDir: string, pgCtl: string[]): void {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    `setpriv --reuid=postgres --regid=postgres --init-groups "$2" -D "$3" -m immediate stop >/dev/null 2>&1; rm -rf "$4"`;
  const dog = spawn("sh", ["-c", script, "postgres-watchdog", String(process.pid), pgCtl[0]!, pgCtl[2]!, baseDir], {
    detached: true,
    stdio: "ignore",
  });
  dog.unref();
}
