// The fault scenarios of issue 12 item 8. Each gets a fresh database and
// router, runs careful traffic with one fault in its middle, and returns what
// the ledger saw plus how long /health/ready took to come back after the fault
// cleared and whether the router died by itself. What each one proves is in
// docs/reliability.md.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Prosody } from "../test/e2e/harness/prosody.js";
import type { GmsSimulator } from "../tools/gms-simulator/server.js";
import type { SampleBot } from "../tools/sample-bot/bot.js";
import type { CarefulClient } from "./careful-client.js";
import { fmtMap, secs } from "./format.js";
import { Ledger, type Summary } from "./ledger.js";
import { mutatedStanzas } from "./mutations.js";
import type { PrivatePostgres } from "./postgres.js";
import type { Profile } from "./profile.js";
import { deathNote } from "./router-process.js";
import { RouterRun } from "./router-run.js";
import { drain, sendTraffic } from "./traffic.js";

export const BOT_CHANNEL = "eco";
export const LOCK_CHANNEL = "lenta";
export const OPERATOR_CHANNEL = "operatori";
export const FILE_CHANNEL = "allegati";
export const GMS_SERVICE = "faults";

export interface Env {
  profile: Profile;
  prosody: Prosody;
  pg: PrivatePostgres;
  bot: SampleBot;
  gms: GmsSimulator;
  clients: CarefulClient[];
  workDir: string;
  seedFile: string;
  /** Write each scenario's ledger into workDir. */
  keep: boolean;
  log: (line: string) => void;
}

export interface Outcome {
  name: string;
  summary: Summary;
  /** Ms until ready after the fault cleared; undefined: not within the bound. */
  readyMs: number | undefined;
  died: boolean;
  deaths: string[];
  notes: string[];
}

export interface Scenario {
  name: string;
  /** `round` (1, 2, …) keeps the names of repeated runs apart. */
  run(env: Env, round: number): Promise<Outcome>;
}

/** Bound on waiting for /health/ready after a fault (the target is 5 s). */
const READY_BOUND_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The channels of the run, in the admin directory format (directory.seedFile). */
export function faultDirectory(botUrl: string, p: Profile): { items: unknown[] } {
  const info = (name: string) => ({ name, status: "", imageUrl: "", thumbUrl: "", defaultMessage: "" });
  const channel = (address: string, route: unknown) => ({
    address,
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: true,
    info: info(address),
    route,
  });
  return {
    items: [
      // The sample bot's echo keeps no state, so its channels say `idempotent` and a call that failed or
      // timed out is tried again (docs/delivery.md); a stock Rasa's channel would not, and its user gets
      // ROUTER_BOT_UNAVAILABLE#0001 instead of a repeated turn (backends.md section 1).
      channel(BOT_CHANNEL, { mode: "bot", bot: { url: botUrl, timeoutMs: p.botTimeoutMs, idempotent: true } }),
      channel(LOCK_CHANNEL, { mode: "bot", bot: { url: botUrl, timeoutMs: p.lockTimeoutMs, idempotent: true } }),
      channel(FILE_CHANNEL, { mode: "bot", bot: { url: botUrl, timeoutMs: p.botTimeoutMs, idempotent: true } }),
      channel(OPERATOR_CHANNEL, { mode: "operator", genesys: { serviceName: GMS_SERVICE } }),
    ],
  };
}

/** Fresh ledger, backends back to normal, a router of its own; the body returns the ready time and notes. */
async function withRouter(
  env: Env,
  name: string,
  body: (run: RouterRun, ledger: Ledger) => Promise<{ readyMs: number | undefined; notes?: string[] }>,
  senderRateMessages?: number,
): Promise<Outcome> {
  const ledger = new Ledger();
  await env.bot.setMode("normal");
  env.bot.setFileDelay(0);
  env.bot.reset();
  env.gms.reset();
  env.gms.setScript({ joinAfterMs: 100, replies: "echo", readsBacklog: true });
  await Promise.all(env.clients.map((c) => c.tc.waitOnline(30_000)));
  for (const c of env.clients) c.use(ledger);
  const run = await RouterRun.start({
    name,
    workDir: env.workDir,
    prosody: env.prosody,
    pg: env.pg,
    seedFile: env.seedFile,
    genesysUrl: env.gms.url,
    log: env.log,
    senderRateMessages,
  });
  try {
    const { readyMs, notes = [] } = await body(run, ledger);
    notes.push(`slowest answer ${secs(ledger.summary().slowestAnswerMs)} s`, run.readinessNote());
    return { name, summary: ledger.summary(), readyMs, died: run.died, deaths: run.deaths, notes };
  } finally {
    await run.stop();
    if (env.keep) writeFileSync(join(env.workDir, `ledger-${name}.json`), ledger.dump());
  }
}

function plan(env: Env, prefix: string, fault?: () => Promise<void>, faultAt = 0.4, burst = 0) {
  const p = env.profile;
  return { prefix, messages: p.messages, ratePerSecond: p.ratePerSecond, channel: BOT_CHANNEL, titles: p.titles, fault, faultAt, burst };
}

/** A burst of this share of the messages goes out just before a process fault, so the fault meets work in flight. */
const burstOf = (env: Env) => Math.max(5, Math.round(env.profile.messages / 10));

const drainAll = (env: Env, ledger: Ledger, extraMs = 0) => drain(ledger, env.profile.drainMs + extraMs, env.profile.graceMs);

export const routerKill: Scenario = {
  name: "router kill -9",
  run: (env, round) =>
    withRouter(env, `kill${round}`, async (run, ledger) => {
      let readyMs: number | undefined;
      await sendTraffic(
        env.clients,
        plan(
          env,
          `k${round}`,
          async () => {
            await run.kill9();
            readyMs = await run.restart(READY_BOUND_MS); // cleared at once: restarted on the same database
          },
          0.4,
          burstOf(env),
        ),
      );
      await drainAll(env, ledger);
      return { readyMs, notes: ["ready: from the restart's spawn"] };
    }),
};

/** How long the sample bot's file server takes: long enough for a kill to meet fetches under way. */
const FILE_DELAY_MS = 700;

/**
 * A bot's file the router fetches and serves itself (protocol.md section 10),
 * in flight when the router is killed -9: each message is answered by a file
 * (the sample bot's "file …" at a loopback URL, served slowly), so at the kill
 * some files are being fetched, some stored and not yet sent. Each must reach
 * the user once, at the router's signed URL.
 */
export const fileKill: Scenario = {
  name: "router kill -9, files in flight",
  run: (env, round) =>
    withRouter(env, `filekill${round}`, async (run, ledger) => {
      let readyMs: number | undefined;
      env.bot.setFileDelay(FILE_DELAY_MS);
      const traffic = {
        ...plan(
          env,
          `f${round}`,
          async () => {
            await run.kill9();
            readyMs = await run.restart(READY_BOUND_MS);
          },
          0.4,
          burstOf(env),
        ),
        channel: FILE_CHANNEL,
        file: true,
      };
      await sendTraffic(env.clients, traffic);
      await drainAll(env, ledger);
      const fetches = env.bot.fileRequests;
      return {
        readyMs,
        notes: [
          `each answer a file fetched from the bot in ${FILE_DELAY_MS} ms; ${fetches} fetches for ${traffic.messages} files (more: fetched again after the kill); ready: from the restart's spawn`,
        ],
      };
    }),
};

export const prosodyRestart: Scenario = {
  name: "Prosody restart",
  run: (env, round) =>
    withRouter(env, `prosody${round}`, async (run, ledger) => {
      let readyMs: number | undefined;
      await sendTraffic(
        env.clients,
        plan(
          env,
          `x${round}`,
          async () => {
            await env.prosody.restart();
            readyMs = await run.ready(READY_BOUND_MS);
          },
          0.4,
          burstOf(env),
        ),
      );
      await drainAll(env, ledger);
      return { readyMs };
    }),
};

export const postgresRestart: Scenario = {
  name: "PostgreSQL restart",
  run: (env, round) =>
    withRouter(env, `postgres${round}`, async (run, ledger) => {
      let readyMs: number | undefined;
      await sendTraffic(
        env.clients,
        plan(
          env,
          `p${round}`,
          async () => {
            await env.pg.restart({ downMs: 1000 });
            readyMs = await run.ready(READY_BOUND_MS);
          },
          0.4,
          burstOf(env),
        ),
      );
      await drainAll(env, ledger);
      return { readyMs, notes: ["down 1 s (pg_ctl stop -m fast, start)"] };
    }),
};

export const botFlaky: Scenario = {
  name: "bot 500s and hangs",
  run: (env, round) =>
    withRouter(env, `bot${round}`, async (run, ledger) => {
      const p = env.profile;
      await env.bot.setMode({ failRate: 0.5, hangRate: 0.25, hangMs: p.flakyHangMs, seed: 12 });
      await sendTraffic(env.clients, plan(env, `b${round}`));
      await env.bot.setMode("normal");
      const readyMs = await run.ready(READY_BOUND_MS);
      await drainAll(env, ledger);
      return {
        readyMs,
        notes: [`50% HTTP 500, 25% hang ${p.flakyHangMs} ms (timeoutMs ${p.botTimeoutMs})`],
      };
    }),
};

export const botLock: Scenario = {
  name: "bot hangs past timeoutMs twice",
  run: (env, round) =>
    withRouter(env, `lock${round}`, async (run, ledger) => {
      const p = env.profile;
      await env.bot.setMode({ hangCalls: 2, hangMs: p.lockHangMs });
      const n = Math.min(p.lockMessages, env.clients.length);
      for (let i = 0; i < n; i++) env.clients[i]!.send(LOCK_CHANNEL, "lock", `l${round}.${i}`);
      // Worst case of today's bot adapter: (retries + 1) × timeoutMs plus backoff.
      await drainAll(env, ledger, 4 * p.lockTimeoutMs);
      const readyMs = await run.ready(READY_BOUND_MS);
      return {
        readyMs,
        notes: [
          `timeoutMs ${p.lockTimeoutMs}, the first 2 calls per message hang ${p.lockHangMs} ms`,
          `bot calls per message: ${callsPerMessage(env.bot).join(", ")} (3 = two hangs, then the answer; more: called again while a call ran)`,
        ],
      };
    }),
};

/** Webhook calls per user message (event "message"), by messageId, in order of arrival. */
function callsPerMessage(bot: SampleBot): number[] {
  const calls = new Map<string, number>();
  for (const r of bot.requests) {
    const id = r.metadata?.messageId;
    if ((r.metadata?.event ?? "message") === "message" && id) calls.set(id, (calls.get(id) ?? 0) + 1);
  }
  return [...calls.values()];
}

export const gmsFailures: Scenario = {
  name: "GMS 500, statusCode 1/2, garbage",
  run: (env, round) =>
    withRouter(env, `gms${round}`, async (run, ledger) => {
      const p = env.profile;
      const rounds = Math.max(1, Math.round(p.gmsMessages / 16));
      const injections = async () => {
        for (let i = 0; i < rounds; i++) {
          env.gms.inject({ op: "request", kind: "http500" });
          env.gms.inject({ op: "send", kind: "statusCode", statusCode: 1 });
          env.gms.inject({ op: "refresh", kind: "garbage" });
          env.gms.inject({ op: "send", kind: "http500" });
          env.gms.inject({ op: "refresh", kind: "statusCode", statusCode: 2, endsChat: true });
          env.gms.inject({ op: "send", kind: "garbage" });
        }
      };
      const traffic = { ...plan(env, `g${round}`, injections, 0.25), messages: p.gmsMessages, channel: OPERATOR_CHANNEL, titles: 1 };
      traffic.ratePerSecond = Math.min(traffic.ratePerSecond, 4);
      await sendTraffic(env.clients, traffic);
      const t0 = Date.now();
      while (env.gms.pendingInjections().length > 0 && Date.now() - t0 < 30_000) await sleep(100);
      const left = env.gms.pendingInjections().length;
      const readyMs = await run.ready(READY_BOUND_MS);
      await drainAll(env, ledger);
      const s = ledger.summary();
      return {
        readyMs,
        notes: [`${rounds * 6} injected failures (${left} not used up); ${s.byNotice} answered by a GENESYS notice only`],
      };
    }),
};

// The per-sender rate would answer most mutants RATE_LIMITED before they reach
// the decoders this scenario is about; the rate has its own tests.
const NO_SENDER_RATE = 0;

export const malformed: Scenario = {
  name: "malformed/mutated stanzas",
  run: (env, round) =>
    withRouter(
      env,
      `malformed${round}`,
      async (run, ledger) => {
        const p = env.profile;
        const [attacker, other] = env.clients as [CarefulClient, CarefulClient];
        let readyMs: number | undefined;
        const flood = async () => {
          const ctx = {
            msisdn: attacker.msisdn,
            otherMsisdn: other.msisdn,
            channel: BOT_CHANNEL,
            componentDomain: env.prosody.componentDomain,
          };
          let n = 0;
          for (const stanza of mutatedStanzas(p.mutants, 7, ctx)) {
            await attacker.sendRaw(stanza);
            // About 200/s: within one sender's share, so the mutants reach the decoders, not the BUSY guard.
            if (++n % 10 === 0) await sleep(50);
          }
          readyMs = await run.ready(READY_BOUND_MS);
        };
        await sendTraffic(env.clients.slice(1), plan(env, `m${round}`, flood, 0.1));
        await drainAll(env, ledger);
        const replied = [...ledger.noise.values()].reduce((a, b) => a + b, 0);
        return { readyMs, notes: [`${p.mutants} mutated stanzas: ${replied} error replies (${fmtMap(ledger.noise)})`] };
      },
      NO_SENDER_RATE,
    ),
};

/**
 * Prosody active/standby (issue 19): a second router on the same database waits on the domain
 * lock; the active one is killed -9 mid-traffic (bot and operator conversations); the standby
 * must take over (ready = component online) and every message be answered once.
 */
export const standbyTakeover: Scenario = {
  name: "standby takeover (kill -9 of the active)",
  run: (env, round) =>
    withRouter(env, `standby${round}`, async (active, ledger) => {
      const standby = await RouterRun.start({
        name: `standby${round}-b`,
        workDir: env.workDir,
        prosody: env.prosody,
        pg: env.pg,
        seedFile: env.seedFile,
        genesysUrl: env.gms.url,
        log: env.log,
        databaseUrl: active.databaseUrl,
        standby: true,
      });
      try {
        let readyMs: number | undefined;
        // Traffic starts once the standby has met the lock (its start-up is not the takeover).
        const waitingSince = Date.now();
        while (
          !readFileSync(standby.logFile, { encoding: "utf8", flag: "a+" }).includes("standby: another instance holds the component domain")
        ) {
          if (Date.now() - waitingSince > 60_000) throw new Error(`the standby never waited on the lock:\n${deathNote(standby.logFile)}`);
          await sleep(100);
        }
        const notReadyBefore = !(await standby.ready(200));
        const kill = async () => {
          await active.kill9();
          readyMs = await standby.ready(READY_BOUND_MS);
        };
        const p = env.profile;
        const operators = { ...plan(env, `so${round}`), messages: p.gmsMessages, channel: OPERATOR_CHANNEL, titles: 1, ratePerSecond: 4 };
        await Promise.all([sendTraffic(env.clients, plan(env, `s${round}`, kill, 0.4, burstOf(env))), sendTraffic(env.clients, operators)]);
        await drainAll(env, ledger);
        return {
          readyMs,
          notes: [
            `standby ${notReadyBefore ? "not ready" : "**ready**"} while the active one lived; ready: the standby's, from the kill -9`,
            ...standby.deaths.map((d) => `standby: ${d}`),
          ],
        };
      } finally {
        await standby.stop();
      }
    }),
};

export const SCENARIOS: Scenario[] = [
  routerKill,
  fileKill,
  prosodyRestart,
  postgresRestart,
  botFlaky,
  botLock,
  gmsFailures,
  malformed,
  standbyTakeover,
];
