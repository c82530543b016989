// The metric names a PromQL expression selects, read with the Prometheus
// project's own grammar (@prometheus-io/lezer-promql), so functions,
// aggregations, label names and keywords are never taken for metrics.
import { parser } from "@prometheus-io/lezer-promql";

export interface ParsedExpr {
  names: string[];
  /** Text of the parts the grammar could not read; empty for a valid expression. */
  errors: string[];
}

/** Grafana's interval variables ($__rate_interval, ${__interval}, …) become a duration so the expression parses. */
export function withoutGrafanaIntervals(expr: string): string {
  return expr.replace(/\$\{__\w+\}|\$__\w+/g, "5m");
}

export function parsePromql(expr: string): ParsedExpr {
  const names: string[] = [];
  const errors: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      const text = expr.slice(node.from, node.to);
      if (node.type.isError) errors.push(`"${text}" at ${node.from}`);
      // A selector's name: `metric{…}` or `{__name__="metric"}`.
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") names.push(text);
      if (node.name === "UnquotedLabelMatcher" && /^__name__\s*=\s*"/.test(text)) names.push(/"([^"]*)"/.exec(text)![1]!);
      if (node.name === "UnquotedLabelMatcher" && /^__name__\s*(=~|!=|!~)/.test(text))
        errors.push(`"${text}": a name matched by pattern cannot be checked`);
    },
  });
  return { names, errors };
}

/**
 * Whether a selected name is a series of the scraped families: a family
 * itself, or a histogram's `_bucket`/`_sum`/`_count` (a summary's `_sum`/`_count`).
 */
export function isExported(name: string, families: ReadonlyMap<string, string>): boolean {
  if (families.has(name)) return true;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!m) return false;
  const type = families.get(m[1]!);
  return type === "histogram" || (type === "summary" && m[2] !== "bucket");
}
