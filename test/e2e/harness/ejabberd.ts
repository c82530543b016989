// A private ejabberd for e2e tests (recipe: /work/shared/notes/xmpp-servers.md),
// the ejabberd counterpart of prosody.ts with the same shape, so the router
// support (routerConfig) and connectClient take it as they take a Prosody.
// Own config, Mnesia spool, logs, Erlang cookie and loopback ports in a temp
// dir owned by the `ejabberd` user; runs as that user in the foreground:
//
//   setsid setpriv --reuid=ejabberd … ejabberdctl -d DIR -s DIR/database -l DIR/logs foreground
//
// with HOME=DIR and DIR/ejabberdctl.cfg naming a node of its own and an
// ERL_DIST_PORT (so no epmd is started or needed). Ready in about 1.5–2 s.
//
//   let ejabberd: Ejabberd;
//   beforeAll(async () => { ejabberd = await startEjabberd({ users: [{ username: "alice", password: "pw" }] }); });
//   afterAll(async () => { await ejabberd?.stop(); });
//
// Processes: ejabberdctl is a bash script that runs erl as its child (it does
// not exec), so the spawned pid is bash and the VM (beam.smp) is its child.
// stop() sends SIGTERM to the VM (a clean Erlang shutdown, about 1 s); bash
// then exits by itself. kill() SIGKILLs the whole process group (setsid made
// the bash pid its id): bash, the VM and its port programs. Safety nets as
// in prosody.ts: a process `exit` hook SIGKILLs every ejabberd this process
// started, and a detached watchdog shell kills the group and removes the temp
// dir within a second of this process dying without running its hooks.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts, waitPortsFree } from "./free-port.js";

export interface EjabberdUser {
  username: string;
  password: string;
}

export type EjabberdLogLevel = "debug" | "info" | "notice" | "warning" | "error";

export interface EjabberdOptions {
  /** The users' host. Default "localhost". */
  userDomain?: string;
  /** The external component's domain. Default "router.localhost". */
  componentDomain?: string;
  /** The component password (XEP-0114 secret). Default: random. */
  secret?: string;
  /** Enable mod_privilege (XEP-0356: roster both) for the component. Default true. */
  privilege?: boolean;
  /**
   * Several component connections (router instances) for the component domain:
   * `domain_balancing` with `type: bare_source` and this many slots, so each
   * user's stanzas stick to one connection. Default: none (one connection; a
   * second one would get a random share of every user's stanzas).
   */
  componentNumber?: number;
  /** Users registered right after start (ejabberdctl register, in parallel, about 1 s). */
  users?: EjabberdUser[];
  /** ejabberd's log level. Default: $EJABBERD_LOG_LEVEL or "info". */
  logLevel?: EjabberdLogLevel;
  /** Bound on waiting for the ports to accept. Default 20 s. */
  startTimeoutMs?: number;
}

export interface Ejabberd {
  readonly c2sPort: number;
  readonly componentPort: number;
  /** The Erlang distribution port (ERL_DIST_PORT) that ejabberdctl commands use. */
  readonly distPort: number;
  /** `xmpp://127.0.0.1:{c2sPort}` */
  readonly c2sService: string;
  /** `xmpp://127.0.0.1:{componentPort}` */
  readonly componentService: string;
  readonly userDomain: string;
  readonly componentDomain: string;
  readonly secret: string;
  readonly baseDir: string;
  /** DIR/ejabberd.yml */
  readonly configFile: string;
  /** The Erlang node name, e.g. `eime-1a2b3c4d@localhost`. */
  readonly node: string;
  /** The running ejabberdctl's pid (also its process group), undefined while it is not running. */
  readonly pid: number | undefined;
  /** How long the last (re)start took, from spawn until both ports accepted, in ms. */
  readonly lastStartMs: number;
  /** The running version as ejabberd logs it at start (e.g. "23.01-1"), undefined before. */
  readonly version: string | undefined;
  registerUser(username: string, password: string): Promise<void>;
  /** Runs `ejabberdctl ARGS…` against this node, as the ejabberd user; resolves with its stdout. */
  ctl(args: string[], timeoutMs?: number): Promise<string>;
  /** SIGTERM to the VM (SIGKILL to the group after 5 s), then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL to the whole process group, as a crash would. Keeps the temp dir for restart(). */
  kill(): Promise<void>;
  /**
   * Starts again on the same ports, node name and database (stopping the running one first, if any).
   * `secret` rotates the component password.
   */
  restart(opts?: { secret?: string }): Promise<void>;
  /** The last lines of ejabberd's log (and of its stdout/stderr). */
  logTail(lines?: number): string;
  /** The whole ejabberd.log. */
  log(): string;
}

const HOST = "127.0.0.1";
const STOP_GRACE_MS = 5000;

let ejabberdIds: { uid: number; gid: number } | undefined;
function ejabberdUser(): { uid: number; gid: number } {
  if (!ejabberdIds) {
    try {
      const uid = Number(execFileSync("id", ["-u", "ejabberd"], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", "ejabberd"], { encoding: "utf8" }).trim());
      ejabberdIds = { uid, gid };
    } catch {
      throw new Error("no `ejabberd` user on this machine: run scripts/ensure-ejabberd.sh (apt-get install ejabberd)");
    }
  }
  return ejabberdIds;
}

/** Runs a command as the ejabberd user (ejabberdctl run as root would `su` to it and stay our child's child). */
const AS_EJABBERD = ["setpriv", "--reuid=ejabberd", "--regid=ejabberd", "--init-groups"];

/** A YAML double-quoted scalar. */
function yq(s: string): string {
  if (/[\0-\x1f]/.test(s)) throw new Error(`control character in ejabberd config value ${JSON.stringify(s)}`);
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A YAML mapping key: plain when it is a simple domain name, else quoted. */
function yk(s: string): string {
  return /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(s) ? s : yq(s);
}

/**
 * The private ejabberd.yml; exported so docs/ejabberd.md can be checked against
 * what the tests run (test/unit/docs-ejabberd.test.ts). The component listener
 * comes first under `listen:` and mod_privilege first under `modules:` so the
 * doc's snippets appear here verbatim.
 */
export function configText(o: {
  c2sPort: number;
  componentPort: number;
  userDomain: string;
  componentDomain: string;
  secret: string;
  privilege: boolean;
  logLevel: string;
  componentNumber?: number | undefined;
}): string {
  const balancing =
    o.componentNumber === undefined
      ? ""
      : `
domain_balancing:
  ${yk(o.componentDomain)}:
    type: bare_source
    component_number: ${o.componentNumber}
`;
  const privilege = o.privilege
    ? `
acl:
  eime_router:
    server: ${yq(o.componentDomain)}

access_rules:
  eime_router:
    allow: eime_router
`
    : "";
  const privilegeModule = o.privilege
    ? `  mod_privilege:
    roster:
      both: eime_router
`
    : "";
  return `# Private ejabberd for eime-router tests, written by test/e2e/harness/ejabberd.ts.
hosts:
  - ${yq(o.userDomain)}

loglevel: ${o.logLevel}
# No certificates: no STARTTLS offered, SASL PLAIN on loopback (tests only).
certfiles: []
acme:
  auto: false

listen:
  -
    port: ${o.componentPort}
    ip: "${HOST}"
    module: ejabberd_service
    hosts:
      ${yk(o.componentDomain)}:
        password: ${yq(o.secret)}
  -
    port: ${o.c2sPort}
    ip: "${HOST}"
    module: ejabberd_c2s
    starttls_required: false
    max_stanza_size: 262144
${balancing}
auth_method: internal
s2s_access: none
${privilege}
modules:
${privilegeModule}  mod_roster: {}
  mod_disco: {}
  mod_ping: {}
`;
}

/** DIR/ejabberdctl.cfg: its own node name and distribution port (no epmd), no crash dumps, no busy-waiting schedulers. */
export function ctlConfigText(o: { node: string; distPort: number }): string {
  return `# Written by test/e2e/harness/ejabberd.ts.
ERLANG_NODE=${o.node}
ERL_DIST_PORT=${o.distPort}
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0 +sbwt none +sbwtdcpu none +sbwtdio none"
EJABBERD_BYPASS_WARNINGS=true
`;
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

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

/** The direct children of a pid (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

// Every ejabberd this process started and has not stopped: SIGKILLed on exit.
const live = new Set<{ killNow(): void }>();
let exitHook = false;
function ensureExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const e of live) e.killNow();
  });
}

export async function startEjabberd(opts: EjabberdOptions = {}): Promise<Ejabberd> {
  // A port picked free can be taken by someone else before ejabberd binds it: try fresh ports.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(opts: EjabberdOptions): Promise<Ejabberd> {
  const { uid, gid } = ejabberdUser();
  const userDomain = opts.userDomain ?? "localhost";
  const componentDomain = opts.componentDomain ?? "router.localhost";
  let secret = opts.secret ?? randomBytes(16).toString("hex");
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const logLevel = opts.logLevel ?? (process.env.EJABBERD_LOG_LEVEL as EjabberdLogLevel | undefined) ?? "info";
  const privilege = opts.privilege ?? true;
  const componentNumber = opts.componentNumber;
  if (componentNumber !== undefined && !(Number.isInteger(componentNumber) && componentNumber >= 1)) {
    throw new Error(`componentNumber must be a positive integer, got ${componentNumber}`);
  }

  const [c2sPort, componentPort, distPort] = (await freePorts(3)) as [number, number, number];
  const node = `eime-${randomBytes(4).toString("hex")}@localhost`;
  const baseDir = mkdtempSync(join(tmpdir(), "eime-ejabberd-"));
  const dbDir = join(baseDir, "database");
  const logDir = join(baseDir, "logs");
  for (const dir of [dbDir, logDir]) mkdirSync(dir);
  const configFile = join(baseDir, "ejabberd.yml");
  const logFile = join(baseDir, "logs", "ejabberd.log");
  const writeOwned = (path: string, text: string) => {
    writeFileSync(path, text);
    chownSync(path, uid, gid);
  };
  const writeConfig = () =>
    writeOwned(configFile, configText({ c2sPort, componentPort, userDomain, componentDomain, secret, privilege, logLevel, componentNumber }));
  writeConfig();
  writeOwned(join(baseDir, "ejabberdctl.cfg"), ctlConfigText({ node, distPort }));
  // ejabberdctl points ERL_INETRC at DIR/inetrc: resolve "localhost" (the node's host) from the hosts file.
  writeOwned(join(baseDir, "inetrc"), `{lookup,["file","native"]}.\n{host,{127,0,0,1}, ["localhost"]}.\n`);
  for (const path of [baseDir, dbDir, logDir]) chownSync(path, uid, gid);

  // A small, fixed environment: nothing of the test runner's ERL_* or locale leaks in; HOME holds the cookie.
  const env = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", HOME: baseDir, LANG: "C.UTF-8" };
  const ctlPrefix = ["ejabberdctl", "-d", baseDir, "-s", dbDir, "-l", logDir];

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
    const out = tail(stdio, 15);
    let errors = "";
    try {
      errors = tail(readFileSync(join(logDir, "error.log"), "utf8"), 20);
    } catch {
      /* none yet */
    }
    return tail(readLog(), lines) + (errors ? `\n--- error.log ---\n${errors}` : "") + (out ? `\n--- stdout/stderr ---\n${out}` : "");
  };

  const handle = {
    killNow(): void {
      if (child?.pid !== undefined && running) signalGroup(child.pid, "SIGKILL");
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
  live.add(handle);
  ensureExitHook();

  async function spawnEjabberd(): Promise<void> {
    const t0 = performance.now();
    // setsid: a process group of its own (kill() signals it whole) and not the
    // test runner's (a Ctrl-C there must not race our own shutdown). Without
    // `detached`, setsid does not fork, so the child's pid is ejabberdctl's.
    const proc = spawn("setsid", [...AS_EJABBERD, ...ctlPrefix, "foreground"], {
      cwd: baseDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    running = true;
    let exitInfo: string | undefined;
    exited = new Promise((resolve) => {
      proc.once("error", (err) => {
        exitInfo = `could not run ejabberdctl: ${err.message}`;
        running = false;
        resolve();
      });
      proc.once("exit", (code, signal) => {
        exitInfo = `ejabberd exited (${signal ?? `code ${code}`})`;
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

    const portTaken = () => /eaddrinuse/i.test(stdio) || /eaddrinuse/i.test(readLog());
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (!running) {
        const msg = `${exitInfo ?? "ejabberd exited"} during start-up; log tail:\n${logTail()}`;
        throw portTaken() ? new PortTakenError(msg) : new Error(msg);
      }
      if (portTaken()) {
        await terminate("SIGKILL");
        throw new PortTakenError(`ejabberd could not open its ports; log tail:\n${logTail()}`);
      }
      if ((await canConnect(c2sPort)) && (await canConnect(componentPort))) break;
      if (Date.now() > deadline) {
        await terminate("SIGKILL");
        throw new Error(
          `ejabberd did not accept on ${HOST}:${c2sPort} (c2s) and ${HOST}:${componentPort} (component) within ${startTimeoutMs} ms; log tail:\n${logTail()}`,
        );
      }
      await sleep(25);
    }
    lastStartMs = performance.now() - t0;
  }

  /** A root shell that SIGKILLs the ejabberd process group and removes the temp dir if this process dies first. */
  function startWatchdog(pgid: number): void {
    // (dash's kill takes no `--`: a negative pid right after the signal is the process group.)
    const script = `while kill -0 "$1" 2>/dev/null; do kill -0 "-$2" 2>/dev/null || exit 0; sleep 0.5; done; kill -KILL "-$2" 2>/dev/null; rm -rf "$3"`;
    const dog = spawn("sh", ["-c", script, "ejabberd-watchdog", String(process.pid), String(pgid), baseDir], {
      detached: true,
      stdio: "ignore",
    });
    dog.unref();
  }

  /** SIGTERM: to the VM (bash exits after it); SIGKILL: to the whole group. Bounded; SIGKILL after the grace. */
  async function terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const proc = child;
    if (!proc?.pid || !running) return;
    const pgid = proc.pid;
    const gone = () => exited.then(() => true);
    if (signal === "SIGTERM") {
      const vms = childrenOf(pgid);
      if (vms.length === 0) signalGroup(pgid, "SIGTERM"); // still in the ejabberdctl script: no VM yet
      for (const vm of vms) {
        try {
          process.kill(vm, "SIGTERM");
        } catch {
          /* already gone */
        }
      }
    } else {
      signalGroup(pgid, "SIGKILL");
    }
    const bound = signal === "SIGTERM" ? STOP_GRACE_MS : 2000;
    if (await Promise.race([gone(), sleep(bound).then(() => false)])) {
      signalGroup(pgid, "SIGKILL"); // port programs (erl_child_setup) left behind, if any
      return;
    }
    signalGroup(pgid, "SIGKILL");
    if (!(await Promise.race([gone(), sleep(2000).then(() => false)]))) {
      throw new Error(`ejabberd (ejabberdctl pid ${pgid}) did not exit after SIGKILL`);
    }
  }

  function ctl(args: string[], timeoutMs = 15_000): Promise<string> {
    if (removed) return Promise.reject(new Error("ejabberd was stopped"));
    return new Promise<string>((resolve, reject) => {
      execFile(AS_EJABBERD[0]!, [...AS_EJABBERD.slice(1), ...ctlPrefix, ...args], { cwd: baseDir, env, timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`ejabberdctl ${args.join(" ")} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      });
    });
  }

  async function registerUser(username: string, password: string): Promise<void> {
    await ctl(["register", username, userDomain, password]);
  }

  const ejabberd: Ejabberd = {
    c2sPort,
    componentPort,
    distPort,
    c2sService: `xmpp://${HOST}:${c2sPort}`,
    componentService: `xmpp://${HOST}:${componentPort}`,
    userDomain,
    componentDomain,
    get secret() {
      return secret;
    },
    baseDir,
    configFile,
    node,
    get pid() {
      return running ? child?.pid : undefined;
    },
    get lastStartMs() {
      return lastStartMs;
    },
    get version() {
      return /ejabberd (\S+) is started in the node/.exec(readLog())?.[1];
    },
    registerUser,
    ctl,
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
    },
    async restart(restartOpts = {}) {
      if (removed) throw new Error("ejabberd was stopped; start a new one");
      await terminate("SIGTERM");
      if (restartOpts.secret !== undefined && restartOpts.secret !== secret) {
        secret = restartOpts.secret;
        writeConfig();
      }
      await waitPortsFree([c2sPort, componentPort, distPort]);
      await spawnEjabberd();
    },
    logTail,
    log: readLog,
  };

  try {
    await spawnEjabberd();
    await Promise.all((opts.users ?? []).map((u) => registerUser(u.username, u.password)));
  } catch (err) {
    await ejabberd.stop().catch(() => {});
    throw err;
  }
  return ejabberd;
}
