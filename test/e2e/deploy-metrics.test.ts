// deploy/ (the Grafana dashboard and the Prometheus alert rules) against a
// running router: every expression parses as PromQL, and every metric it
// selects is one the router's real GET /metrics exports (a histogram's
// _bucket/_sum/_count counted as its family). A dashboard naming a metric the
// router does not export fails here.
import { readFileSync } from "node:fs";
import axios from "axios";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { App } from "../../src/app.js";
import { metricFamilies } from "../support/prom-text.js";
import { isExported, parsePromql, withoutGrafanaIntervals } from "../support/promql-names.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { routerConfig, startRouter } from "./support/router.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const DASHBOARD = "deploy/grafana/eime-router.json";
const RULES = "deploy/prometheus/eime-router.rules.yml";
// Series Prometheus makes itself for each scrape target, not the router.
const PROMETHEUS_OWN = new Set(["up"]);

let prosody: Prosody;
let router: App;
let families: Map<string, string>;

beforeAll(async () => {
  prosody = await startProsody();
  router = await startRouter(routerConfig(prosody));
  const res = await axios.get<string>(`${router.httpAddress!}/metrics`, { responseType: "text" });
  families = metricFamilies(res.data);
});

afterAll(async () => {
  await router?.stop();
  await prosody?.stop();
});

interface Expr {
  where: string;
  expr: string;
}

/** Every `expr` in the dashboard (panels, rows' nested panels) and its variables' queries. */
function dashboardExprs(dashboard: unknown): Expr[] {
  const found: Expr[] = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    if (typeof node !== "object" || node === null) return;
    const obj = node as Record<string, unknown>;
    if (typeof obj.expr === "string") found.push({ where: `${where} (${String(obj.refId)})`, expr: withoutGrafanaIntervals(obj.expr) });
    for (const [k, v] of Object.entries(obj)) if (k !== "templating") walk(v, typeof obj.title === "string" ? obj.title : where);
  };
  walk(dashboard, "dashboard");
  const templating = (dashboard as { templating?: { list?: { name: string; type: string; query?: unknown }[] } }).templating;
  for (const v of templating?.list ?? []) {
    if (v.type !== "query") continue;
    const query = typeof v.query === "string" ? v.query : (v.query as { query: string }).query;
    // Grafana's label_values(selector, label): the selector is PromQL.
    const m = /^label_values\((.+),\s*\w+\)$/.exec(query);
    found.push({ where: `variable $${v.name}`, expr: m ? m[1]! : query });
  }
  return found;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function ruleExprs(rules: { groups: { name: string; rules: Rule[] }[] }): Expr[] {
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `${g.name}/${r.alert ?? r.record}`, expr: r.expr })));
}

/** What is wrong with the expressions: parse errors and metrics the router does not export. */
function problems(exprs: Expr[]): string[] {
  return exprs.flatMap(({ where, expr }) => {
    const { names, errors } = parsePromql(expr);
    return [
      ...errors.map((e) => `${where}: not PromQL: ${e}`),
      ...names.filter((n) => !PROMETHEUS_OWN.has(n) && !isExported(n, families)).map((n) => `${where}: unknown metric ${n}`),
    ];
  });
}

const dashboard = () => JSON.parse(readFileSync(`${ROOT}${DASHBOARD}`, "utf8")) as unknown;
const rules = () => parseYaml(readFileSync(`${ROOT}${RULES}`, "utf8")) as { groups: { name: string; rules: Rule[] }[] };

describe("the running router's /metrics", () => {
  it("exports the series the dashboard and the alerts are built on", () => {
    expect(families.get("eime_ready")).toBe("gauge");
    expect(families.get("eime_xmpp_component_online")).toBe("gauge");
    expect(families.get("eime_bot_request_seconds")).toBe("histogram");
    expect(families.get("eime_genesys_request_seconds")).toBe("histogram");
    expect(families.get("eime_outbox_dead_letters_total")).toBe("counter");
  });
});

describe(DASHBOARD, () => {
  it("every panel's expression and every variable's query selects only metrics the router exports", () => {
    const exprs = dashboardExprs(dashboard());
    expect(exprs.length).toBeGreaterThanOrEqual(20);
    expect(problems(exprs)).toEqual([]);
  });

  it("a panel naming a metric the router does not export, or a broken expression, is reported", () => {
    const d = dashboard() as { panels: { targets?: { expr: string }[] }[] };
    const target = d.panels.find((p) => p.targets)!.targets![0]!;
    target.expr = `sum(rate(eime_stanza_in_total[$__rate_interval])) / eime_bot_request_seconds_bucket`;
    d.panels.push({ targets: [{ expr: "sum(rate(eime_ready[5m]) " }] });
    const found = problems(dashboardExprs(d));
    expect(found).toEqual([expect.stringMatching(/unknown metric eime_stanza_in_total$/), expect.stringMatching(/not PromQL/)]);
  });

  it("covers readiness, the component, traffic, errors, bots, Genesys and the outbox", () => {
    const names = new Set(dashboardExprs(dashboard()).flatMap((e) => parsePromql(e.expr).names));
    for (const n of [
      "eime_ready",
      "eime_xmpp_component_online",
      "eime_stanzas_in_total",
      "eime_errors_total",
      "eime_bot_request_seconds_bucket",
      "eime_genesys_request_seconds_bucket",
      "eime_outbox_depth",
      "eime_outbox_dead",
    ])
      expect(names).toContain(n);
  });
});

describe(RULES, () => {
  it("every alert's expression selects only metrics the router exports (or Prometheus's own `up`)", () => {
    expect(problems(ruleExprs(rules()))).toEqual([]);
  });

  it("has the alerts an operator needs, each with a severity and a summary", () => {
    const all = rules().groups.flatMap((g) => g.rules);
    expect(all.map((r) => r.alert)).toEqual([
      "EimeRouterDown",
      "EimeRouterNotReady",
      "EimeComponentOffline",
      "EimeOutboxGrowing",
      "EimeDeadLettersGrowing",
      "EimeBotErrorRate",
      "EimeGenesysErrorRate",
      "EimeBotLatencyHigh",
      "EimeGenesysLatencyHigh",
    ]);
    for (const r of all) {
      expect(r.labels?.severity, r.alert).toMatch(/^(critical|warning)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
    }
    const byName = new Map(all.map((r) => [r.alert, r]));
    expect(parsePromql(byName.get("EimeRouterNotReady")!.expr).names).toEqual(["eime_ready"]);
    expect(parsePromql(byName.get("EimeComponentOffline")!.expr).names).toEqual(["eime_xmpp_component_online"]);
  });
});
