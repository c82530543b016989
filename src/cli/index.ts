// The admin commands of the same bin (operations.md "Admin CLI"):
//   eime-router migrate                      apply pending schema migrations
//   eime-router check-config                 print the effective config, secrets hidden; exit 2 on errors
//   eime-router directory export FILE|-      write the directory (admin format) to FILE or stdout
//   eime-router directory import FILE        replace the directory with FILE's (running routers see it at once)
//   eime-router users import FILE.csv        register users from msisdn,name lines
// Each takes `--config FILE` and the environment variables like the router.
// Exit codes: 0 done, 1 failed (database, bad file content), 2 usage or config errors.
import { readFileSync, writeFileSync } from "node:fs";
import { ConfigError, mergedConfig, parseConfig, parseConfigSection } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { createLogging } from "../log.js";
import { parseDirectoryTree, protocolErrorText } from "../protocol/index.js";
import { migrate, openDb, openStore, schemaVersion, type Store } from "../store/index.js";
import { parseArgs, UsageError } from "./args.js";
import { processOutput, type Output } from "./output.js";
import { redactConfig } from "./redact.js";
import { importUsers } from "./users-import.js";

export const CLI_COMMANDS = ["migrate", "check-config", "directory", "users", "help"] as const;

const USAGE = `usage: eime-router [--config FILE]                 run the router
       eime-router migrate [--config FILE]
       eime-router check-config [--config FILE]
       eime-router directory export FILE|- [--config FILE]
       eime-router directory import FILE [--config FILE]
       eime-router users import FILE.csv [--config FILE]
`;

export function isCliCommand(word: string | undefined): boolean {
  return (CLI_COMMANDS as readonly string[]).includes(word ?? "");
}

/** The config with only the database (and protocol, for MSISDNs) checked: these commands need no XMPP secret. */
function databaseConfig(argv: string[]): Config {
  return parseConfigSection(mergedConfig({ argv }), (key) => key === "database" || key === "protocol" || key === "log");
}

/** Opens the store with warnings only in the log (the command prints its own result). */
function open(config: Config): Promise<Store> {
  return openStore(config.database, createLogging({ level: "warn", modules: {} }));
}

async function withStore(config: Config, fn: (store: Store) => Promise<number>): Promise<number> {
  const store = await open(config);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function migrateCommand(config: Config, out: Output): Promise<number> {
  const db = await openDb(config.database, createLogging({ level: "warn", modules: {} }).child("store"));
  try {
    const before = await schemaVersion(db);
    const result = await migrate(db);
    out.out(
      result.applied.length === 0
        ? `schema at version ${before}: up to date\n`
        : `schema migrated from version ${result.from} to ${result.to} (applied ${result.applied.join(", ")})\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

async function directoryCommand(config: Config, [verb, file]: string[], out: Output): Promise<number> {
  if ((verb !== "export" && verb !== "import") || !file) throw new UsageError("directory export FILE|- or directory import FILE");
  if (verb === "export") {
    return withStore(config, async (store) => {
      const text = `${JSON.stringify(await store.directory.getTree(), null, 2)}\n`;
      if (file === "-") out.out(text);
      else {
        writeFileSync(file, text);
        out.out(`directory written to ${file}\n`);
      }
      return 0;
    });
  }
  let input: unknown;
  try {
    input = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    out.err(`${file}: ${(err as Error).message}\n`);
    return 1;
  }
  const parsed = parseDirectoryTree(input);
  if (!parsed.ok) {
    out.err(`${file}: ${protocolErrorText(parsed.error)}; nothing was imported\n`);
    return 1;
  }
  return withStore(config, async (store) => {
    await store.directory.replaceTree(parsed.value);
    out.out(`directory replaced from ${file} (${parsed.value.items.length} top-level items)\n`);
    return 0;
  });
}

async function dispatch(argv: string[], out: Output): Promise<number> {
  const { positionals, configArgv } = parseArgs(argv);
  const [command, ...operands] = positionals;
  switch (command) {
    case "help":
      out.out(USAGE);
      return 0;
    case "check-config": {
      const config = parseConfig(mergedConfig({ argv: configArgv }));
      out.out(`${JSON.stringify(redactConfig(config), null, 2)}\n`);
      return 0;
    }
    case "migrate":
      return migrateCommand(databaseConfig(configArgv), out);
    case "directory":
      return directoryCommand(databaseConfig(configArgv), operands, out);
    case "users": {
      const [verb, file] = operands;
      if (verb !== "import" || !file) throw new UsageError("users import FILE.csv");
      const config = databaseConfig(configArgv);
      return withStore(config, (store) => importUsers(store, file, config.protocol.defaultCountryCode, out));
    }
    default:
      throw new UsageError(`unknown command ${command ?? "(none)"}`);
  }
}

/** Runs one admin command; resolves to the process's exit code. */
export async function runCli(argv: string[], out: Output = processOutput): Promise<number> {
  try {
    return await dispatch(argv, out);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.problems) out.err(`${line}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      out.err(`eime-router: ${err.message}\n${USAGE}`);
      return 2;
    }
    out.err(`eime-router: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
