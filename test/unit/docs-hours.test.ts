// The worked example of a channel's hours in docs/configuration.md must be
// what the router computes: the route's JSON block and every row of the table
// are read from the document and run through openingState.
import { readFileSync } from "node:fs";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { openingState, type OpeningHours } from "../../src/core/hours.js";

const doc = readFileSync(new URL("../../docs/configuration.md", import.meta.url), "utf8");
const section = doc.split("## Channel routes: `hours` and `maxQueued`")[1]!.split("\n## ")[0]!;
const route = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as { hours: OpeningHours };
const rows = section
  .split("\n")
  .filter((l) => /^\| (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-/.test(l))
  .map((l) => l.split("|").map((c) => c.trim()));

describe("docs/configuration.md: the worked example of a channel's hours", () => {
  it("has its rows", () => expect(rows.length).toBeGreaterThanOrEqual(5));

  it.each(rows.map((r) => [r[1]!, r[3]!]))("asked at %s (Rome): opensAt %s", (asked, opensAt) => {
    const when = DateTime.fromFormat(/\d{4}-\d\d-\d\d \d\d:\d\d/.exec(asked)![0], "yyyy-MM-dd HH:mm", { zone: route.hours.tz });
    expect(when.isValid).toBe(true);
    const state = openingState(route.hours, when.toJSDate());
    if (opensAt === "–") expect(state).toEqual({ open: true });
    else expect(state).toEqual({ open: false, opensAt: /`([^`]+)`/.exec(opensAt)![1] });
  });
});
