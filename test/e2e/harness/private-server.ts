// What the private Prosody (prosody.ts) and ejabberd (ejabberd.ts) share: the
// handle tests get, and the life of the server process. Each runs as its own
// system user, in its own session, on loopback ports of its own, from a temp
// dir of its own; the server files say how to configure and start each.
//
// Nothing is left behind: stop() in afterAll (it runs when tests fail too), a
// process `exit` hook that SIGKILLs every server this process started, and a
// detached watchdog shell that kills the server and removes its temp dir
// within a second of this process dying without running its hooks (SIGKILL).
// (setpriv --pdeathsig does not survive the uid change, so it cannot be used.)
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { waitPortsFree } from "./free-port.js";

export interface ServerUser {
  username: string;
  password: string;
}

export interface ServerOptions {
  /** The users' host. Default "localhost". */
  userDomain?: string;
  /** The external component's domain. Default "router.localhost". */
  componentDomain?: string;
  /** The component secret (XEP-0114; ejabberd calls it password). Default: random. */
  secret?: string;
  /** Enable mod_privilege (XEP-0356: roster both; on Prosody also message outgoing) for the component. Default true. */
  privilege?: boolean;
  /** Users registered right after start, in parallel. */
  users?: ServerUser[];
  /** Bound on waiting for the ports to accept. Default 10 s (Prosody), 20 s (ejabberd). */
  startTimeoutMs?: number;
}

export interface PrivateServer {
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
  /** The spawned process's pid (ejabberd: ejabberdctl's, also its process group), undefined while it is not running. */
  readonly pid: number | undefined;
  /** How long the last (re)start took, from spawn until both ports accepted, in ms. */
  readonly lastStartMs: number;
  registerUser(username: string, password: string): Promise<void>;
  /** SIGTERM (ejabberd: to the VM), SIGKILL after the grace (Prosody 3 s, ejabberd 5 s), then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL (ejabberd: the whole process group), as a crash would. Keeps the temp dir for restart(). */
  kill(): Promise<void>;
  /**
   * Starts again on the same ports and data (stopping the running one first, if any).
   * `secret` rotates the component secret (to test a router whose secret is no longer accepted).
   */
  restart(opts?: { secret?: string }): Promise<void>;
  /** The last lines of the server's log (and of its stdout/stderr). */
  logTail(lines?: number): string;
  /** The whole log file (for counting lines in tests). */
  log(): string;
}

export const HOST = "127.0.0.1";

/** What both servers' configText take. */
export interface ConfigValues {
  c2sPort: number;
  componentPort: number;
  userDomain: string;
  componentDomain: string;
  secret: string;
  privilege: boolean;
  logLevel: string;
}

export type Owner = { uid: number; gid: number };

const owners = new Map<string, Owner>();
/** The ids of a system user; `install` says how to get it. */
export function systemUser(name: string, install: string): Owner {
  let ids = owners.get(name);
  if (!ids) {
    try {
      const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
      const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
      ids = { uid, gid };
    } catch {
      throw new Error(`no \`${name}\` user on this machine: run ${install}`);
    }
    owners.set(name, ids);
  }
  return ids;
}

/** The prefix that runs a command as `name` (setpriv execs in place, so the pid stays the command's). */
export function asUser(name: string): string[] {
  return ["setpriv", `--reuid=${name}`, `--regid=${name}`, "--init-groups"];
}

/** A fresh temp dir with these subdirs, all owned by `owner`. */
export function ownedTempDir(prefix: string, subdirs: string[], owner: Owner): string {
  const baseDir = mkdtempSync(join(tmpdir(), prefix));
  for (const dir of subdirs) mkdirSync(join(baseDir, dir));
  for (const path of [baseDir, ...subdirs.map((d) => join(baseDir, d))]) chownSync(path, owner.uid, owner.gid);
  return baseDir;
}

export function writeOwned(path: string, text: string, owner: Owner): void {
  writeFileSync(path, text);
  chownSync(path, owner.uid, owner.gid);
}

/** Runs `command` (with an asUser prefix) to completion; resolves with its stdout. */
export function execAs(
  command: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
  what: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command[0]!, command.slice(1), { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${what} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

export function withDefaults(opts: ServerOptions): { userDomain: string; componentDomain: string; secret: string; privilege: boolean } {
  return {
    userDomain: opts.userDomain ?? "localhost",
    componentDomain: opts.componentDomain ?? "router.localhost",
    secret: opts.secret ?? randomBytes(16).toString("hex"),
    privilege: opts.privilege ?? true,
  };
}

class PortTakenError extends Error {}

/** A port picked free can be taken by someone else before the server binds it: try fresh ports. */
export async function retryOnPortTaken<T>(startOnce: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce();
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTakenError)) throw err;
    }
  }
}

export interface ServerSpec {
  /** "Prosody", "ejabberd": for messages and the watchdog's name. */
  name: string;
  baseDir: string;
  configFile: string;
  c2sPort: number;
  componentPort: number;
  /** More ports it binds, waited free before a restart. */
  otherPorts?: number[];
  userDomain: string;
  componentDomain: string;
  secret: string;
  /** Run under setsid, so: [...asUser(…), program, …]. */
  command: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  /** A log of errors only, shown in logTail too. */
  errorLogFile?: string;
  /** What the server logs or prints when one of its ports is taken. */
  portTaken: RegExp;
  startTimeoutMs: number;
  stopGraceMs: number;
  /**
   * The spawned pid is a script that runs the server as its child (it does not
   * exec): SIGTERM goes to the child (the script then exits by itself), SIGKILL
   * to the whole process group (setsid made the script its leader).
   */
  wrapper?: boolean;
  /** Rewrites the config when restart({ secret }) rotates the secret. */
  writeConfig(secret: string): void;
  register(username: string, password: string): Promise<void>;
  /** After kill() and before a restart, once the process is gone. */
  afterExit?(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(text: string, lines: number): string {
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all.slice(-lines).join("\n");
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
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

/** process.kill, where the target may be gone already (a negative pid is a process group). */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
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

// Every server this process started and has not stopped: SIGKILLed on exit.
const live = new Set<ServerProcess>();
let exitHook = false;
function ensureExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on("exit", () => {
    for (const s of live) s.killNow();
  });
}

/** One private server's process, across restarts, until stop(). */
export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private running = false;
  private removed = false;
  private stdio = "";
  private lastStartMs = 0;
  private secret: string;

  constructor(private readonly spec: ServerSpec) {
    this.secret = spec.secret;
    live.add(this);
    ensureExitHook();
  }

  /** True once stop() was called. */
  get stopped(): boolean {
    return this.removed;
  }

  /** The handle tests get: the common fields, then `extra`'s (getters kept). */
  handle<X extends object>(extra: X): PrivateServer & X {
    const { c2sPort, componentPort, userDomain, componentDomain, baseDir, configFile } = this.spec;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below have their own `this` and must read the live server
    const self = this;
    const base: PrivateServer = {
      c2sPort,
      componentPort,
      c2sService: `xmpp://${HOST}:${c2sPort}`,
      componentService: `xmpp://${HOST}:${componentPort}`,
      userDomain,
      componentDomain,
      get secret() {
        return self.secret;
      },
      baseDir,
      configFile,
      get pid() {
        return self.running ? self.child?.pid : undefined;
      },
      get lastStartMs() {
        return self.lastStartMs;
      },
      registerUser: (username, password) => self.registerUser(username, password),
      stop: () => self.stop(),
      kill: () => self.kill(),
      restart: (opts) => self.restart(opts),
      logTail: (lines) => self.logTail(lines),
      log: () => self.log(),
    };
    return Object.defineProperties(base, Object.getOwnPropertyDescriptors(extra)) as PrivateServer & X;
  }

  /** The first start, then the users; stops (and removes the temp dir) when either fails. */
  async start(users: ServerUser[] = []): Promise<void> {
    try {
      await this.spawn();
      await Promise.all(users.map((u) => this.registerUser(u.username, u.password)));
    } catch (err) {
      await this.stop().catch(() => {});
      throw err;
    }
  }

  log(): string {
    return readOrEmpty(this.spec.logFile);
  }

  logTail(lines = 40): string {
    const { errorLogFile } = this.spec;
    const out = tail(this.stdio, 15);
    const errors = errorLogFile ? tail(readOrEmpty(errorLogFile), 20) : "";
    return (
      tail(this.log(), lines) +
      (errors ? `\n--- ${basename(errorLogFile!)} ---\n${errors}` : "") +
      (out ? `\n--- stdout/stderr ---\n${out}` : "")
    );
  }

  async registerUser(username: string, password: string): Promise<void> {
    if (this.removed) throw new Error(`${this.spec.name} was stopped`);
    await this.spec.register(username, password);
  }

  async stop(): Promise<void> {
    if (this.removed) return;
    try {
      await this.terminate("SIGTERM");
    } finally {
      this.removed = true;
      live.delete(this);
      rmSync(this.spec.baseDir, { recursive: true, force: true });
    }
  }

  async kill(): Promise<void> {
    await this.terminate("SIGKILL");
    this.spec.afterExit?.();
  }

  async restart(opts: { secret?: string } = {}): Promise<void> {
    const { spec } = this;
    if (this.removed) throw new Error(`${spec.name} was stopped; start a new one`);
    await this.terminate("SIGTERM");
    spec.afterExit?.();
    if (opts.secret !== undefined && opts.secret !== this.secret) {
      this.secret = opts.secret;
      spec.writeConfig(this.secret);
    }
    await waitPortsFree([spec.c2sPort, spec.componentPort, ...(spec.otherPorts ?? [])]);
    await this.spawn();
  }

  /** From the exit hook: no waiting. */
  killNow(): void {
    if (this.child?.pid !== undefined && this.running) this.hardKill(this.child.pid);
    rmSync(this.spec.baseDir, { recursive: true, force: true });
  }

  private hardKill(pid: number): void {
    signal(this.spec.wrapper ? -pid : pid, "SIGKILL");
  }

  private async spawn(): Promise<void> {
    const { name, c2sPort, componentPort, startTimeoutMs } = this.spec;
    const t0 = performance.now();
    // setsid: out of the test runner's process group (a Ctrl-C there must not
    // race our own shutdown) and a group of its own. Without `detached`, setsid
    // does not fork, so the child's pid is the command's.
    const proc = spawn("setsid", this.spec.command, { cwd: this.spec.baseDir, env: this.spec.env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = proc;
    this.running = true;
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      proc.once("error", (err) => {
        exitInfo = `could not run ${name}: ${err.message}`;
        this.running = false;
        resolve();
      });
      proc.once("exit", (code, sig) => {
        exitInfo = `${name} exited (${sig ?? `code ${code}`})`;
        this.running = false;
        resolve();
      });
    });
    const capture = (chunk: Buffer) => {
      this.stdio = (this.stdio + chunk.toString("utf8")).slice(-20_000);
    };
    proc.stdout?.on("data", capture);
    proc.stderr?.on("data", capture);
    if (proc.pid !== undefined) this.startWatchdog(proc.pid);

    const portTaken = () => this.spec.portTaken.test(this.stdio) || this.spec.portTaken.test(this.log());
    const givenUp = async () => {
      await this.terminate("SIGKILL");
      return new PortTakenError(`${name} could not open its ports; log tail:\n${this.logTail()}`);
    };
    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (!this.running) {
        const msg = `${exitInfo ?? `${name} exited`} during start-up; log tail:\n${this.logTail()}`;
        throw portTaken() ? new PortTakenError(msg) : new Error(msg);
      }
      if (portTaken()) throw await givenUp();
      if ((await canConnect(c2sPort)) && (await canConnect(componentPort))) break;
      if (Date.now() > deadline) {
        await this.terminate("SIGKILL");
        throw new Error(
          `${name} did not accept on ${HOST}:${c2sPort} (c2s) and ${HOST}:${componentPort} (component) within ${startTimeoutMs} ms; log tail:\n${this.logTail()}`,
        );
      }
      await sleep(20);
    }
    // Prosody logs a port it could not open and carries on; another process on that port accepts for it.
    if (portTaken()) throw await givenUp();
    this.lastStartMs = performance.now() - t0;
  }

  /** A root shell that SIGKILLs the server and removes the temp dir if this process dies first. */
  private startWatchdog(pid: number): void {
    // (dash's kill takes no `--`: a negative pid right after the signal is the process group.)
    const target = this.spec.wrapper ? `"-$2"` : `"$2"`;
    const script = `while kill -0 "$1" 2>/dev/null; do kill -0 ${target} 2>/dev/null || exit 0; sleep 0.5; done; kill -KILL ${target} 2>/dev/null; rm -rf "$3"`;
    const name = `${this.spec.name.toLowerCase()}-watchdog`;
    const dog = spawn("sh", ["-c", script, name, String(process.pid), String(pid), this.spec.baseDir], { detached: true, stdio: "ignore" });
    dog.unref();
  }

  /** Bounded: SIGKILL after the grace (SIGTERM) or 2 s (SIGKILL); throws if even that does not end it. */
  private async terminate(sig: "SIGTERM" | "SIGKILL"): Promise<void> {
    const { name, wrapper, stopGraceMs } = this.spec;
    const pid = this.child?.pid;
    if (!pid || !this.running) return;
    const gone = () => this.exited.then(() => true);
    if (sig === "SIGKILL") this.hardKill(pid);
    else if (!wrapper) signal(pid, "SIGTERM");
    else {
      const vms = childrenOf(pid);
      if (vms.length === 0) signal(-pid, "SIGTERM"); // still in the script: no server yet
      for (const vm of vms) signal(vm, "SIGTERM");
    }
    const bound = sig === "SIGTERM" ? stopGraceMs : 2000;
    if (await Promise.race([gone(), sleep(bound).then(() => false)])) {
      if (wrapper) signal(-pid, "SIGKILL"); // what the server left in its group (port programs), if any
      return;
    }
    this.hardKill(pid);
    if (!(await Promise.race([gone(), sleep(2000).then(() => false)]))) {
      throw new Error(`${name} (pid ${pid}) did not exit after SIGKILL`);
    }
  }
}
