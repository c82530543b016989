import { describe, expect, it } from "vitest";
import { daysOf, intervalOf, openingState, type OpeningHours } from "../../../src/core/hours.js";

const ROME: OpeningHours = {
  tz: "Europe/Rome",
  week: { "mon-fri": ["09:00-13:00", "14:00-18:00"], sat: ["09:00-12:00"] },
  closed: ["2026-12-25", "2027-01-01"],
};
const at = (iso: string) => new Date(iso);

describe("opening hours (backends.md section 2c)", () => {
  it("is open inside an interval and closed at its end (the end is exclusive)", () => {
    expect(openingState(ROME, at("2026-12-02T08:00:00Z"))).toEqual({ open: true }); // Wed 09:00 in Rome
    expect(openingState(ROME, at("2026-12-02T11:59:59Z"))).toEqual({ open: true });
    expect(openingState(ROME, at("2026-12-02T12:00:00Z"))).toEqual({ open: false, opensAt: "2026-12-02T14:00:00+01:00" });
  });

  it("gives the next opening with the offset of that day: after the lunch break, the next morning, over the weekend", () => {
    expect(openingState(ROME, at("2026-12-02T17:30:00Z"))).toEqual({ open: false, opensAt: "2026-12-03T09:00:00+01:00" });
    expect(openingState(ROME, at("2026-12-05T12:00:00Z"))).toEqual({ open: false, opensAt: "2026-12-07T09:00:00+01:00" }); // Sat 13:00
  });

  it("skips closed dates (Christmas on a Friday: next opening Saturday)", () => {
    expect(openingState(ROME, at("2026-12-24T18:00:00Z"))).toEqual({ open: false, opensAt: "2026-12-26T09:00:00+01:00" });
    expect(openingState(ROME, at("2026-12-25T10:00:00Z")).open).toBe(false);
  });

  it("is right across daylight-saving changes: the offset changes with the day, not with now", () => {
    // Europe/Rome springs forward on Sunday 2026-03-29 and falls back on Sunday 2026-10-25.
    expect(openingState(ROME, at("2026-03-28T12:00:00Z"))).toEqual({ open: false, opensAt: "2026-03-30T09:00:00+02:00" });
    expect(openingState(ROME, at("2026-03-30T07:00:00Z"))).toEqual({ open: true }); // 09:00 CEST
    expect(openingState(ROME, at("2026-03-30T06:59:00Z")).open).toBe(false); // 08:59 CEST, 07:59 by yesterday's offset
    expect(openingState(ROME, at("2026-10-24T12:00:00Z"))).toEqual({ open: false, opensAt: "2026-10-26T09:00:00+01:00" });
    expect(openingState(ROME, at("2026-10-26T08:00:00Z"))).toEqual({ open: true }); // 09:00 CET
  });

  it("an interval that starts in a spring-forward gap opens when the clock exists again", () => {
    const night: OpeningHours = { tz: "Europe/Rome", week: { sun: ["02:30-04:00"] } };
    expect(openingState(night, at("2026-03-28T23:00:00Z"))).toEqual({ open: false, opensAt: "2026-03-29T03:30:00+02:00" });
  });

  it("other zones and the day boundary: 24:00 ends at midnight, a wrapping range covers the weekend", () => {
    const ny: OpeningHours = { tz: "America/New_York", week: { "fri-mon": ["20:00-24:00"] } };
    expect(openingState(ny, at("2026-12-06T04:59:00Z"))).toEqual({ open: true }); // Sat 23:59 EST
    expect(openingState(ny, at("2026-12-06T05:00:00Z"))).toEqual({ open: false, opensAt: "2026-12-06T20:00:00-05:00" });
    expect(openingState(ny, at("2026-12-08T06:00:00Z"))).toEqual({ open: false, opensAt: "2026-12-11T20:00:00-05:00" }); // Tue → Fri
  });

  it("never open: no next opening within the horizon", () => {
    expect(openingState({ tz: "UTC", week: {} }, at("2026-12-02T10:00:00Z"))).toEqual({ open: false, opensAt: null });
  });

  it("reads day keys and intervals, refusing what they do not name", () => {
    expect(daysOf("mon-fri")).toEqual([1, 2, 3, 4, 5]);
    expect(daysOf("sat,sun")).toEqual([6, 7]);
    expect(daysOf("mon-sun")).toHaveLength(7);
    expect(daysOf("fri-mon")).toEqual([5, 6, 7, 1]);
    expect(daysOf("monday")).toBeNull();
    expect(daysOf("mon-fri-sat")).toBeNull();
    expect(intervalOf("09:00-13:00")).toEqual({ from: 540, to: 780 });
    expect(intervalOf("20:00-24:00")).toEqual({ from: 1200, to: 1440 });
    for (const bad of ["13:00-09:00", "09:00-09:00", "9:00-13:00", "09:00-25:00", "09:60-10:00"]) expect(intervalOf(bad)).toBeNull();
  });
});
