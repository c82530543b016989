// Opening hours of a channel's operator service (backends.md section 2c):
// `{tz, week: {"mon-fri": ["09:00-13:00", "14:00-18:00"], "sat": […]},
// closed: ["2026-12-25"]}`. Pure: the caller gives the instant. Wall times
// are read in the channel's IANA time zone by Luxon, so an opening after a
// daylight-saving change carries the offset of that day; a wall time that a
// spring-forward gap skips (02:30 on the last Sunday of March in Europe) is
// moved forward by the gap, as Luxon does.
import { DateTime } from "luxon";

export interface OpeningHours {
  /** IANA time zone, e.g. Europe/Rome. */
  tz: string;
  /** Day or day range (mon…sun, "mon-fri", "sat,sun") → intervals "HH:MM-HH:MM" (end may be 24:00). */
  week: Record<string, string[]>;
  /** Local dates (YYYY-MM-DD) with no service at all. */
  closed?: string[];
}

export type OpeningState = { open: true } | { open: false; opensAt: string | null };

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

/** How far ahead the next opening is looked for (a year of closed dates is the longest sensible gap). */
const HORIZON_DAYS = 400;

const INTERVAL = /^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$/;

interface Interval {
  /** Minutes after local midnight. */
  from: number;
  to: number;
}

/** The day numbers (1 = Monday, Luxon's weekday) a key names, or null when it names none. */
export function daysOf(key: string): number[] | null {
  const days: number[] = [];
  for (const part of key.split(",")) {
    const [a, b, ...rest] = part.trim().split("-");
    const from = DAYS.indexOf(a as (typeof DAYS)[number]);
    const to = b === undefined ? from : DAYS.indexOf(b as (typeof DAYS)[number]);
    if (from < 0 || to < 0 || rest.length > 0) return null;
    const count = ((to - from + 7) % 7) + 1; // "fri-mon" wraps over the weekend
    for (let i = 0; i < count; i++) days.push(((from + i) % 7) + 1);
  }
  return days;
}

/** Minutes of an "HH:MM-HH:MM" interval, or null when it is malformed or empty. */
export function intervalOf(text: string): Interval | null {
  const m = INTERVAL.exec(text);
  if (!m) return null;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = m[3] === "24:00" ? 24 * 60 : Number(m[4]) * 60 + Number(m[5]);
  return to > from ? { from, to } : null;
}

function intervalsByDay(week: OpeningHours["week"]): Interval[][] {
  const byDay: Interval[][] = Array.from({ length: 8 }, () => []);
  for (const [key, texts] of Object.entries(week)) {
    for (const day of daysOf(key) ?? []) {
      for (const t of texts) {
        const i = intervalOf(t);
        if (i) byDay[day]!.push(i);
      }
    }
  }
  for (const list of byDay) list.sort((x, y) => x.from - y.from);
  return byDay;
}

/** Whether the service is open at `now`, and if not, when it opens next (ISO 8601 with offset; null beyond the horizon). */
export function openingState(hours: OpeningHours, now: Date): OpeningState {
  const byDay = intervalsByDay(hours.week);
  const closed = new Set(hours.closed ?? []);
  const local = DateTime.fromJSDate(now, { zone: hours.tz });
  for (let n = 0; n < HORIZON_DAYS; n++) {
    const day = local.startOf("day").plus({ days: n });
    if (closed.has(day.toISODate()!)) continue;
    for (const { from, to } of byDay[day.weekday]!) {
      const start = wallTime(day, from);
      const end = wallTime(day, to);
      if (n === 0 && local >= start && local < end) return { open: true };
      if (start > local) return { open: false, opensAt: start.toISO({ suppressMilliseconds: true })! };
    }
  }
  return { open: false, opensAt: null };
}

/** Local wall time `minutes` after midnight of `day`, in the day's zone (24:00: the next midnight). */
function wallTime(day: DateTime, minutes: number): DateTime {
  if (minutes === 24 * 60) return day.plus({ days: 1 });
  return DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: Math.floor(minutes / 60), minute: minutes % 60 },
    { zone: day.zone },
  );
}
