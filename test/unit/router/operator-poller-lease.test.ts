// The Genesys poller's one-owner rule across instances (issue 19): two
// pollers (two instances) on one lease table. The holder keeps its episode
// while a poll hangs far past leaseMs (renewed on its own timer); when the
// holder dies (its database calls stop), the other one takes the episode over
// within leaseMs plus a poll interval and polls it.
import { afterEach, describe, expect, it } from "vitest";
import type { Conversation } from "../../../src/core/model.js";
import { systemClock, type OperatorPort } from "../../../src/core/ports.js";
import { createLogging } from "../../../src/log.js";
import { OperatorPoller } from "../../../src/router/operator-poller.js";
import type { ConversationService } from "../../../src/router/conversation-service.js";
import type { Store } from "../../../src/store/index.js";

const LEASE_MS = 600;
const POLL_MS = 100;
const log = createLogging({ level: "silent", modules: {} }).child("genesys");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const conversation = {
  id: "c1",
  episode: { uuid: "e1", serviceName: "s", chat: { chatId: "x" }, transcriptPosition: 0, endedAt: null },
} as unknown as Conversation;

/** The conversations table's lease columns, with the store's semantics (acquireLease in store/conversations.ts). */
class LeaseTable {
  owner: string | null = null;
  until = 0;
  acquire(owner: string, ttlMs: number): boolean {
    if (this.owner !== null && this.owner !== owner && this.until > Date.now()) return false;
    this.owner = owner;
    this.until = Date.now() + ttlMs;
    return true;
  }
}

function instance(table: LeaseTable, owner: string, refresh: OperatorPort["refresh"]) {
  const state = { dead: false, polls: 0 };
  const gone = () => Promise.reject(new Error("process gone"));
  const store = {
    conversations: {
      withOpenEpisodes: () => (state.dead ? gone() : Promise.resolve([conversation])),
      acquireLease: (_id: string, o: string, ttl: number) => (state.dead ? gone() : Promise.resolve(table.acquire(o, ttl))),
      releaseLease: () => Promise.resolve(true),
    },
  } as unknown as Store;
  const service = { apply: () => Promise.resolve({ jobs: [] }) } as unknown as ConversationService;
  const operator = {
    refresh: (...args: Parameters<OperatorPort["refresh"]>) => {
      state.polls++;
      return refresh(...args);
    },
  } as unknown as OperatorPort;
  const poller = new OperatorPoller(
    store,
    service,
    operator,
    systemClock,
    { owner, pollIntervalMs: POLL_MS, leaseMs: LEASE_MS, maxFailures: 5, concurrency: 4 },
    log,
    () => undefined,
  );
  return { poller, state };
}

const pollers: OperatorPoller[] = [];
afterEach(async () => {
  for (const p of pollers.splice(0)) await p.stop();
});

describe("operator poller leases across instances", () => {
  it("a poll hanging for 3× leaseMs keeps the lease (renewed meanwhile): the other instance never polls", async () => {
    const table = new LeaseTable();
    let release!: () => void;
    const hanging = new Promise<void>((r) => (release = r));
    const a = instance(table, "a", async () => {
      await hanging;
      return { events: [], nextPosition: 0 };
    });
    a.poller.start();
    pollers.push(a.poller);
    await sleep(50);
    const b = instance(table, "b", () => Promise.resolve({ events: [], nextPosition: 0 }));
    b.poller.start();
    pollers.push(b.poller);
    try {
      await sleep(3 * LEASE_MS);
      expect(table.owner).toBe("a");
      expect(b.state.polls).toBe(0);
    } finally {
      release();
    }
  });

  it("the holder dies: the other instance polls the episode within leaseMs + one poll interval", async () => {
    const table = new LeaseTable();
    const ok = () => Promise.resolve({ events: [], nextPosition: 0 });
    const a = instance(table, "a", ok);
    a.poller.start();
    pollers.push(a.poller);
    await sleep(3 * POLL_MS);
    const b = instance(table, "b", ok);
    b.poller.start();
    pollers.push(b.poller);
    await sleep(3 * POLL_MS);
    expect(a.state.polls).toBeGreaterThan(0);
    expect(b.state.polls).toBe(0);

    a.state.dead = true; // kill -9: no more renewals, no more polls
    const died = Date.now();
    while (b.state.polls === 0 && Date.now() - died < 5 * LEASE_MS) await sleep(10);
    const took = Date.now() - died;
    expect(b.state.polls).toBeGreaterThan(0);
    expect(table.owner).toBe("b");
    expect(took).toBeLessThan(LEASE_MS + 2 * POLL_MS + 150);
  });
});
