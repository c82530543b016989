#!/usr/bin/env node
// `node dist/main.js [--config FILE]` (operations.md "Start"): parse argv,
// build and start the router, stop it on SIGTERM/SIGINT within 10 s.
// `eime-router COMMAND …` runs an admin command instead (src/cli/).
import { buildApp } from "./app.js";
import { isCliCommand, runCli } from "./cli/index.js";
import { ConfigError, loadConfig } from "./config/load.js";
import { createLogging } from "./log.js";
import { keyRingFrom } from "./security/keyring.js";

const STOP_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) process.stderr.write(`${line}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logging = createLogging(config.log, undefined, keyRingFrom(config.security.secretKey).msisdnTag);
  const log = logging.child("main");
  const app = buildApp(config, { logging });

  let stopping = false;
  const stop = (signal: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    setTimeout(() => {
      log.error("did not stop within 10 s: exiting");
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    app.stop().then(
      () => process.exit(code),
      (err: unknown) => {
        log.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM", 0));
  process.on("SIGINT", () => stop("SIGINT", 0));
  app.connection.on("fatal", (err) => {
    log.fatal({ error: err.message }, "XMPP server refused the router");
    process.stderr.write(`${err.message}\n`);
    stop("fatal", 1);
  });

  try {
    await app.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ err }, "start failed");
    process.stderr.write(`eime-router: ${message}\n`);
    process.exit(1);
  }
}

if (isCliCommand(process.argv[2])) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
} else {
  void main();
}
