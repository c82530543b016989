// The pino root logger and its per-module children (design.md rule 6):
// tokens and secrets never appear, MSISDNs only as a short keyed hash
// (security/keyring.ts: HMAC-SHA256 under a key derived from EIME_SECRET_KEY).
import { pino, type DestinationStream, type Level, type Logger } from "pino";
import type { Config } from "./config/schema.js";
import { keyRingFrom } from "./security/keyring.js";

export type { Logger };

/** Keys whose values are secrets: replaced by "[redacted]" wherever they appear (two levels deep). */
const SECRET_KEYS = ["token", "secret", "password", "secureKey", "authorization", "adminToken"];
/** Keys whose values are MSISDNs: replaced by a short hash that still lets logs be correlated. */
const MSISDN_KEYS = ["msisdn", "msisdns", "userList"];

function paths(keys: string[]): string[] {
  return keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
}

const censorWith =
  (msisdnTag: (msisdn: string) => string) =>
  (value: unknown, path: string[]): unknown => {
    const key = path[path.length - 1] ?? "";
    if (!MSISDN_KEYS.includes(key)) return "[redacted]";
    if (Array.isArray(value)) return `[${value.length} numbers]`;
    return typeof value === "string" ? msisdnTag(value) : "[redacted]";
  };

export interface LogOptions {
  level: Level | "silent";
  modules: Record<string, Level | "silent">;
}

export interface Logging {
  root: Logger;
  /** A child logger for one module, at the module's configured level. */
  child(module: string, bindings?: Record<string, unknown>): Logger;
}

/**
 * `msisdnTag` tags MSISDNs: keyRingFrom(config.security.secretKey).msisdnTag in
 * the router; by default the development key's (tests).
 */
export function createLogging(
  opts: LogOptions | Config["log"],
  destination?: DestinationStream,
  msisdnTag: (msisdn: string) => string = keyRingFrom(undefined).msisdnTag,
): Logging {
  const levels = Object.values(opts.modules);
  // The root must let the most verbose module through; children filter for themselves.
  const order = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];
  const rootLevel = [opts.level, ...levels].sort((a, b) => order.indexOf(a) - order.indexOf(b))[0]!;
  const root = pino(
    {
      level: rootLevel,
      base: { service: "eime-router" },
      redact: { paths: [...paths(SECRET_KEYS), ...paths(MSISDN_KEYS)], censor: censorWith(msisdnTag) },
    },
    destination,
  );
  const base = root.child({}, { level: opts.level });
  return {
    root: base,
    child(module, bindings = {}) {
      return root.child({ module, ...bindings }, { level: opts.modules[module] ?? opts.level });
    },
  };
}
