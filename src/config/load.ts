// Configuration loading (operations.md "Start"): config/default.json, then the
// file named by --config or EIME_CONFIG, then environment variables. The merged
// result is validated once against ConfigSchema and frozen.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigSchema, type Config } from "./schema.js";

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL("../../config/default.json", import.meta.url));

/** Thrown with one line per bad field; main prints it and exits non-zero. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
    this.name = "ConfigError";
  }
}

type Json = { [key: string]: unknown };

/** Environment variables and the config path each one sets. */
export const ENV_VARIABLES: Record<string, { path: string[]; parse?: (v: string) => unknown }> = {
  EIME_XMPP_SERVICE: { path: ["xmpp", "service"] },
  EIME_XMPP_DOMAIN: { path: ["xmpp", "domain"] },
  EIME_XMPP_SECRET: { path: ["xmpp", "secret"] },
  EIME_USER_DOMAIN: { path: ["xmpp", "userDomain"] },
  DATABASE_URL: { path: ["database", "url"] },
  EIME_DATA_DIR: { path: ["database", "dataDir"] },
  EIME_HTTP_HOST: { path: ["http", "host"] },
  EIME_HTTP_PORT: { path: ["http", "port"], parse: toInteger },
  EIME_ADMIN_TOKEN: { path: ["http", "adminToken"] },
  EIME_METRICS_HOST: { path: ["http", "metricsHost"] },
  EIME_METRICS_PORT: { path: ["http", "metricsPort"], parse: toInteger },
  EIME_GENESYS_URL: { path: ["genesys", "url"] },
  EIME_GENESYS_PUSH: { path: ["genesys", "push"], parse: toBoolean },
  EIME_GCLOUD_API_URL: { path: ["genesysCloud", "apiUrl"] },
  EIME_GCLOUD_LOGIN_URL: { path: ["genesysCloud", "loginUrl"] },
  EIME_GCLOUD_CLIENT_ID: { path: ["genesysCloud", "clientId"] },
  EIME_GCLOUD_CLIENT_SECRET: { path: ["genesysCloud", "clientSecret"] },
  EIME_GCLOUD_WEBHOOK_SECRET: { path: ["genesysCloud", "webhookSecret"] },
  EIME_GCLOUD_MEDIA_HOSTS: { path: ["genesysCloud", "mediaHosts"], parse: toList },
  EIME_TOKEN_VERIFIER: { path: ["tokens", "verifier"] },
  EIME_DIRECTORY_SEED: { path: ["directory", "seedFile"] },
  EIME_INSTANCE_ID: { path: ["instanceId"] },
  LOG_LEVEL: { path: ["log", "level"] },
  EIME_SECRET_KEY: { path: ["security", "secretKey"] },
  EIME_PUBLIC_URL: { path: ["http", "publicUrl"] },
  EIME_ATTACHMENTS_ALLOWED_HOSTS: { path: ["attachments", "allowedHosts"], parse: toList },
  EIME_ATTACHMENTS_STORAGE: { path: ["attachments", "storage"] },
  EIME_ATTACHMENTS_DIRECTORY: { path: ["attachments", "directory"] },
  EIME_ALLOW_PRIVATE_TARGETS: { path: ["security", "allowPrivateTargets"], parse: toBoolean },
};

function toBoolean(v: string): unknown {
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  return v; // the schema reports it
}

function toList(v: string): unknown {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function toInteger(v: string): unknown {
  return /^\d+$/.test(v) ? Number(v) : v; // left as a string, the schema reports it
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Objects merge key by key; anything else in `over` replaces what was there. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isObject(prev) && isObject(value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function readJsonFile(file: string, problems: string[]): Json {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    problems.push(`config file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed)) return parsed;
    problems.push(`config file ${file}: must hold a JSON object`);
  } catch (err) {
    problems.push(`config file ${file}: invalid JSON (${(err as Error).message})`);
  }
  return {};
}

function fromEnv(env: NodeJS.ProcessEnv): Json {
  let out: Json = {};
  for (const [name, { path, parse }] of Object.entries(ENV_VARIABLES)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    let value: unknown = parse ? parse(raw) : raw;
    for (let i = path.length - 1; i >= 0; i--) value = { [path[i]!]: value };
    out = deepMerge(out, value as Json);
  }
  return out;
}

/** Which variable sets a config path, for error lines that tell the admin what to change. */
function envNameFor(path: string): string | undefined {
  return Object.entries(ENV_VARIABLES).find(([, v]) => v.path.join(".") === path)?.[0];
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export interface LoadOptions {
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Merged over the files and under the environment; tests use it instead of files. */
  overrides?: Json;
}

/** The config file named by `--config FILE`, `--config=FILE` or EIME_CONFIG. */
export function configFileFrom(argv: string[], env: NodeJS.ProcessEnv): string | undefined {
  const i = argv.indexOf("--config");
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith("--config="));
  if (eq) return eq.slice("--config=".length);
  return env.EIME_CONFIG || undefined;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const config = parseConfig(mergedConfig(opts));
  // operations.md: a production instance never runs on the public development key.
  if (env.NODE_ENV === "production" && config.security.secretKey === undefined) {
    throw new ConfigError(["config security.secretKey: required when NODE_ENV=production (env EIME_SECRET_KEY)"]);
  }
  return config;
}

/** The files and the environment merged, not yet validated (the CLI validates parts of it). */
export function mergedConfig(opts: LoadOptions = {}): Json {
  const env = opts.env ?? process.env;
  const argv = opts.argv ?? process.argv.slice(2);
  const problems: string[] = [];

  let merged = readJsonFile(DEFAULT_CONFIG_FILE, problems);
  if (argv.includes("--config") && !argv[argv.indexOf("--config") + 1]) {
    problems.push("--config: a file name must follow");
  }
  const file = configFileFrom(argv, env);
  if (file) merged = deepMerge(merged, readJsonFile(file, problems));
  if (opts.overrides) merged = deepMerge(merged, opts.overrides);
  merged = deepMerge(merged, fromEnv(env));
  if (problems.length > 0) throw new ConfigError(problems);
  return merged;
}

/** Validates a complete config object; one line per bad field. */
export function parseConfig(input: unknown): Config {
  return parseConfigSection(input, () => true);
}

/**
 * Validates a complete config object but reports only the problems under the
 * top-level keys `wanted` accepts (the CLI's database commands need no XMPP
 * secret); returns the whole config, unvalidated parts included, when none.
 */
export function parseConfigSection(input: unknown, wanted: (key: string) => boolean): Config {
  const result = ConfigSchema.safeParse(input, {
    error: (issue) => (issue.input === undefined && issue.code === "invalid_type" ? "required" : undefined),
  });
  if (result.success) return deepFreeze(result.data);
  const issues = result.error.issues.filter((issue) => issue.path.length === 0 || wanted(String(issue.path[0])));
  if (issues.length === 0) return deepFreeze(input as Config);
  const problems = issues.map((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    return keys
      .map((key) => {
        const path = [...issue.path, ...(key === undefined ? [] : [key])].map(String).join(".") || "(root)";
        const envName = envNameFor(path);
        const message = issue.code === "unrecognized_keys" ? "unknown setting" : issue.message;
        return `config ${path}: ${message}${envName ? ` (env ${envName})` : ""}`;
      })
      .join("\n");
  });
  throw new ConfigError(problems.join("\n").split("\n"));
}
