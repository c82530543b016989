// A private Prosody for e2e tests, the demo and the benchmark
// (recipe: /work/shared/notes/xmpp-servers.md). Own config, data dir and
// loopback ports in a temp dir; runs as the `prosody` user in the foreground.
//
// Use one per test file:
//
//   let prosody: Prosody;
//   beforeAll(async () => { prosody = await startProsody({ users: [{ username: "alice", password: "pw" }] }); });
//   afterAll(async () => { await prosody?.stop(); });
//
// stop() runs even when tests fail (afterAll always runs). Two safety nets
// cover the rest: a process `exit` hook SIGKILLs every Prosody this process
// started, and a detached watchdog shell kills it (and removes its temp dir)
// within a second of this process dying without running its hooks (SIGKILL).
// (setpriv --pdeathsig does not survive the uid change, so it cannot be used.)
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, isPortFree, waitPortsFree } from "./free-port.js";

export interface ProsodyUser {
  username: string;
  password: string;
}

export interface ProsodyOptions {
  /** The users' VirtualHost. Default "localhost". */
  userDomain?: string;
  /** The external component's domain. Default "router.localhost". */
  componentDomain?: string;
  /** The component secret. Default: random. */
  secret?: string;
  /** Enable mod_privilege (XEP-0356: roster both, message outgoing) for the component. Default true. */
  privilege?: boolean;
  /** Users registered right after start. */
  users?: ProsodyUser[];
  /** Prosody's log level. Default: $PROSODY_LOG_LEVEL or "info". */
  logLevel?: "debug" | "info" | "warn";
  /** The c2s port to use when it is free (the demo asks for 5222); default: a free port. */
  preferredC2sPort?: number;
  /** Bound on waiting for the ports to accept. Default 10 s. */
  startTimeoutMs?: number;
}

export interface Prosody {
  readonly c2sPort: number;
  readonly componentPort: number;
  /** `xmpp://127.0.0.1:{c2sPort}` */
  readonly c2sService: string;
  /** `xmpp://127.0.0.1:{componentPort}` */
  readonly componentService: string;
  readonly userDomain: string;
  readonly componentDomain: string;
  readonly secret: string;
  readonly baseDir: string;
  readonly configFile: string;
  /** The running Prosody's pid, undefined while it is not running. */
  readonly pid: number | undefined;
  /** How long the last (re)start took, from spawn until both ports accepted, in ms. */
  readonly lastStartMs: number;
  registerUser(username: string, password: string): Promise<void>;
  /** SIGTERM (SIGKILL after 3 s), then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would; removes the stale pidfile. Keeps the temp dir for restart(). */
  kill(): Promise<void>;
  /**
   * Starts again on the same ports and data dir (stopping the running one first, if any).
   * `secret` rotates the component secret (to test a router whose secret is no longer accepted).
   */
  restart(opts?: { secret?: string }): Promise<void>;
  /** The last lines of Prosody's log (and of its stdout/stderr). */
  logTail(lines?: number): string;
  /** The whole log file (for counting lines in tests). */
  log(): string;
}

const HOST = "127.0.0.1";
const STOP_GRACE_MS = 3000;

let prosodyIds: { uid: number; gid: number } | undefined;
function prosodyUser(): { uid: number; gid: number } {
  if (!prosodyIds) {
    try {
      const uid = Number(execFileSync("id", ["-u", "prosody"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "prosody"], { encoding: "utf8" }).trim());
      prosodyIds = { uid, gid };
    } catch {
      throw new Error("no `prosody` user on this machine: run scripts/ensure-prosody.sh (apt-get install prosody prosody-modules)");
    }
  }
  return prosodyIds;
}

/** Runs a command as the prosody user (Prosody refuses to run as root and then hangs half-started). */
const AS_PROSODY = ["setpriv", "--reuid=prosody", "--regid=prosody", "--init-groups"];

function lua(s: string): string {
  if (/[\0-\x1f]/.test(s)) throw new Error(`control character in Prosody config value ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The private config; exported so docs/prosody.md can be checked against what the tests run. */
export function configText(o: {
  baseDir: string;
  c2sPort: number;
  componentPort: number;
  userDomain: string;
  componentDomain: string;
  secret: string;
  privilege: boolean;
  logLevel: string;
}): string {
  const p = (name: string) => lua(join(o.baseDir, name));
  const privilegeHost = o.privilege
    ? `  modules_enabled = { "privilege" }
  privileged_entities = { [${lua(o.componentDomain)}] = { roster = "both"; message = "outgoing" } }
`
    : "";
  const privilegeComponent = o.privilege ? `  modules_enabled = { "privilege" }\n` : "";
  return `-- Private Prosody for eime-router tests, written by test/e2e/harness/prosody.ts.
pidfile = ${p("prosody.pid")}
data_path = ${p("data")}
certificates = ${p("certs")} -- empty: no STARTTLS offered
log = { { levels = { min = ${lua(o.logLevel)} }, to = "file", filename = ${p("prosody.log")} } }
interfaces = { "${HOST}" }
c2s_ports = { ${o.c2sPort} }
c2s_direct_tls_ports = { }
s2s_ports = { }
component_interfaces = { "${HOST}" }
component_ports = { ${o.componentPort} }
network_settings = { nagle = false }
authentication = "internal_hashed"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
-- no mod_limits: Debian's default config throttles c2s to 10 kB/s
modules_enabled = { "saslauth"; "disco"; "roster"; "ping"; "posix" }
modules_disabled = { "s2s"; "offline" }

VirtualHost ${lua(o.userDomain)}
${privilegeHost}
Component ${lua(o.componentDomain)}
  component_secret = ${lua(o.secret)}
${privilegeComponent}`;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: HOST });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(text: string, lines: number): string {
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all.slice(-lines).join("\n");
}

// Every Prosody this process started and has not stopped: SIGKILLed on exit.
const live = new Set<{ killNow(): void }>();
let exitHook = false;
function ensureExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const p of live) p.killNow();
  });
}

export async function startProsody(opts: ProsodyOptions = {}): Promise<Prosody> {
  // A port picked free can be taken by someone else before Prosody binds it: try fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(opts: ProsodyOptions): Promise<Prosody> {
  const { uid, gid } = prosodyUser();
  const userDomain = opts.userDomain ?? "localhost";
  const componentDomain = opts.componentDomain ?? "router.localhost";
  let secret = opts.secret ?? randomBytes(16).toString("hex");
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const logLevel = opts.logLevel ?? (process.env.PROSODY_LOG_LEVEL as ProsodyOptions["logLevel"]) ?? "info";

  const preferred = opts.preferredC2sPort !== undefined && (await isPortFree(opts.preferredC2sPort)) ? opts.preferredC2sPort : undefined;
  const [picked, componentPort] = (await freePorts(2, preferred === undefined ? [] : [preferred])) as [number, number];
  const c2sPort = preferred ?? picked;
  const baseDir = mkdtempSync(join(tmpdir(), "eime-prosody-"));
  for (const dir of ["data", "certs"]) mkdirSync(join(baseDir, dir));
  const configFile = join(baseDir, "prosody.cfg.lua");
  const logFile = join(baseDir, "prosody.log");
  const pidFile = join(baseDir, "prosody.pid");
  const writeConfig = () => {
    writeFileSync(
      configFile,
      configText({ baseDir, c2sPort, componentPort, userDomain, componentDomain, secret, privilege: opts.privilege ?? true, logLevel }),
    );
    chownSync(configFile, uid, gid);
  };
  writeConfig();
  for (const path of [baseDir, join(baseDir, "data"), join(baseDir, "certs")]) chownSync(path, uid, gid);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let running = false;
  let removed = false;
  let stdio = "";
  let lastStartMs = 0;

  const readLog = (): string => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const logTail = (lines = 40): string => {
    const out = tail(stdio, 10);
    return tail(readLog(), lines) + (out ? `\n--- stdout/stderr ---\n${out}` : "");
  };

  const handle = {
    killNow(): void {
      if (child?.pid !== undefined && running) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
  live.add(handle);
  ensureExitHook();

  async function spawnProsody(): Promise<void> {
    rmSync(pidFile, { force: true });
    const t0 = performance.now();
    // setsid: not in the test runner's process group (a Ctrl-C there must not
    // race our own shutdown). Without `detached`, setsid does not fork, so the
    // child's pid is Prosody's (setpriv and env exec in place).
    const proc = spawn("setsid", [...AS_PROSODY, "prosody", "-F", "--config", configFile], {
      cwd: baseDir,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    running = true;
    let exitInfo: string | undefined;
    exited = new Promise((resolve) => {
      proc.once("error", (err) => {
        exitInfo = `could not run prosody: ${err.message}`;
        running = false;
        resolve();
      });
      proc.once("exit", (code, signal) => {
        exitInfo = `prosody exited (${signal ?? `code ${code}`})`;
        running = false;
        resolve();
      });
    });
    const capture = (chunk: Buffer) => {
      stdio = (stdio + chunk.toString("utf8")).slice(-20_000);
    };
    proc.stdout?.on("data", capture);
    proc.stderr?.on("data", capture);
    if (proc.pid !== undefined) startWatchdog(proc.pid);

    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (!running) throw new Error(`${exitInfo ?? "prosody exited"} during start-up; log tail:\n${logTail()}`);
      if ((await canConnect(c2sPort)) && (await canConnect(componentPort))) break;
      if (Date.now() > deadline) {
        await terminate("SIGKILL");
        throw new Error(
          `Prosody did not accept on ${HOST}:${c2sPort} (c2s) and ${HOST}:${componentPort} (component) within ${startTimeoutMs} ms; log tail:\n${logTail()}`,
        );
      }
      await sleep(20);
    }
    // Another process may hold a port (picked free, taken since): Prosody logs it and carries on.
    const log = readLog();
    if (/Failed to open server port/.test(log)) {
      await terminate("SIGKILL");
      throw new PortTakenError(`Prosody could not open its ports; log tail:\n${logTail()}`);
    }
    lastStartMs = performance.now() - t0;
  }

  /** A root shell that SIGKILLs Prosody and removes the temp dir if this process dies first. */
  function startWatchdog(pid: number): void {
    const script = `while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 0.5; done; kill -KILL "$2" 2>/dev/null; rm -rf "$3"`;
    const dog = spawn("sh", ["-c", script, "prosody-watchdog", String(process.pid), String(pid), baseDir], {
      detached: true,
      stdio: "ignore",
    });
    dog.unref();
  }

  async function terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const proc = child;
    if (!proc?.pid || !running) return;
    const gone = () => exited.then(() => true);
    try {
      process.kill(proc.pid, signal);
    } catch {
      /* already gone */
    }
    const bound = signal === "SIGTERM" ? STOP_GRACE_MS : 2000;
    if (await Promise.race([gone(), sleep(bound).then(() => false)])) return;
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    if (!(await Promise.race([gone(), sleep(2000).then(() => false)]))) {
      throw new Error(`Prosody (pid ${proc.pid}) did not exit after SIGKILL`);
    }
  }

  async function registerUser(username: string, password: string): Promise<void> {
    if (removed) throw new Error("Prosody was stopped");
    await new Promise<void>((resolve, reject) => {
      execFile(
        AS_PROSODY[0]!,
        [...AS_PROSODY.slice(1), "prosodyctl", "--config", configFile, "register", username, userDomain, password],
        { cwd: baseDir, timeout: 10_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`prosodyctl register ${username}@${userDomain} failed: ${err.message}\n${stdout}${stderr}`));
          else resolve();
        },
      );
    });
  }

  const prosody: Prosody = {
    c2sPort,
    componentPort,
    c2sService: `xmpp://${HOST}:${c2sPort}`,
    componentService: `xmpp://${HOST}:${componentPort}`,
    userDomain,
    componentDomain,
    get secret() {
      return secret;
    },
    baseDir,
    configFile,
    get pid() {
      return running ? child?.pid : undefined;
    },
    get lastStartMs() {
      return lastStartMs;
    },
    registerUser,
    async stop() {
      if (removed) return;
      try {
        await terminate("SIGTERM");
      } finally {
        removed = true;
        live.delete(handle);
        rmSync(baseDir, { recursive: true, force: true });
      }
    },
    async kill() {
      await terminate("SIGKILL");
      rmSync(pidFile, { force: true });
    },
    async restart(restartOpts = {}) {
      if (removed) throw new Error("Prosody was stopped; start a new one");
      await terminate("SIGTERM");
      rmSync(pidFile, { force: true });
      if (restartOpts.secret !== undefined && restartOpts.secret !== secret) {
        secret = restartOpts.secret;
        writeConfig();
      }
      await waitPortsFree([c2sPort, componentPort]);
      await spawnProsody();
    },
    logTail,
    log: readLog,
  };

  try {
    await spawnProsody();
    await Promise.all((opts.users ?? []).map((u) => registerUser(u.username, u.password)));
  } catch (err) {
    await prosody.stop().catch(() => {});
    throw err;
  }
  return prosody;
}
