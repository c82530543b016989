// The router logs of the e2e run, kept for the log scan (issue 13;
// tools/log-scan): with EIME_E2E_LOG_DIR set (scripts/test.sh makes one
// under the temp directory per run), every router the harness starts logs at
// debug (EIME_TEST_LOG overrides) into a file of its own there, and the
// sensitive values of its config (admin token, component and verifier
// secrets, secret keys) go into a `.watch` file beside it, for the scan to
// look for. Without the variable nothing is kept (config.log as given).
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pino, type Level } from "pino";
import type { Config } from "../../../src/config/schema.js";
import { createLogging, type Logging } from "../../../src/log.js";
import { keyRingFrom } from "../../../src/security/keyring.js";

let started = 0;

/** The run's log directory, or undefined. */
export const e2eLogDir = (): string | undefined => process.env.EIME_E2E_LOG_DIR || undefined;

/** What must never be in a log line of this router. */
function sensitiveValues(config: Config): string[] {
  const verifier = config.tokens.verifier;
  return [
    config.http.adminToken,
    config.xmpp.secret,
    verifier.startsWith("hmac:") ? verifier.slice("hmac:".length) : undefined,
    ...(config.security.secretKey?.split(",") ?? []),
  ].filter((v): v is string => v !== undefined && v.length >= 6);
}

/** Declares further values the scan must not find (e.g. a test's own tokens). */
export function watchForLeaks(values: readonly string[]): void {
  const dir = e2eLogDir();
  if (!dir || values.length === 0) return;
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, `${process.pid}.watch`), values.map((v) => `${v}\n`).join(""));
}

export function routerLogging(config: Config): Logging {
  const dir = e2eLogDir();
  const tag = keyRingFrom(config.security.secretKey).msisdnTag;
  if (!dir) return createLogging(config.log, undefined, tag);
  mkdirSync(dir, { recursive: true });
  watchForLeaks(sensitiveValues(config));
  const file = join(dir, `router-${process.pid}-${++started}.log`);
  // Synchronous writes: a worker that ends at once still leaves every line.
  const destination = pino.destination({ dest: file, sync: true });
  const level = (process.env.EIME_TEST_LOG ?? "debug") as Level | "silent";
  return createLogging({ level, modules: {} }, destination, tag);
}
