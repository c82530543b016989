// Process accounting from /proc (Linux): CPU seconds and RSS of any process by
// pid, so each process of the benchmark (Prosody, the component under test,
// the bot, PostgreSQL, the load generator) is charged for its own work.
// And a helper to run a bench module in a child Node process with IPC.
import { type ChildProcess, fork } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on Linux x86). */
const TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  /** Of which in the kernel (system calls: socket writes and reads, ...). */
  systemSeconds: number;
  /** Resident set size, bytes. */
  rss: number;
}

/** CPU and RSS of one process, or undefined when it is gone. */
export function procSample(pid: number): ProcSample | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime 15, rss 24.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: (utime + stime) / TICKS_PER_SECOND, systemSeconds: stime / TICKS_PER_SECOND, rss: rssPages * PAGE_SIZE };
}

/** Summed CPU seconds of every process whose command name is `comm` (e.g. all PostgreSQL backends). */
export function cpuOfCommand(comm: string): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      if (name !== comm) continue;
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    } catch {
      /* exited meanwhile */
    }
  }
  return total;
}

/** This process's CPU seconds (finer than /proc). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The whole machine's busy CPU seconds (all cores), from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [, ...nums] = line.trim().split(/\s+/);
  const v = nums.map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy / TICKS_PER_SECOND;
}

export type Message = { type: string; [key: string]: unknown };

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  /** Sends a command and waits (bounded) for the reply of the same `cmd`. */
  request<T extends Message>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** The first message of `type` from the child (bounded). */
  next<T extends Message>(type: string, timeoutMs: number): Promise<T>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Asks the child to stop (cmd "stop"), then SIGKILL after the bound. */
  stop(timeoutMs?: number): Promise<void>;
  kill(): void;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

/**
 * Runs `module` (a .ts file) in a child Node process with tsx and an IPC
 * channel; stdout and stderr go to `logFile`. `nodeArgs` go before the module
 * (e.g. --cpu-prof, --expose-gc).
 */
export function startChild(module: string, args: string[], opts: { logFile: string; nodeArgs?: string[]; cwd?: string }): Child {
  const fd = openSync(opts.logFile, "a");
  const proc = fork(module, args, {
    execArgv: ["--import", "tsx", ...(opts.nodeArgs ?? [])],
    stdio: ["ignore", fd, fd, "ipc"],
    cwd: opts.cwd ?? process.cwd(),
    env: { ...process.env },
  });
  closeSync(fd);
  live.add(proc);
  const exited = new Promise<number | null>((resolve) => {
    proc.once("exit", (code) => {
      live.delete(proc);
      resolve(code);
    });
  });
  const inbox: Message[] = [];
  const waiters: { type: string; resolve(m: Message): void }[] = [];
  proc.on("message", (raw) => {
    const m = raw as Message;
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
    else inbox.push(m);
  });
  const next = <T extends Message>(type: string, timeoutMs: number): Promise<T> => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        type,
        resolve: (m: Message) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      };
      const timer = setTimeout(() => {
        const j = waiters.indexOf(waiter);
        if (j >= 0) waiters.splice(j, 1);
        reject(new Error(`${module}: no "${type}" message within ${timeoutMs} ms (log: ${opts.logFile})`));
      }, timeoutMs);
      waiters.push(waiter);
      void exited.then((code) => {
        const j = waiters.indexOf(waiter);
        if (j < 0) return;
        waiters.splice(j, 1);
        clearTimeout(timer);
        reject(new Error(`${module} exited (code ${code}) before sending "${type}"; log tail:\n${logTail(opts.logFile, 15)}`));
      });
    });
  };
  const child: Child = {
    proc,
    pid: proc.pid!,
    logFile: opts.logFile,
    request: (cmd, a = {}, timeoutMs = 30_000) => {
      proc.send({ cmd, ...a });
      return next(cmd, timeoutMs);
    },
    next,
    exited,
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      try {
        proc.send({ cmd: "stop" });
      } catch {
        /* channel closed */
      }
      const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), timeoutMs))]);
      if (!done) {
        proc.kill("SIGKILL");
        await exited;
      }
    },
    kill: () => {
      proc.kill("SIGKILL");
    },
  };
  return child;
}

export function logTail(file: string, lines: number): string {
  try {
    const all = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l !== "");
    return all.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** In a child: answer commands from the parent; exits when the parent goes away. */
export function serveParent(handlers: Record<string, (msg: Record<string, unknown>) => Promise<Record<string, unknown> | void>>): void {
  process.on("disconnect", () => process.exit(1));
  process.on("message", (raw) => {
    const msg = raw as { cmd: string } & Record<string, unknown>;
    const h = handlers[msg.cmd];
    if (!h) {
      process.send?.({ type: msg.cmd, error: `unknown command ${msg.cmd}` });
      return;
    }
    h(msg).then(
      (out) => process.send?.({ type: msg.cmd, ...(out ?? {}) }),
      (err: unknown) => process.send?.({ type: msg.cmd, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

/**
 * `--nodelay` (env BENCH_NODELAY=1): TCP_NODELAY on an xmpp.js entity's socket, now and after
 * every reconnect. xmpp.js leaves Nagle's algorithm on; this shows what that costs in latency.
 */
export function noDelay(entity: { socket?: unknown; on(event: string, cb: () => void): unknown }): void {
  const set = () => (entity.socket as { setNoDelay?: (v: boolean) => void } | null | undefined)?.setNoDelay?.(true);
  set();
  entity.on("connect", set);
}

export const noDelayWanted = () => process.env.BENCH_NODELAY === "1";

export const benchDir = new URL(".", import.meta.url).pathname;
export const benchFile = (name: string) => join(benchDir, name);

/** The first process named `comm` among `pid` and its descendants (Linux /proc), e.g. ejabberd's Erlang VM under ejabberdctl. */
export function descendantNamed(pid: number, comm: string): number | undefined {
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    try {
      if (readFileSync(`/proc/${p}/comm`, "utf8").trim() === comm) return p;
      queue.push(...readFileSync(`/proc/${p}/task/${p}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}

/** `uptime`'s load averages (1, 5, 15 min) and the number of cores: how busy the machine is with others' work. */
export function loadLine(): string {
  const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ");
  return `load average ${a} ${b} ${c} on ${readdirSync("/sys/devices/system/cpu").filter((d) => /^cpu\d+$/.test(d)).length} cores`;
}

/** CPU seconds of one thread `tid` of process `pid` (the main thread's tid is the pid), 0 when gone. */
export function threadCpuSeconds(pid: number, tid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
