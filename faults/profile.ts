// How big and how long each scenario is. "full" is the run of issue 12 (300
// messages per scenario, the real 30 s bot timeout of the lock case, 5,000
// mutated stanzas); "short" is the same with fewer messages and times scaled
// down, for the test command (about two minutes here). Each client sends at
// most 2 messages a second, below a per-user rate limit of 30 in 10 s.
export interface Profile {
  name: "short" | "full";
  clients: number;
  /** Careful messages per scenario. */
  messages: number;
  ratePerSecond: number;
  titles: number;
  receiptTimeoutMs: number;
  maxResends: number;
  resendBackoffMs: number;
  /** Bound on waiting for every receipt and answer after the last send. */
  drainMs: number;
  /** Extra wait after that, for late second answers. */
  graceMs: number;
  /** The bot channel's timeoutMs, and how long the flaky bot hangs (past it). */
  botTimeoutMs: number;
  flakyHangMs: number;
  /** The lock case: the channel's timeoutMs, the bot's hang (past it, twice), how many messages. */
  lockTimeoutMs: number;
  lockHangMs: number;
  lockMessages: number;
  gmsMessages: number;
  mutants: number;
}

export const PROFILES: Record<Profile["name"], Profile> = {
  short: {
    name: "short",
    clients: 6,
    messages: 40,
    ratePerSecond: 10,
    titles: 2,
    receiptTimeoutMs: 4000,
    maxResends: 4,
    resendBackoffMs: 500,
    drainMs: 25_000,
    graceMs: 1500,
    botTimeoutMs: 1500,
    flakyHangMs: 2500,
    lockTimeoutMs: 3000,
    lockHangMs: 3400,
    lockMessages: 3,
    gmsMessages: 16,
    mutants: 400,
  },
  full: {
    name: "full",
    clients: 10,
    messages: 300,
    ratePerSecond: 20,
    titles: 3,
    receiptTimeoutMs: 8000,
    maxResends: 5,
    resendBackoffMs: 1000,
    drainMs: 120_000,
    graceMs: 3000,
    botTimeoutMs: 2000,
    flakyHangMs: 3000,
    lockTimeoutMs: 30_000,
    lockHangMs: 34_000,
    lockMessages: 5,
    gmsMessages: 100,
    mutants: 5000,
  },
};
