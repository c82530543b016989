// The fault suite (issue 12 item 8):
//   npm run faults [-- --profile short|full] [--check] [--only NAME,…] [--rounds N] [--no-build] [--keep]
//
// Starts a private PostgreSQL (faults/postgres.ts), a private Prosody with
// offline storage on (test/e2e/harness), the sample bot and the GMS simulator
// (in this process, switched into failure modes per scenario), careful clients
// (faults/careful-client.ts), and for each scenario the router built from this
// checkout as a child process. Prints one table (Markdown) and notes; with
// --check exits 1 when a target is missed. Loopback only; every process it
// starts is stopped at the end (and on SIGINT/SIGTERM).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startProsody, type Prosody } from "../test/e2e/harness/prosody.js";
import { startGmsSimulator, type GmsSimulator } from "../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../tools/sample-bot/bot.js";
import { CarefulClient } from "./careful-client.js";
import { startPostgres, type PrivatePostgres } from "./postgres.js";
import { PROFILES, type Profile } from "./profile.js";
import { REPO } from "./router-process.js";
import { faultDirectory, SCENARIOS, type Env, type Outcome } from "./scenarios.js";
import { missedTargets, renderNotes, renderTable } from "./table.js";
import { superviseRun } from "./supervise.js";

const { values: argv } = parseArgs({
  options: {
    profile: { type: "string", default: "full" },
    check: { type: "boolean", default: false },
    only: { type: "string" },
    "no-build": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    rounds: { type: "string", default: "1" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (argv.help) {
  console.log("usage: npm run faults -- [--profile short|full] [--check] [--only kill,prosody,…] [--rounds N] [--no-build] [--keep]");
  console.log(`scenarios: ${SCENARIOS.map((s) => s.name).join("; ")}`);
  process.exit(0);
}
const profile: Profile | undefined = PROFILES[argv.profile as Profile["name"]];
if (!profile) {
  console.error(`--profile: short or full, not ${argv.profile}`);
  process.exit(2);
}
const rounds = Math.max(1, Number(argv.rounds) || 1);
const wanted = argv.only?.split(",").map((s) => s.trim().toLowerCase());
const scenarios = wanted ? SCENARIOS.filter((s) => wanted.some((w) => s.name.toLowerCase().includes(w))) : SCENARIOS;
/** The whole run is bounded: a hung run must not hang the test command. */
const RUN_BOUND_MS = profile.name === "short" ? 6 * 60_000 : 40 * 60_000;

const t0 = performance.now();
const log = (line: string) => process.stderr.write(`[faults ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
const workDir = mkdtempSync(join(tmpdir(), "eime-faults-"));

let pg: PrivatePostgres | undefined;
let prosody: Prosody | undefined;
let bot: SampleBot | undefined;
let gms: GmsSimulator | undefined;
const clients: CarefulClient[] = [];

async function cleanup(): Promise<void> {
  await Promise.all(clients.map((c) => c.stop()));
  await prosody?.stop().catch((e: Error) => log(`prosody stop: ${e.message}`));
  await pg?.stop().catch((e: Error) => log(`postgres stop: ${e.message}`));
  await bot?.stop().catch(() => undefined);
  await gms?.stop().catch(() => undefined);
  if (!argv.keep) rmSync(workDir, { recursive: true, force: true });
  else log(`logs kept in ${workDir}`);
}

const shutdown = superviseRun(cleanup, RUN_BOUND_MS, log);

const msisdnOf = (i: number) => `39347${String(i + 1).padStart(7, "0")}`;

async function setUp(p: Profile): Promise<Env> {
  if (!argv["no-build"]) {
    log("building the router (tsc -p tsconfig.build.json)");
    execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO, stdio: "inherit" });
  }
  log("starting a private PostgreSQL (initdb)");
  pg = await startPostgres();
  const users = Array.from({ length: p.clients }, (_, i) => ({ username: msisdnOf(i), password: `pw-${msisdnOf(i)}` }));
  log(`starting a private Prosody (offline storage on), ${users.length} users`);
  prosody = await startProsody({ users, offline: true, privilege: false });
  bot = await startSampleBot({ port: 0 });
  gms = await startGmsSimulator({ port: 0 });
  const seedFile = join(workDir, "directory.json");
  writeFileSync(seedFile, JSON.stringify(faultDirectory(bot.url, p), null, 2));
  const opts = { receiptTimeoutMs: p.receiptTimeoutMs, maxResends: p.maxResends, resendBackoffMs: p.resendBackoffMs };
  for (const u of users) clients.push(await CarefulClient.connect(prosody, u.username, u.password, opts));
  return { profile: p, prosody, pg, bot, gms, clients, workDir, seedFile, keep: argv.keep, log };
}

async function main(): Promise<number> {
  const env = await setUp(profile!);
  const outcomes: Outcome[] = [];
  for (const s of scenarios) {
    for (let round = 1; round <= rounds; round++) {
      const name = rounds > 1 ? `${s.name} (round ${round})` : s.name;
      log(`scenario: ${name}`);
      const o = await s.run(env, round);
      const m = o.summary;
      log(`  sent ${m.sent}, once ${m.once}, 2× same ${m.twiceSameId}, 2× diff ${m.twiceDifferentIds}, never ${m.never}, died ${o.died}`);
      outcomes.push({ ...o, name });
    }
  }
  const head = `git ${gitHead()}, profile ${profile!.name}, ${new Date().toISOString().slice(0, 16)}Z`;
  console.log(`\nFault suite (${head})\n`);
  console.log(renderTable(outcomes));
  console.log(`\n${renderNotes(outcomes)}\n`);
  const missed = missedTargets(outcomes);
  console.log(missed.length === 0 ? "targets: all met" : `targets missed:\n${missed.map((m) => `- ${m}`).join("\n")}`);
  return argv.check && missed.length > 0 ? 1 : 0;
}

function gitHead(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO, encoding: "utf8" }).trim();
  } catch {
    return "?";
  }
}

main().then(
  (code) => shutdown(code),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    shutdown(2);
  },
);
