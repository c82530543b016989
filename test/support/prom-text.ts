// Reading the Prometheus text exposition format (version 0.0.4) that GET
// /metrics answers, as far as the tests need: the families and their types
// (# TYPE lines), and the value of one sample.

/** Metric family name → type (counter, gauge, histogram, summary, untyped). */
export function metricFamilies(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) families.set(m[1]!, m[2]!);
  }
  return families;
}

/** The value of the sample `name` without labels, or undefined when it is not in the text. */
export function sampleValue(text: string, name: string): number | undefined {
  for (const line of text.split("\n")) {
    const [sample, value] = line.split(" ");
    if (sample === name && value !== undefined) return Number(value);
  }
  return undefined;
}
