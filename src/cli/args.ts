// Command-line arguments of the admin commands: positionals, and the
// `--config FILE` / `--config=FILE` option that every command shares with the
// router itself (config/load.ts reads it from the same argv).

export interface CliArgs {
  /** Words that are not options, in order (the command's operands). */
  positionals: string[];
  /** The argv to hand to loadConfig (it picks --config out of it). */
  configArgv: string[];
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--config") i++;
    else if (a.startsWith("--config=")) continue;
    else positionals.push(a);
  }
  return { positionals, configArgv: [...argv] };
}

/** Thrown for a wrong invocation: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
