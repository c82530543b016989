// Runs a codec target over `runs` inputs and counts how each ended. A crash
// (anything thrown) does not stop the run: it is counted and the first few
// are kept with the input that caused them, so one bug does not hide others.
import fc from "fast-check";
import { Element } from "ltx";
import type { Outcome, Target } from "./targets.js";

export interface Crash {
  error: string;
  input: string;
}

export interface Figures {
  target: string;
  inputs: number;
  ok: number;
  refused: number;
  unparsable: number;
  crashes: number;
  examples: Crash[];
  seconds: number;
}

const KEEP = 5;

function show(input: unknown): string {
  // An x-element input holds a parsed tree: show it as XML.
  const tree = typeof input === "object" && input !== null && "tree" in input && input.tree instanceof Element ? input.tree : undefined;
  try {
    return (tree !== undefined ? tree.toString() : (JSON.stringify(input) ?? String(input))).slice(0, 2000);
  } catch {
    return String(input).slice(0, 2000);
  }
}

export function fuzzTarget<T>(target: Target<T>, runs: number, seed: number): Figures {
  const counts: Record<Outcome, number> = { ok: 0, refused: 0, unparsable: 0 };
  const examples: Crash[] = [];
  let crashes = 0;
  let inputs = 0;
  const started = performance.now();
  fc.assert(
    fc.property(target.input, (input) => {
      inputs++;
      try {
        counts[target.run(input)]++;
      } catch (err) {
        crashes++;
        if (examples.length < KEEP)
          examples.push({ error: err instanceof Error ? (err.stack ?? err.message) : String(err), input: show(input) });
      }
    }),
    { numRuns: runs, seed },
  );
  return { target: target.name, inputs, ...counts, crashes, examples, seconds: (performance.now() - started) / 1000 };
}
