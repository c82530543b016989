// Group commit on PGlite: steps of different conversations ready at once are
// written in fewer transactions than steps; a bad step sinks only itself; a
// step resolves only once written (what it returns is what the database has).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GroupCommit } from "../../../src/delivery/group-commit.js";
import { openStore, type Store, type Step } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const logging = silentLogging();
let store: Store;
const ids: string[] = [];

beforeAll(async () => {
  store = await openStore(pgliteConfig(), logging);
  for (let i = 0; i < 30; i++) {
    const { conversation } = await store.conversations.createIfAbsent({
      userJid: `39347000${String(i).padStart(4, "0")}@localhost`,
      msisdn: `39347000${String(i).padStart(4, "0")}`,
      channel: "supporto",
      chatTitle: "Supporto",
      addressing: { kind: "channel" },
      apiVersion: "2.1",
      lang: "it",
    });
    ids.push(conversation.id);
  }
});
afterAll(() => store.close());

const step = (conversationId: string, key: string): Step => ({
  conversationId,
  version: null,
  inbound: { sender: `${conversationId}@localhost`, dedupeKey: key, kind: "chat_text", text: key, payload: null },
  outbound: [],
  enqueue: [{ target: "bot", conversationId, idempotencyKey: `job-${key}`, payload: { type: "call_bot" } }],
  owner: "test",
  lockMs: 10_000,
});

const stored = async (keys: string[]) =>
  (await store.db.query<{ k: string }>("SELECT dedupe_key AS k FROM messages WHERE dedupe_key = ANY($1::text[])", [keys])).rows
    .map((r) => r.k)
    .sort();

describe("group commit", () => {
  it("writes steps ready at the same time in fewer transactions, each resolving once written", async () => {
    const commits = new GroupCommit(store, { writers: 1, maxBatch: 100 }, logging.child("store"));
    const keys = ids.map((_, i) => `gc-a-${i}`);
    const results = await Promise.all(ids.map((id, i) => commits.run((tx) => tx.steps.append(step(id, keys[i]!)))));
    expect(results.every((r) => r.written && r.jobs.length === 1 && r.jobs[0]!.mine)).toBe(true);
    expect(await stored(keys)).toEqual([...keys].sort());
    expect(commits.stats.steps).toBe(30);
    // The first goes alone (nothing to wait for), the other 29 gather behind it.
    console.log(`group commit: ${commits.stats.steps} steps in ${commits.stats.transactions} transactions`);
    expect(commits.stats.transactions).toBeLessThanOrEqual(3);
  });

  it("starts another writer only when a crowd of steps waits, so batches stay large", async () => {
    const commits = new GroupCommit(store, { writers: 4, maxBatch: 100, crowd: 16 }, logging.child("store"));
    const keys = ids.map((_, i) => `gc-d-${i}`);
    let open = 0;
    let mostOpen = 0;
    await Promise.all(
      ids.map((id, i) =>
        commits.run(async (tx) => {
          open++;
          mostOpen = Math.max(mostOpen, open);
          try {
            return await tx.steps.append(step(id, keys[i]!));
          } finally {
            open--;
          }
        }),
      ),
    );
    expect(await stored(keys)).toEqual([...keys].sort());
    // One alone, the 16th waiting starts a second writer with 16 steps, the rest (13) follow the first:
    // a free writer per step would have written the first four alone.
    expect(commits.stats.transactions).toBe(3);
    expect(mostOpen).toBeLessThanOrEqual(2);
  });

  it("a step that fails sinks only itself: the batch is written again step by step", async () => {
    const commits = new GroupCommit(store, { writers: 1, maxBatch: 100 }, logging.child("store"));
    const keys = ids.slice(0, 10).map((_, i) => `gc-b-${i}`);
    const outcomes = await Promise.allSettled(
      ids.slice(0, 10).map((id, i) =>
        commits.run(async (tx) => {
          const r = await tx.steps.append(step(id, keys[i]!));
          if (i === 4) throw new Error("a bad step");
          return r;
        }),
      ),
    );
    expect(outcomes.map((o) => o.status)).toEqual(keys.map((_, i) => (i === 4 ? "rejected" : "fulfilled")));
    expect(await stored(keys)).toEqual(keys.filter((_, i) => i !== 4).sort());
    expect(commits.stats.failedBatches).toBe(1);
  });

  it("an idle router writes a lone one-statement step without a transaction around it", async () => {
    const commits = new GroupCommit(store, { writers: 2, maxBatch: 100 }, logging.child("store"));
    const r = await commits.run((tx) => tx.steps.append(step(ids[0]!, "gc-c-0")), false);
    expect(r.written).toBe(true);
    expect(commits.stats).toEqual({ transactions: 1, steps: 1, failedBatches: 0 });
  });
});
