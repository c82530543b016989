// The scale-out run (issue 19):
//   npm run scaleout [-- --profile short|full] [--no-build] [--keep]
//
// On one private PostgreSQL database each: three routers on a private
// ejabberd without domain_balancing (all active, `xmpp.standby: false`), and
// the Prosody active/standby pair (the fault suite's standby scenario).
// Careful clients (receipts, resends with the same ids) write to bot and
// operator conversations; one router is killed -9 mid-traffic. Prints the
// fault suite's table (answered once / twice same id / twice different ids /
// never) and the takeover times; exits 1 when a target of issue 19 is missed
// (0 never answered, 0 twice with different ids, takeover under 10 s).
// Loopback only; everything it starts is stopped at the end.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import xml from "@xmpp/xml";
import { startEjabberd, type Ejabberd } from "../test/e2e/harness/ejabberd.js";
import { startProsody, type Prosody } from "../test/e2e/harness/prosody.js";
import { startGmsSimulator, type GmsSimulator } from "../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../tools/sample-bot/bot.js";
import { CarefulClient, type CarefulOptions } from "./careful-client.js";
import { secs } from "./format.js";
import { Ledger } from "./ledger.js";
import { startPostgres, type PrivatePostgres } from "./postgres.js";
import { PROFILES, type Profile } from "./profile.js";
import { REPO } from "./router-process.js";
import { RouterRun } from "./router-run.js";
import { BOT_CHANNEL, faultDirectory, GMS_SERVICE, OPERATOR_CHANNEL, standbyTakeover, type Outcome } from "./scenarios.js";
import { renderNotes, renderTable } from "./table.js";
import { drain, sendTraffic } from "./traffic.js";
import { superviseRun } from "./supervise.js";

const { values: argv } = parseArgs({
  options: {
    profile: { type: "string", default: "short" },
    "no-build": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
  },
});
const profile: Profile | undefined = PROFILES[argv.profile as Profile["name"]];
if (!profile) {
  console.error(`--profile: short or full, not ${argv.profile}`);
  process.exit(2);
}
const TAKEOVER_TARGET_MS = 10_000;
/** outbox.takeoverMs of the ejabberd routers: the rows a dead instance held wait this long (docs/operations.md). */
const OUTBOX_TAKEOVER_MS = 5000;
const RUN_BOUND_MS = 10 * 60_000;
const t0 = performance.now();
const log = (line: string) => process.stderr.write(`[scaleout ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const workDir = mkdtempSync(join(tmpdir(), "eime-scaleout-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msisdnOf = (i: number) => `39348${String(i + 1).padStart(7, "0")}`;

let pg: PrivatePostgres | undefined;
let ejabberd: Ejabberd | undefined;
let prosody: Prosody | undefined;
let bot: SampleBot | undefined;
let gms: GmsSimulator | undefined;
const clients: CarefulClient[] = [];
const routers: RouterRun[] = [];

async function cleanup(): Promise<void> {
  for (const r of routers) await r.stop().catch(() => undefined);
  await Promise.all(clients.map((c) => c.stop()));
  await ejabberd?.stop().catch((e: Error) => log(`ejabberd stop: ${e.message}`));
  await prosody?.stop().catch((e: Error) => log(`prosody stop: ${e.message}`));
  await pg?.stop().catch((e: Error) => log(`postgres stop: ${e.message}`));
  await bot?.stop().catch(() => undefined);
  await gms?.stop().catch(() => undefined);
  if (!argv.keep) rmSync(workDir, { recursive: true, force: true });
  else log(`logs kept in ${workDir}`);
}
const shutdown = superviseRun(cleanup, RUN_BOUND_MS, log);

/**
 * After the kill: one disco#info probe to the domain every 100 ms from a client; a probe that
 * gets an error or no answer went to the dead connection. Takeover = the last such probe.
 */
async function probeTakeover(client: CarefulClient, domain: string, killedAt: number, forMs: number): Promise<number> {
  let lastLost = 0;
  while (performance.now() - killedAt < forMs) {
    const iq = xml("iq", { type: "get", to: domain }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }));
    const sentAt = performance.now();
    const ok = await client.tc.iq(iq, 1500).then(
      () => true,
      () => false,
    );
    if (!ok) lastLost = sentAt - killedAt;
    await sleep(100);
  }
  return lastLost;
}

async function ejabberdTrio(p: Profile, seedFile: string, opts: CarefulOptions): Promise<{ outcome: Outcome; takeoverMs: number }> {
  const users = Array.from({ length: p.clients }, (_, i) => ({ username: msisdnOf(i), password: `pw-${msisdnOf(i)}` }));
  log(`starting a private ejabberd (no domain_balancing), ${users.length} users`);
  ejabberd = await startEjabberd({ users, privilege: false });
  const url = await pg!.createDatabase(`scaleout_ejabberd_${Date.now().toString(36)}`);
  const common = {
    workDir,
    prosody: ejabberd,
    pg: pg!,
    seedFile,
    genesysUrl: gms!.url,
    log,
    databaseUrl: url,
    xmppStandby: false,
    outboxTakeoverMs: OUTBOX_TAKEOVER_MS,
  };
  for (const tag of ["a", "b", "c"]) routers.push(await RouterRun.start({ ...common, name: `ejabberd-${tag}` }));
  log("three routers ready on ejabberd, one database");
  const trio = users.map((u) => CarefulClient.connect(ejabberd!, u.username, u.password, opts));
  const mine = await Promise.all(trio);
  clients.push(...mine);
  const ledger = new Ledger();
  gms!.reset();
  gms!.setScript({ joinAfterMs: 100, replies: "echo", readsBacklog: true });
  for (const c of mine) c.use(ledger);
  let takeoverMs = Number.NaN;
  let killedAt = 0;
  const victim = routers[1]!;
  const kill = async () => {
    await victim.kill9();
    killedAt = performance.now();
    log("ejabberd: router b killed -9");
    takeoverMs = await probeTakeover(mine[0]!, ejabberd!.componentDomain, killedAt, 6000);
  };
  const botPlan = {
    prefix: "e",
    messages: p.messages,
    ratePerSecond: p.ratePerSecond,
    channel: BOT_CHANNEL,
    titles: p.titles,
    fault: kill,
    faultAt: 0.4,
    burst: Math.max(5, Math.round(p.messages / 10)),
  };
  const opPlan = { prefix: "eo", messages: p.gmsMessages, ratePerSecond: 4, channel: OPERATOR_CHANNEL, titles: 1 };
  await Promise.all([sendTraffic(mine, botPlan), sendTraffic(mine, opPlan)]);
  await drain(ledger, p.drainMs, p.graceMs);
  if (argv.keep) writeFileSync(join(workDir, "ledger-ejabberd.json"), ledger.dump());
  const summary = ledger.summary();
  log(`ejabberd: kill -9 at ${secs(killedAt - t0)} s of the run`);
  const deaths = routers.flatMap((r) => r.deaths);
  return {
    outcome: {
      name: "ejabberd, 3 routers, kill -9 of one",
      summary,
      readyMs: takeoverMs,
      died: deaths.length > 0,
      deaths,
      notes: [
        `"s to ready": the last lost disco#info probe after the kill (ejabberd removes the dead route)`,
        `slowest answer ${secs(summary.slowestAnswerMs)} s (the rows the dead instance held wait for outbox.takeoverMs = ${secs(OUTBOX_TAKEOVER_MS)} s)`,
      ],
    },
    takeoverMs,
  };
}

async function prosodyPair(p: Profile, seedFile: string, opts: CarefulOptions): Promise<Outcome> {
  const users = Array.from({ length: p.clients }, (_, i) => ({ username: msisdnOf(i), password: `pw-${msisdnOf(i)}` }));
  log(`starting a private Prosody, ${users.length} users`);
  prosody = await startProsody({ users, offline: true, privilege: false });
  const pair = await Promise.all(users.map((u) => CarefulClient.connect(prosody!, u.username, u.password, opts)));
  clients.push(...pair);
  const outcome = await standbyTakeover.run(
    { profile: p, prosody, pg: pg!, bot: bot!, gms: gms!, clients: pair, workDir, seedFile, keep: argv.keep, log },
    1,
  );
  return { ...outcome, name: "Prosody pair, kill -9 of the active" };
}

async function main(): Promise<number> {
  const p = profile!;
  if (!argv["no-build"]) {
    log("building the router (tsc -p tsconfig.build.json)");
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO, stdio: "inherit" });
  }
  log("starting a private PostgreSQL (initdb)");
  pg = await startPostgres();
  bot = await startSampleBot({ port: 0 });
  gms = await startGmsSimulator({ port: 0 });
  const seedFile = join(workDir, "directory.json");
  writeFileSync(seedFile, JSON.stringify(faultDirectory(bot.url, p), null, 2));
  const opts = { receiptTimeoutMs: p.receiptTimeoutMs, maxResends: p.maxResends, resendBackoffMs: p.resendBackoffMs };
  const { outcome: trio, takeoverMs } = await ejabberdTrio(p, seedFile, opts);
  for (const r of routers.splice(0)) await r.stop();
  const pair = await prosodyPair(p, seedFile, opts);
  const outcomes = [trio, pair];
  console.log(`\nScale-out (profile ${p.name}, GMS service ${GMS_SERVICE}, ${new Date().toISOString().slice(0, 16)}Z)\n`);
  console.log(renderTable(outcomes));
  console.log(`\n${renderNotes(outcomes)}\n`);
  console.log(
    `takeover: ejabberd routing ${secs(takeoverMs)} s (last lost probe), slowest answer ${secs(trio.summary.slowestAnswerMs)} s; ` +
      `Prosody pair ready ${pair.readyMs === undefined ? "never" : `${secs(pair.readyMs)} s`} after the kill, slowest answer ${secs(pair.summary.slowestAnswerMs)} s`,
  );
  const missed = outcomes.flatMap((o) => [
    ...(o.summary.never > 0 ? [`${o.name}: ${o.summary.never} never answered`] : []),
    ...(o.summary.twiceDifferentIds > 0 ? [`${o.name}: ${o.summary.twiceDifferentIds} answered twice with different ids`] : []),
    ...(!(o.readyMs !== undefined && o.readyMs < TAKEOVER_TARGET_MS) ? [`${o.name}: takeover not within 10 s`] : []),
    ...(o.summary.slowestAnswerMs >= 2 * TAKEOVER_TARGET_MS ? [`${o.name}: an answer took ${secs(o.summary.slowestAnswerMs)} s`] : []),
    ...(o.died ? [`${o.name}: a router died by itself`] : []),
  ]);
  console.log(missed.length === 0 ? "targets: all met" : `targets missed:\n${missed.map((m) => `- ${m}`).join("\n")}`);
  return missed.length > 0 ? 1 : 0;
}

main().then(
  (code) => shutdown(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    shutdown(2);
  },
);
