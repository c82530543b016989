// Route secrets at rest (issue 13): sealed with AES-256-GCM in the database,
// opened for the router, readable after a key rotation and sealed again
// under the new key, and a secret stored in clear before sealing existed is
// sealed by resealSecrets (run at every start).
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { DirectoryTree } from "../../../src/core/model.js";
import { keyRingFrom } from "../../../src/security/keyring.js";
import { createStore, openStore, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const SECRET = "bot-bearer-9f2c41d7";
const tree = (secret?: string): DirectoryTree => ({
  items: [
    {
      address: "supporto",
      type: "channel",
      mobileIsPublished: true,
      webIsPublished: true,
      info: { name: "Supporto", status: "", imageUrl: "", thumbUrl: "" },
      route: { mode: "bot", bot: { url: "http://bot.example/hook", ...(secret ? { secret } : {}) } },
    },
  ],
});
const newKey = () => randomBytes(32).toString("base64");
const rawRoute = async (store: Store) =>
  (await store.db.query<{ r: string }>("SELECT route::text AS r FROM directory_items WHERE address = 'supporto'")).rows[0]!.r;

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe("route secrets at rest", () => {
  it("are sealed in the database and opened for the router", async () => {
    const keys = keyRingFrom(newKey());
    store = await openStore(pgliteConfig(), silentLogging(), keys);
    await store.directory.replaceTree(tree(SECRET));
    const raw = await rawRoute(store);
    expect(raw).not.toContain(SECRET);
    expect(raw).toMatch(/"sealedSecret":"v1\.[0-9a-f]{8}\./);
    expect((await store.directory.getTree()).items[0]!.route!.bot!.secret).toBe(SECRET);
    await store.directory.putItem({ ...tree(SECRET).items[0]!, info: { name: "Altro", status: "", imageUrl: "", thumbUrl: "" } }, null);
    expect(await rawRoute(store)).not.toContain(SECRET);
  });

  it("after a rotation old rows stay readable and are sealed again under the new key (on write and by resealSecrets)", async () => {
    const oldKey = newKey();
    store = await openStore(pgliteConfig(), silentLogging(), keyRingFrom(oldKey));
    await store.directory.replaceTree(tree(SECRET));
    const before = await rawRoute(store);
    const rotated = keyRingFrom(`${newKey()},${oldKey}`);
    const after = createStore(store.db, rotated);
    expect((await after.directory.getTree()).items[0]!.route!.bot!.secret).toBe(SECRET);
    expect(await after.directory.resealSecrets()).toBe(1);
    const resealed = await rawRoute(after);
    expect(resealed).not.toBe(before);
    expect(resealed).toContain(`"sealedSecret":"v1.${rotated.currentKeyId}.`);
    expect(await after.directory.resealSecrets()).toBe(0);
  });

  it("a secret written in clear before sealing existed is sealed by resealSecrets", async () => {
    const keys = keyRingFrom(newKey());
    store = await openStore(pgliteConfig(), silentLogging(), keys);
    await store.directory.replaceTree(tree());
    await store.db.query(`UPDATE directory_items SET route = $1::json WHERE address = 'supporto'`, [
      JSON.stringify({ mode: "bot", bot: { url: "http://bot.example/hook", secret: SECRET } }),
    ]);
    expect((await store.directory.getTree()).items[0]!.route!.bot!.secret).toBe(SECRET);
    expect(await store.directory.resealSecrets()).toBe(1);
    expect(await rawRoute(store)).not.toContain(SECRET);
    expect((await store.directory.getTree()).items[0]!.route!.bot!.secret).toBe(SECRET);
  });

  it("a row sealed under a key no longer in the ring is an error that names the key, not a silent loss", async () => {
    store = await openStore(pgliteConfig(), silentLogging(), keyRingFrom(newKey()));
    await store.directory.replaceTree(tree(SECRET));
    await expect(createStore(store.db, keyRingFrom(newKey())).directory.getTree()).rejects.toThrow(/not in EIME_SECRET_KEY/);
  });
});
