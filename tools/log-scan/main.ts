// npx tsx tools/log-scan/main.ts DIR [--allow-empty]
// Scans the router logs the e2e harness kept in DIR (test/e2e/harness/
// router-logs.ts: *.log, with the sensitive values of each run in *.watch)
// and exits 1 on any raw MSISDN, token or watched value (scan.ts), naming
// file and line. No log at all is a failure too (a scan of nothing proves
// nothing), unless --allow-empty (scripts/test.sh: a run of a few files).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { scanLines, type Finding } from "./scan.js";

function main(argv: string[]): number {
  const dir = argv.find((a) => !a.startsWith("--"));
  if (!dir) {
    process.stderr.write("usage: log-scan DIR [--allow-empty]\n");
    return 2;
  }
  const files = readdirSync(dir);
  const watched = files
    .filter((f) => f.endsWith(".watch"))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
    .filter((v) => v !== "");
  const logs = files.filter((f) => f.endsWith(".log"));
  let lines = 0;
  const findings: Finding[] = [];
  for (const f of logs) {
    const text = readFileSync(join(dir, f), "utf8").split("\n");
    lines += text.length;
    findings.push(...scanLines(f, text, watched));
  }
  if (logs.length === 0 || lines < 2) {
    if (argv.includes("--allow-empty")) {
      process.stdout.write(`log scan: no router logs in ${dir} (no e2e test ran)\n`);
      return 0;
    }
    process.stderr.write(`log scan: no router logs in ${dir}: nothing was scanned\n`);
    return 1;
  }
  for (const x of findings.slice(0, 50)) process.stderr.write(`${x.file}:${x.line}: raw ${x.kind} in a log line (${x.excerpt})\n`);
  const summary = `log scan: ${logs.length} router logs, ${lines} lines, ${watched.length} watched values: ${findings.length} findings in ${dir}\n`;
  (findings.length > 0 ? process.stderr : process.stdout).write(summary);
  return findings.length > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
