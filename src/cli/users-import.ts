// `eime-router users import FILE.csv`: registers users from a CSV of
// `msisdn,name` lines (a first line `msisdn,name` is a header). Like
// POST /admin/users it is all or nothing: a first pass checks every line and
// names the bad ones (line numbers, never the MSISDN); only a clean file is
// written, in batches of BATCH upserts, with a progress line on stderr.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { normalizeMsisdn } from "../protocol/msisdn.js";
import type { Store, UserInput } from "../store/index.js";
import { csvFields } from "./csv.js";
import type { Output } from "./output.js";

const BATCH = 1000;
const MAX_REPORTED = 20;
const MAX_NAME = 256;

type Parsed = { kind: "user"; user: UserInput } | { kind: "skip" } | { kind: "bad"; message: string };

function parseLine(line: string, lineNo: number, cc: string): Parsed {
  if (line.trim() === "") return { kind: "skip" };
  const fields = csvFields(line);
  if (typeof fields === "string") return { kind: "bad", message: fields };
  const [rawMsisdn = "", rawName = ""] = fields;
  if (lineNo === 1 && rawMsisdn.toLowerCase() === "msisdn") return { kind: "skip" }; // the header
  if (fields.length > 2) return { kind: "bad", message: `${fields.length} fields, expected msisdn,name` };
  const msisdn = normalizeMsisdn(rawMsisdn, cc);
  if (msisdn === null) return { kind: "bad", message: "not an MSISDN (11 to 15 digits after normalisation)" };
  if (rawName.length > MAX_NAME) return { kind: "bad", message: `name longer than ${MAX_NAME} characters` };
  return { kind: "user", user: { msisdn, name: rawName === "" ? null : rawName } };
}

async function* lines(file: string): AsyncGenerator<{ line: string; lineNo: number }> {
  const rl = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    yield { line: lineNo === 1 ? line.replace(/^\uFEFF/, "") : line, lineNo };
  }
}

/** Pass 1: how many users, and the bad lines. */
async function check(file: string, cc: string): Promise<{ users: number; bad: { lineNo: number; message: string }[]; badCount: number }> {
  let users = 0;
  let badCount = 0;
  const bad: { lineNo: number; message: string }[] = [];
  for await (const { line, lineNo } of lines(file)) {
    const p = parseLine(line, lineNo, cc);
    if (p.kind === "user") users++;
    else if (p.kind === "bad") {
      badCount++;
      if (bad.length < MAX_REPORTED) bad.push({ lineNo, message: p.message });
    }
  }
  return { users, bad, badCount };
}

/** Reports progress: on a terminal one line rewritten in place, elsewhere a line every tenth of the file. */
function progress(out: Output, total: number): { update(done: number): void; end(): void } {
  let lastTenth = 0;
  const text = (done: number) => `users import: ${done} of ${total} users written (${Math.floor((done / total) * 100)}%)`;
  return {
    update(done) {
      if (total <= BATCH) return;
      if (out.errIsTty) {
        out.err(`\r${text(done)}`);
        return;
      }
      const tenth = Math.floor((done / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        out.err(`${text(done)}\n`);
      }
    },
    end() {
      if (total > BATCH && out.errIsTty) out.err("\n");
    },
  };
}

export async function importUsers(store: Store, file: string, cc: string, out: Output): Promise<number> {
  const checked = await check(file, cc);
  if (checked.badCount > 0) {
    for (const b of checked.bad) out.err(`${file}:${b.lineNo}: ${b.message}\n`);
    if (checked.badCount > checked.bad.length) out.err(`… and ${checked.badCount - checked.bad.length} more\n`);
    out.err(`users import: ${checked.badCount} invalid lines, nothing was imported\n`);
    return 1;
  }
  const bar = progress(out, checked.users);
  let batch: UserInput[] = [];
  let done = 0;
  let written = 0;
  const flush = async () => {
    written += await store.users.upsertMany(batch);
    done += batch.length;
    batch = [];
    bar.update(done);
  };
  for await (const { line, lineNo } of lines(file)) {
    const p = parseLine(line, lineNo, cc);
    if (p.kind !== "user") continue;
    batch.push(p.user);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  bar.end();
  out.out(`users import: ${done} users read, ${written} written (${await store.users.count()} registered in all)\n`);
  return 0;
}
