// `npm run fuzz [-- --runs N] [--seed S]`: fuzzes the x-element, payload,
// thread and directory codecs with N inputs in all (default 1,000,000, split
// evenly), half generated and half mutated from the seed corpus, and prints
// per codec: inputs, outcomes, crashes and the rate. Exits 1 on any crash.
import { fuzzTarget, type Figures } from "./fuzz.js";
import { TARGETS } from "./targets.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} takes a non-negative integer`);
  return v;
}

const total = arg("runs", 1_000_000);
const seed = arg("seed", Date.now() % 2 ** 31);
const per = Math.ceil(total / TARGETS.length);
const fmt = (n: number) => n.toLocaleString("en-US");

console.log(`fuzzing ${TARGETS.length} codecs, ${fmt(per)} inputs each, seed ${seed}`);
const all: Figures[] = [];
for (const target of TARGETS) {
  const f = fuzzTarget(target as Parameters<typeof fuzzTarget>[0], per, seed);
  all.push(f);
  console.log(
    `${f.target.padEnd(10)} ${fmt(f.inputs).padStart(10)} inputs  ok ${fmt(f.ok).padStart(9)}  refused ${fmt(f.refused).padStart(9)}  ` +
      `unparsable ${fmt(f.unparsable).padStart(8)}  crashes ${fmt(f.crashes)}  ${fmt(Math.round(f.inputs / f.seconds))}/s  ${f.seconds.toFixed(1)} s`,
  );
  for (const c of f.examples) console.log(`  crash: ${c.error}\n  input: ${c.input}`);
}
const inputs = all.reduce((n, f) => n + f.inputs, 0);
const crashes = all.reduce((n, f) => n + f.crashes, 0);
const seconds = all.reduce((n, f) => n + f.seconds, 0);
console.log(
  `total      ${fmt(inputs).padStart(10)} inputs  crashes ${fmt(crashes)}  ${fmt(Math.round(inputs / seconds))} inputs/s  ${seconds.toFixed(1)} s`,
);
process.exitCode = crashes === 0 ? 0 : 1;
