// The router of one scenario: a fresh database on the private PostgreSQL, a
// config file, and the router process, supervised as systemd would
// (Restart=always): when it dies by itself the death is recorded and it is
// started again, so the rest of the scenario still measures something.
import { join } from "node:path";
import { freePort } from "../test/e2e/harness/free-port.js";
import type { Prosody } from "../test/e2e/harness/prosody.js";
import type { PrivatePostgres } from "./postgres.js";
import { deathNote, isReady, startRouterProcess, waitReady, writeRouterConfig, type RouterProcess } from "./router-process.js";

export interface RouterRunDeps {
  name: string;
  workDir: string;
  /** The XMPP server: the private Prosody, or an ejabberd (same fields). */
  prosody: Pick<Prosody, "componentService" | "componentDomain" | "secret" | "userDomain">;
  pg: PrivatePostgres;
  seedFile: string;
  genesysUrl: string;
  log: (line: string) => void;
  /** Per-sender message rate (xmpp.senderRateMessages); unset: the router's default. */
  senderRateMessages?: number;
  /** Share this database (a second instance, issue 19) instead of creating one. */
  databaseUrl?: string;
  /** A standby: its HTTP listener opens when it becomes active, so start() does not wait for ready. */
  standby?: boolean;
  /** xmpp.standby of the router (default: the config default, true); false on ejabberd, where all are active. */
  xmppStandby?: boolean;
  /** outbox.takeoverMs of the router (default: the config default). */
  outboxTakeoverMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RouterRun {
  /** One line per death by itself (exit code or signal and the log's last words). */
  readonly deaths: string[] = [];
  private proc: RouterProcess | undefined;
  private stopping = false;
  private starts = 0;
  /** Sampled /health/ready: how often and how long it was not ready. */
  private readonly readiness = { samples: 0, notReady: 0, episodes: 0, last: true, timer: undefined as NodeJS.Timeout | undefined };

  private constructor(
    private readonly deps: RouterRunDeps,
    readonly httpPort: number,
    private readonly configFile: string,
    readonly databaseUrl: string,
  ) {}

  static async start(deps: RouterRunDeps): Promise<RouterRun> {
    const db = `faults_${deps.name.replace(/[^a-z0-9]/g, "_")}_${Date.now().toString(36)}`;
    const url = deps.databaseUrl ?? (await deps.pg.createDatabase(db));
    const httpPort = await freePort();
    const configFile = join(deps.workDir, `router-${deps.name}.json`);
    writeRouterConfig(configFile, {
      instanceId: `faults-${deps.name}`,
      xmpp: {
        service: deps.prosody.componentService,
        domain: deps.prosody.componentDomain,
        secret: deps.prosody.secret,
        userDomain: deps.prosody.userDomain,
        ...(deps.senderRateMessages === undefined ? {} : { senderRateMessages: deps.senderRateMessages }),
        ...(deps.xmppStandby === undefined ? {} : { standby: deps.xmppStandby }),
      },
      databaseUrl: url,
      httpPort,
      seedFile: deps.seedFile,
      genesysUrl: deps.genesysUrl,
      genesysPollMs: 500,
      ...(deps.outboxTakeoverMs === undefined ? {} : { outboxTakeoverMs: deps.outboxTakeoverMs }),
    });
    const run = new RouterRun(deps, httpPort, configFile, url);
    await run.spawn();
    if (deps.standby) return run;
    const ready = await waitReady(httpPort, 60_000, run.proc);
    if (ready === undefined) throw new Error(`${deps.name}: the router was not ready within 60 s:\n${deathNote(run.logFile)}`);
    run.watchReadiness();
    return run;
  }

  get logFile(): string {
    return join(this.deps.workDir, `router-${this.deps.name}.log`);
  }

  get died(): boolean {
    return this.deaths.length > 0;
  }

  private async spawn(): Promise<void> {
    this.starts++;
    const proc = startRouterProcess(this.configFile, this.logFile);
    this.proc = proc;
    void proc.exited.then(async ({ code, signal }) => {
      if (!proc.diedByItself() || this.stopping) return;
      const line = `router died by itself (${signal ?? `exit ${code}`}): ${deathNote(this.logFile, 3).replace(/\n/g, " | ").slice(0, 400)}`;
      this.deaths.push(line);
      this.deps.log(`${this.deps.name}: ${line}; restarting it in 1 s (as a supervisor would)`);
      await sleep(1000);
      if (!this.stopping && this.proc === proc) await this.spawn();
    });
  }

  private watchReadiness(): void {
    const r = this.readiness;
    const tick = async () => {
      const ok = await isReady(this.httpPort);
      r.samples++;
      if (!ok) r.notReady++;
      if (!ok && r.last) r.episodes++;
      r.last = ok;
      if (!this.stopping) r.timer = setTimeout(() => void tick(), 250);
    };
    void tick();
  }

  /** "not ready 3× (~1.2 s)": from 4 samples a second while the scenario ran. */
  readinessNote(): string {
    const r = this.readiness;
    return r.episodes === 0 ? "always ready" : `not ready ${r.episodes}× (~${(r.notReady / 4).toFixed(1)} s)`;
  }

  /** kill -9, as a crash or the OOM killer would. */
  async kill9(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    await proc?.kill9();
  }

  /** Starts it again on the same database and config; resolves with ms until ready (undefined: not within the bound). */
  async restart(boundMs = 60_000): Promise<number | undefined> {
    await this.spawn();
    return waitReady(this.httpPort, boundMs);
  }

  /** Ms until /health/ready answers 200 from now (undefined: not within the bound). */
  ready(boundMs: number): Promise<number | undefined> {
    return waitReady(this.httpPort, boundMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.readiness.timer);
    await this.proc?.stop();
  }
}
