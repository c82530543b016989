// ROUTER_QUEUED#0001 estimatedWaitSeconds (issue 17 item 2) on PGlite: the
// median time from request to agent joined of a service's recent episodes,
// across every conversation in the database, read once and kept for a while.
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OperatorEpisode } from "../../../src/core/model.js";
import { WaitEstimates } from "../../../src/router/wait-estimates.js";
import { keyRingFrom } from "../../../src/security/keyring.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const NOW = new Date("2026-12-02T10:00:00Z");
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);
let store: Store;
let n = 0;

function episode(serviceName: string, requestedAt: Date, waitSeconds: number | null): OperatorEpisode {
  return {
    uuid: `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
    serviceName,
    chat: null,
    transcriptPosition: 1,
    queuePosition: null,
    notifiedQueuePosition: null,
    requestedAt,
    joinedAt: waitSeconds === null ? null : new Date(requestedAt.getTime() + waitSeconds * 1000),
    agentNickname: null,
    lastActivityAt: requestedAt,
    lastQueuedNoticeAt: null,
    endedAt: null,
    endCode: null,
  };
}

async function conversationWith(ep: OperatorEpisode) {
  await store.conversations.create({
    userJid: `u${++n}@eime.local`,
    channel: "supporto",
    chatTitle: "Supporto",
    addressing: { kind: "channel" },
    apiVersion: "2.1",
    lang: "it",
    state: "operator",
    episode: ep,
  });
}

beforeAll(async () => {
  store = await openStore(pgliteConfig(), silentLogging(), keyRingFrom(randomBytes(32).toString("base64")));
  for (const [wait, ago] of [
    [30, 10],
    [90, 20],
    [60, 30],
    [600, 50],
    [20, 5],
  ] as const) {
    await conversationWith(episode("support", minutesAgo(ago), wait));
  }
  await conversationWith(episode("support", minutesAgo(3), null)); // still waiting: not counted
  await conversationWith(episode("support", minutesAgo(180), 5)); // too old
  await conversationWith(episode("billing", minutesAgo(10), 1000)); // another service
}, 60_000);

afterAll(async () => {
  await store?.close();
});

describe("queue count (route.maxQueued)", () => {
  it("counts the conversations waiting in a service's queue, from the database", async () => {
    const queuedEp = episode("queue-test", minutesAgo(1), null);
    const before = await store.conversations.countQueued("queue-test");
    await store.conversations.create({
      userJid: `q${++n}@eime.local`,
      channel: "supporto",
      chatTitle: "Coda",
      addressing: { kind: "channel" },
      apiVersion: "2.1",
      lang: "it",
      state: "queued",
      episode: queuedEp,
    });
    await conversationWith(episode("queue-test", minutesAgo(1), 10)); // joined (state operator): not waiting
    expect(await store.conversations.countQueued("queue-test")).toBe(before + 1);
    expect(await store.conversations.countQueued("elsewhere")).toBe(0);
  });
});

describe("wait estimate", () => {
  it("is the median time to agent joined of the service's episodes in the window", async () => {
    expect(await store.conversations.medianWaitSeconds("support", minutesAgo(60))).toEqual({ median: 60, episodes: 5 });
    expect(await store.conversations.medianWaitSeconds("nobody", minutesAgo(60))).toEqual({ median: null, episodes: 0 });
  });

  it("WaitEstimates has none at first, then the stored median until it is stale", async () => {
    let now = NOW;
    const estimates = new WaitEstimates(store, { now: () => now }, pino({ level: "silent" }), { ttlMs: 60_000 });
    expect(estimates.get("support")).toBeUndefined();
    expect(await estimates.refresh("support")).toBe(60);
    expect(estimates.get("support")).toBe(60);
    expect(estimates.get("billing")).toBeUndefined();
    await conversationWith(episode("support", minutesAgo(1), 3000));
    await conversationWith(episode("support", minutesAgo(1), 3000));
    now = new Date(NOW.getTime() + 30_000);
    expect(estimates.get("support")).toBe(60); // still fresh
    expect(await estimates.refresh("support")).toBe(90);
  });
});
