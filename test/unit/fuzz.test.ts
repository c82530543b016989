// The codec fuzzer's short profile (issue 12 item 9): 10,000 generated and
// mutated inputs over the x-element, payload, thread and directory codecs
// (fuzz/targets.ts); `npm run fuzz` runs 1,000,000 and prints the figures.
// A crash is anything thrown, or a broken invariant (a refusal without a
// registered code and field, output holding a character XML forbids).
import { describe, expect, it } from "vitest";
import { fuzzTarget } from "../../fuzz/fuzz.js";
import { TARGETS } from "../../fuzz/targets.js";

const RUNS = 10_000 / TARGETS.length;

describe("codec fuzzing", () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))("%s: no crash in 2,500 inputs", (_name, target) => {
    const f = fuzzTarget(target as Parameters<typeof fuzzTarget>[0], RUNS, Date.now() % 2 ** 31);
    expect(f.examples).toEqual([]);
    expect(f.crashes).toBe(0);
    expect(f.inputs).toBe(RUNS);
    // The inputs reach the codec, and some get all the way through it.
    expect(f.ok).toBeGreaterThan(0);
    expect(f.refused).toBeGreaterThan(0);
  });
});
