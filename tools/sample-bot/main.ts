// CLI of the sample bot: `tsx tools/sample-bot/main.ts --port 5005 [--host 127.0.0.1] [--mode MODE]`, MODE one of
// normal, down, error500, garbage, delay:MS, flaky:FAILRATE,HANGRATE,HANGMS (e.g. flaky:0.5,0.2,3000), hang-calls:N,MS.
// Prints the webhook URL, then one line per request; stops on SIGINT/SIGTERM.
import { parseArgs } from "node:util";
import { startSampleBot } from "./bot.js";
import type { BotMode } from "./bot.js";

function parseMode(s: string): BotMode {
  if (s === "normal" || s === "down" || s === "error500" || s === "garbage") return s;
  const m = /^delay:(\d+)$/.exec(s);
  if (m?.[1] !== undefined) return { delayMs: Number(m[1]) };
  const flaky = /^flaky:([\d.]+),([\d.]+),(\d+)$/.exec(s);
  if (flaky) return { failRate: Number(flaky[1]), hangRate: Number(flaky[2]), hangMs: Number(flaky[3]) };
  const hang = /^hang-calls:(\d+),(\d+)$/.exec(s);
  if (hang) return { hangCalls: Number(hang[1]), hangMs: Number(hang[2]) };
  throw new Error(`--mode: expected normal, down, error500, garbage, delay:MS, flaky:FAIL,HANG,MS or hang-calls:N,MS, got ${s}`);
}

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5005" },
    host: { type: "string", default: "127.0.0.1" },
    mode: { type: "string", default: "normal" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(
    "usage: tsx tools/sample-bot/main.ts [--port 5005] [--host 127.0.0.1] [--mode normal|error500|garbage|delay:MS|flaky:F,H,MS|hang-calls:N,MS]",
  );
  process.exit(0);
}

const bot = await startSampleBot({
  port: Number(values.port),
  host: values.host,
  mode: parseMode(values.mode),
  log: (line) => console.log(`${new Date().toISOString()} ${line}`),
});
console.log(`sample bot listening: POST ${bot.url}`);

const shutdown = () => {
  void bot.stop().then(() => process.exit(0));
};
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
