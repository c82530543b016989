// The one table of the fault suite (Markdown, so it can be pasted into
// docs/reliability.md as printed), the notes under it, and the targets of
// issue 12 that --check enforces.
import type { Outcome } from "./scenarios.js";
import { fmtMap, secs } from "./format.js";

/** Target: /health/ready within this long after the fault cleared. */
export const READY_TARGET_MS = 5000;

const HEADER = [
  "scenario",
  "sent",
  "accepted (receipt)",
  "resent",
  "answered once",
  "twice, same id",
  "twice, different ids",
  "never answered",
  "errors by condition",
  "s to ready",
  "router died by itself",
];

export function renderTable(outcomes: Outcome[]): string {
  const rows = outcomes.map((o) => {
    const s = o.summary;
    return [
      o.name,
      s.sent,
      s.accepted,
      s.resent,
      s.once,
      s.twiceSameId,
      s.twiceDifferentIds,
      s.never,
      fmtMap(s.errors),
      o.readyMs === undefined ? "not ready" : secs(o.readyMs),
      o.died ? `**yes** (${o.deaths.length}×)` : "no",
    ].map(String);
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(HEADER), line(HEADER.map(() => "---")), ...rows.map(line)].join("\n");
}

export function renderNotes(outcomes: Outcome[]): string {
  const out: string[] = [];
  for (const o of outcomes) {
    const extra = o.summary.neverKeys.length > 0 ? [`never answered e.g. ${o.summary.neverKeys.join(", ")}`] : [];
    out.push(`- ${o.name}: ${[...o.notes, ...extra].join("; ")}`);
    for (const d of o.deaths.slice(0, 2)) out.push(`  - ${d}`);
  }
  return out.join("\n");
}

/** The targets missed, one line each (empty: all met). */
export function missedTargets(outcomes: Outcome[]): string[] {
  const missed: string[] = [];
  for (const o of outcomes) {
    const s = o.summary;
    if (s.never > 0) missed.push(`${o.name}: ${s.never} never answered (target 0)`);
    if (s.twiceDifferentIds > 0) missed.push(`${o.name}: ${s.twiceDifferentIds} answered twice with different ids (target 0)`);
    if (o.died) missed.push(`${o.name}: the router died by itself ${o.deaths.length}× (target: never)`);
    if (o.readyMs === undefined || o.readyMs > READY_TARGET_MS)
      missed.push(
        `${o.name}: ready ${o.readyMs === undefined ? "not at all" : `after ${secs(o.readyMs)} s`} (target ≤ ${READY_TARGET_MS / 1000} s)`,
      );
  }
  return missed;
}
