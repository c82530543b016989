// Load generation over real XMPP clients: every message carries a sequence
// number (stanza id and text `b<seq>`); a reply is matched to it by the
// target's `match`. Every wait has a bound: a message not answered within
// `timeoutMs` counts as a timeout, and drains after a run are bounded too.
//
// - closedLoop: `inflight` slots, each keeps one message in flight (the next
//   is sent when the reply arrives); replies are counted in a fixed window
//   after a warm-up.
// - openLoop: messages sent at a fixed rate whatever the replies do;
//   send→reply latency of each message sent in the window.
import type { Element } from "@xmpp/xml";
import type { TestClient } from "../test/e2e/harness/client.js";

/** One conversation (for the echo ceiling: just a client and a thread). */
export interface Conv {
  client: TestClient;
  index: number;
  title: string;
  thread: string;
}

export type Match = { seq: number; error?: string } | undefined;

export interface Target {
  name: string;
  build(conv: Conv, seq: number): Element;
  /** The sequence number a received stanza answers (with the error text for an error reply), or undefined. */
  match(el: Element): Match;
}

export type Outcome = { kind: "ok"; ms: number } | { kind: "timeout" } | { kind: "error"; message: string };

interface Pending {
  seq: number;
  t0: number;
  done(o: Outcome): void;
}

export class Hub {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private sweeper: NodeJS.Timeout;
  target: Target | undefined;
  timeoutMs = 10_000;
  /** Replies to messages already timed out or unknown: echoes, and error replies (e.g. bounces). */
  late = 0;
  lateErrors = 0;
  readonly errorSamples: string[] = [];
  errors = 0;
  /** Messages timed out or abandoned that no answer (echo or error) has reached yet. */
  private readonly unanswered = new Set<number>();
  /** Messages sent, and answered in time, since the start. */
  sent = 0;
  ok = 0;

  constructor() {
    this.sweeper = setInterval(() => this.sweep(), 200);
    this.sweeper.unref();
  }

  get inFlight(): number {
    return this.pending.size;
  }

  send(conv: Conv, done: (o: Outcome) => void): number {
    const target = this.target!;
    const seq = ++this.seq;
    const el = target.build(conv, seq);
    this.pending.set(seq, { seq, t0: performance.now(), done });
    this.sent++;
    conv.client.send(el).catch((err: Error) => this.finish(seq, { kind: "error", message: `send failed: ${err.message}` }));
    return seq;
  }

  receive(el: Element): void {
    const m = this.target?.match(el);
    if (!m) return;
    const p = this.pending.get(m.seq);
    if (!p) {
      this.unanswered.delete(m.seq);
      if (m.error !== undefined) this.lateErrors++;
      else this.late++;
      return;
    }
    if (m.error !== undefined) this.finish(m.seq, { kind: "error", message: m.error });
    else {
      this.ok++;
      this.finish(m.seq, { kind: "ok", ms: performance.now() - p.t0 });
    }
  }

  private finish(seq: number, o: Outcome): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    if (o.kind === "error") {
      this.errors++;
      if (this.errorSamples.length < 5) this.errorSamples.push(o.message);
    }
    p.done(o);
  }

  /** Oldest first (a Map iterates in insertion order, and seq and t0 grow together). */
  private sweep(): void {
    const now = performance.now();
    for (const p of this.pending.values()) {
      if (now - p.t0 < this.timeoutMs) break;
      this.pending.delete(p.seq);
      this.unanswered.add(p.seq);
      p.done({ kind: "timeout" });
    }
  }

  /** Resolves when nothing is in flight, or after `ms`. */
  async drain(ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    while (this.pending.size > 0 && performance.now() < deadline) await sleep(20);
    return this.pending.size === 0;
  }

  /** Forgets what is still pending (after a bounded drain): returns how many. */
  abandon(): number {
    const n = this.pending.size;
    for (const seq of this.pending.keys()) this.unanswered.add(seq);
    this.pending.clear();
    return n;
  }

  /** Sequence numbers of the messages that never got any answer so far (not even a late one). */
  neverAnswered(): number[] {
    return [...this.unanswered];
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Window {
  /** Called at the start and end of the measured window (synchronously). */
  start?(): void;
  end?(): void;
}

export interface LoopResult {
  /** Replies (ok) in the window per second. */
  rate: number;
  replies: number;
  windowMs: number;
  sent: number;
  /** ok latencies of messages answered in the window (closed) or sent in it (open), ms; timeouts as Infinity. */
  latencies: number[];
  timeouts: number;
  errors: number;
  /** Still unanswered after the drain bound. */
  lost: number;
}

export interface ClosedOptions {
  inflight: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
  /** "fixed": slot i always uses convs[i % n]; "random": each message goes to a random conversation with nothing in flight. */
  spread: "fixed" | "random";
}

export async function closedLoop(hub: Hub, convs: Conv[], o: ClosedOptions, w: Window = {}): Promise<LoopResult> {
  const busy = new Set<number>();
  let running = true;
  let inWindow = false;
  let replies = 0;
  let sent = 0;
  let timeouts = 0;
  let errors = 0;
  const latencies: number[] = [];

  const pick = (slot: number): Conv => {
    if (o.spread === "fixed") return convs[slot % convs.length]!;
    for (let tries = 0; tries < 20; tries++) {
      const c = convs[Math.floor(Math.random() * convs.length)]!;
      if (!busy.has(c.index)) return c;
    }
    return convs.find((c) => !busy.has(c.index)) ?? convs[Math.floor(Math.random() * convs.length)]!;
  };
  const fire = (slot: number) => {
    if (!running) return;
    const conv = pick(slot);
    busy.add(conv.index);
    sent++;
    hub.send(conv, (out) => {
      busy.delete(conv.index);
      if (out.kind === "ok") {
        if (inWindow) {
          replies++;
          latencies.push(out.ms);
        }
      } else if (out.kind === "timeout") timeouts++;
      else errors++;
      fire(slot);
    });
  };
  for (let s = 0; s < o.inflight; s++) fire(s);
  await sleep(o.warmupMs);
  inWindow = true;
  w.start?.();
  const t0 = performance.now();
  await sleep(o.measureMs);
  inWindow = false;
  const windowMs = performance.now() - t0;
  w.end?.();
  running = false;
  await hub.drain(o.drainMs);
  const lost = hub.abandon();
  return { rate: (replies / windowMs) * 1000, replies, windowMs, sent, latencies, timeouts, errors, lost };
}

export interface OpenOptions {
  /** Messages per second, spread round-robin over the conversations. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  drainMs: number;
}

export async function openLoop(hub: Hub, convs: Conv[], o: OpenOptions, w: Window = {}): Promise<LoopResult & { sendRate: number }> {
  let sent = 0;
  let sentInWindow = 0;
  let replies = 0;
  let timeouts = 0;
  let errors = 0;
  const latencies: number[] = [];
  const total = Math.round((o.rate * (o.warmupMs + o.measureMs)) / 1000);
  const windowFrom = Math.round((o.rate * o.warmupMs) / 1000);
  const t0 = performance.now();
  let windowStart = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * o.rate) / 1000));
    while (sent < due) {
      const k = sent++;
      const measured = k >= windowFrom;
      if (k === windowFrom) {
        windowStart = performance.now();
        w.start?.();
      }
      if (measured) sentInWindow++;
      hub.send(convs[k % convs.length]!, (out) => {
        if (!measured) return;
        if (out.kind === "ok") {
          replies++;
          latencies.push(out.ms);
        } else if (out.kind === "timeout") {
          timeouts++;
          latencies.push(Number.POSITIVE_INFINITY);
        } else errors++;
      });
    }
    await sleep(1);
  }
  const windowEnd = performance.now();
  w.end?.();
  await hub.drain(o.drainMs);
  const lost = hub.abandon();
  for (let i = 0; i < lost; i++) latencies.push(Number.POSITIVE_INFINITY);
  const windowMs = windowEnd - windowStart;
  return {
    rate: (replies / windowMs) * 1000,
    sendRate: (sentInWindow / windowMs) * 1000,
    replies,
    windowMs,
    sent: sentInWindow,
    latencies,
    timeouts,
    errors,
    lost,
  };
}

/** One message on each conversation (at most `concurrency` at once), each awaited: opens conversations. */
export async function oneEach(
  hub: Hub,
  convs: Conv[],
  concurrency: number,
  drainMs: number,
): Promise<{ ok: number; timeouts: number; errors: number; ms: number }> {
  let next = 0;
  let ok = 0;
  let timeouts = 0;
  let errors = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let active = 0;
    const launch = () => {
      while (active < concurrency && next < convs.length) {
        const conv = convs[next++]!;
        active++;
        hub.send(conv, (out) => {
          active--;
          if (out.kind === "ok") ok++;
          else if (out.kind === "timeout") timeouts++;
          else errors++;
          if (next >= convs.length && active === 0) resolve();
          else launch();
        });
      }
      if (convs.length === 0) resolve();
    };
    launch();
  });
  await hub.drain(drainMs);
  hub.abandon();
  return { ok, timeouts, errors, ms: performance.now() - t0 };
}

/** Nearest-rank percentile of unsorted values (Infinity allowed). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function latencySummary(values: number[]): { p50: number; p95: number; p99: number; n: number } {
  const s = Float64Array.from(values).sort();
  const a = Array.from(s);
  return { p50: percentile(a, 50), p95: percentile(a, 95), p99: percentile(a, 99), n: a.length };
}
