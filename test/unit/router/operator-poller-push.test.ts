// The Genesys poller in push mode (genesys.push): an episode GMS has pushed
// for is refreshed when woken and otherwise only every keepAliveMs; without a
// push it keeps the normal pace; a wake while its poll runs does not overlap
// it (one more poll after, on a fresh read of the conversation).
import { afterEach, describe, expect, it } from "vitest";
import type { Conversation } from "../../../src/core/model.js";
import { systemClock, type OperatorPort } from "../../../src/core/ports.js";
import { createLogging } from "../../../src/log.js";
import { OperatorPoller } from "../../../src/router/operator-poller.js";
import type { ConversationService } from "../../../src/router/conversation-service.js";
import type { Store } from "../../../src/store/index.js";

const POLL_MS = 50;
const log = createLogging({ level: "silent", modules: {} }).child("genesys");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function conversation(position: number): Conversation {
  return {
    id: "c1",
    episode: { uuid: "e1", serviceName: "s", chat: { chatId: "x" }, transcriptPosition: position, endedAt: null },
  } as unknown as Conversation;
}

function setup(
  keepAliveMs: number | undefined,
  refresh: OperatorPort["refresh"] = () => Promise.resolve({ events: [], nextPosition: 1 }),
  pollIntervalMs = POLL_MS,
) {
  const state = { refreshes: [] as number[], reads: 0, position: 1 };
  const store = {
    conversations: {
      withOpenEpisodes: () => Promise.resolve([conversation(state.position)]),
      get: () => {
        state.reads++;
        return Promise.resolve(conversation(state.position));
      },
      acquireLease: () => Promise.resolve(true),
      releaseLease: () => Promise.resolve(true),
    },
  } as unknown as Store;
  const service = { apply: () => Promise.resolve({ jobs: [] }) } as unknown as ConversationService;
  const operator = {
    refresh: (...args: Parameters<OperatorPort["refresh"]>) => {
      state.refreshes.push(args[2]);
      return refresh(...args);
    },
  } as unknown as OperatorPort;
  const poller = new OperatorPoller(
    store,
    service,
    operator,
    systemClock,
    { owner: "a", pollIntervalMs, leaseMs: 1000, maxFailures: 5, concurrency: 4, ...(keepAliveMs ? { keepAliveMs } : {}) },
    log,
    () => undefined,
  );
  pollers.push(poller);
  return { poller, state };
}

const pollers: OperatorPoller[] = [];
afterEach(async () => {
  for (const p of pollers.splice(0)) await p.stop();
});

describe("operator poller in push mode", () => {
  it("before any push, an episode is refreshed every round", async () => {
    const { poller, state } = setup(60_000);
    poller.start();
    await sleep(10 * POLL_MS);
    expect(state.refreshes.length).toBeGreaterThanOrEqual(5);
  });

  it("once pushed for, it is refreshed on each wake and otherwise only at the keep-alive", async () => {
    const { poller, state } = setup(600);
    poller.start();
    await sleep(2 * POLL_MS);
    await poller.wake("c1", "e1");
    const afterWake = state.refreshes.length;
    await sleep(6 * POLL_MS); // 300 ms: rounds, but the keep-alive is not due
    expect(state.refreshes.length).toBe(afterWake);
    await poller.wake("c1", "e1");
    expect(state.refreshes.length).toBe(afterWake + 1);
    await sleep(900); // the keep-alive comes without a push
    expect(state.refreshes.length).toBeGreaterThanOrEqual(afterWake + 2);
    expect(state.refreshes.length).toBeLessThanOrEqual(afterWake + 3);
  });

  it("a push for another (earlier) episode does not slow this one", async () => {
    const { poller, state } = setup(60_000);
    poller.start();
    await poller.wake("c1", "an-old-episode");
    const n = state.refreshes.length;
    await sleep(8 * POLL_MS);
    expect(state.refreshes.length).toBeGreaterThanOrEqual(n + 4);
  });

  it("without push mode a wake does nothing", async () => {
    const { poller, state } = setup(undefined, undefined, 60_000);
    poller.start();
    await sleep(50);
    state.refreshes.length = 0;
    await poller.wake("c1", "e1");
    expect(state.refreshes).toEqual([]);
  });

  it("a wake while the episode's poll runs waits for it, then polls once from the new position", async () => {
    let hang = false;
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const { poller, state } = setup(
      60_000,
      async () => {
        if (hang) await slow;
        return { events: [], nextPosition: 1 };
      },
      60_000, // one round, at start
    );
    poller.start();
    await sleep(50);
    const n = state.refreshes.length;
    hang = true;
    const first = poller.wake("c1", "e1");
    await sleep(20);
    state.position = 7; // what the first poll's step saved
    const second = poller.wake("c1", "e1");
    const third = poller.wake("c1", "e1");
    await sleep(50);
    expect(state.refreshes.slice(n)).toEqual([1]); // no overlap
    hang = false;
    release();
    await Promise.all([first, second, third]);
    expect(state.refreshes.slice(n)).toEqual([1, 7]); // one more, shared, on a fresh read
  });
});
