// Directory edits across instances (issue 19): three stores (three router
// instances) on one PostgreSQL database, each with its DirectoryCache. An
// edit through one of them reaches every instance's cache within a second
// (LISTEN/NOTIFY), long before the TTL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirectoryItem } from "../../../src/core/model.js";
import { DirectoryCache } from "../../../src/router/directory-cache.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { createPgTestDatabase, pgConfig, silentLogging, skipPg, type TestDatabase } from "../../support/db.js";

const channel = (address: string, name: string): DirectoryItem => ({
  address,
  type: "channel",
  mobileIsPublished: true,
  webIsPublished: true,
  info: { name, status: "", imageUrl: "", thumbUrl: "" },
  route: { mode: "bot", bot: { url: "http://127.0.0.1:9/webhook" } },
});

describe.skipIf(skipPg)("directory cache on three instances of one PostgreSQL database", () => {
  let database: TestDatabase;
  const stores: Store[] = [];
  const caches: DirectoryCache[] = [];

  beforeAll(async () => {
    database = await createPgTestDatabase();
    for (let i = 0; i < 3; i++) {
      const store = await openStore(pgConfig(database.url, 2), silentLogging());
      stores.push(store);
      const cache = new DirectoryCache(store, 3_600_000, silentLogging().child("directory"));
      await cache.start();
      caches.push(cache);
    }
  });

  afterAll(async () => {
    for (const c of caches) await c.stop();
    for (const s of stores) await s.close();
    await database?.drop();
  });

  const nameOn = async (cache: DirectoryCache, address: string) => (await cache.get()).channels.get(address)?.info.name;

  it("an edit on one instance is seen by every instance within a second (the TTL is an hour)", async () => {
    await stores[0]!.directory.putItem(channel("supporto", "Supporto"), null);
    // Every cache loaded (and kept) the first version.
    await new Promise((r) => setTimeout(r, 300));
    for (const c of caches) expect(await nameOn(c, "supporto")).toBe("Supporto");

    const edited = Date.now();
    await stores[2]!.directory.putItem(channel("supporto", "Assistenza"), null);
    const seen = await Promise.all(
      caches.map(async (c) => {
        while ((await nameOn(c, "supporto")) !== "Assistenza") {
          if (Date.now() - edited > 1000) return Number.POSITIVE_INFINITY;
          await new Promise((r) => setTimeout(r, 20));
        }
        return Date.now() - edited;
      }),
    );
    for (const ms of seen) expect(ms).toBeLessThan(1000);
  });
});
