// The store's integration suite, run unchanged against PostgreSQL
// (store.pg.test.ts) and embedded PGlite (store.pglite.test.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Conversation, DirectoryItem, DirectoryTree, OperatorEpisode } from "../../../src/core/model.js";
import { RouterError } from "../../../src/errors.js";
import {
  ConcurrentUpdateError,
  migrate,
  openDb,
  openStore,
  SCHEMA_VERSION,
  SchemaTooNewError,
  schemaVersion,
  type DatabaseConfig,
  type Engine,
  type NewConversation,
  type OutboxItem,
  type Store,
  type StepRepository,
} from "../../../src/store/index.js";
import { msisdnHash } from "../../../src/protocol/msisdn.js";
import { MIGRATIONS } from "../../../src/store/migrations/index.js";
import { silentLogging } from "../../support/db.js";
import { defineArchiveTests } from "./archive-suite.js";
import { insertOutboxRows } from "../../support/outbox-rows.js";

export interface StoreHarness {
  engine: Engine;
  /** This file's database (migrated by the suite). */
  setup(): Promise<DatabaseConfig>;
  /** A database whose contents survive close(): pg the same one, PGlite a directory. */
  durableConfig(): Promise<DatabaseConfig>;
  /** pg only: another empty database, for concurrent first migrations. */
  freshDatabase?(): Promise<{ config: DatabaseConfig; drop(): Promise<void> }>;
  teardown(): Promise<void>;
}

const logging = silentLogging();

interface UserMessage {
  conversationId: string;
  sender: string;
  dedupeKey: string | null;
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
}

/** A user's message stored the way the router stores it: a conversation step that holds only it. `written` false: a duplicate. */
const storeInbound = (s: { steps: StepRepository }, { conversationId, ...inbound }: UserMessage) =>
  s.steps.append({ conversationId, version: null, inbound, outbound: [], enqueue: [], owner: "test", lockMs: 10_000 });

/** A message to the user, as a step stores it (its stanza, no payload); a repeated key is skipped. */
const storeOutbound = (
  s: { steps: StepRepository },
  m: { conversationId: string; author: "bot" | "operator" | "router"; dedupeKey: string; kind: string; text: string | null },
) =>
  s.steps.append({
    conversationId: m.conversationId,
    version: null,
    outbound: [{ author: m.author, kind: m.kind, text: m.text, dedupeKey: m.dedupeKey, stanza: `<message id="${m.dedupeKey}"/>` }],
    enqueue: [],
    owner: "test",
    lockMs: 10_000,
  });

/** An outbox row by its key, as a test reads it (what the executor sees of it comes from claim). */
const outboxRow = async (store: Pick<Store, "db">, key: string) =>
  (
    await store.db.query<Omit<OutboxItem, "storedStanza">>(
      `SELECT id::text AS id, target, conversation_id AS "conversationId", payload, idempotency_key AS "idempotencyKey", attempts,
         next_attempt_at AS "nextAttemptAt", last_error AS "lastError", locked_by AS "lockedBy", locked_until AS "lockedUntil",
         created_at AS "createdAt"
       FROM outbox WHERE idempotency_key = $1::text`,
      [key],
    )
  ).rows[0] ?? null;

const outboundRows = async (store: Store, key: string) =>
  (await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE direction = 'out' AND dedupe_key = $1::text", [key]))
    .rows[0]!.n;
const TABLES = "directory_items, users, address_book, conversations, messages, outbox, rate_limits";

/** An item with its keys in the admin format's order (protocol.md section 6), as the store must give it back. */
function canonical(item: DirectoryItem): DirectoryItem {
  const { name, status, imageUrl, thumbUrl, defaultMessage } = item.info;
  return {
    address: item.address,
    type: item.type,
    ...(item.serverAddress !== undefined ? { serverAddress: item.serverAddress } : {}),
    mobileIsPublished: item.mobileIsPublished,
    webIsPublished: item.webIsPublished,
    info: { name, status, imageUrl, thumbUrl, ...(defaultMessage !== undefined ? { defaultMessage } : {}) },
    ...(item.items !== undefined ? { items: item.items } : {}),
    ...(item.route !== undefined ? { route: item.route } : {}),
  };
}

const channel = (address: string, extra: Partial<DirectoryItem> = {}): DirectoryItem =>
  canonical({
    address,
    type: "channel",
    mobileIsPublished: true,
    webIsPublished: false,
    info: {
      name: address.toUpperCase(),
      status: "online",
      imageUrl: `https://img/${address}.png`,
      thumbUrl: `https://img/${address}.t.png`,
    },
    ...extra,
  });

const group = (address: string, items: DirectoryItem[], extra: Partial<DirectoryItem> = {}): DirectoryItem =>
  canonical({
    address,
    type: "group",
    mobileIsPublished: true,
    webIsPublished: true,
    info: { name: address, status: "", imageUrl: "", thumbUrl: "" },
    items,
    ...extra,
  });

const TREE: DirectoryTree = {
  items: [
    group("mobile_ticketing_group", [
      channel("zeta_milano", {
        serverAddress: "myticket",
        info: { name: "Zeta", status: "…", imageUrl: "i", thumbUrl: "t", defaultMessage: "Ciao" },
        route: { mode: "bot", bot: { url: "http://bot.local/hook", timeoutMs: 5000, secret: "s3cret" } },
      }),
      channel("atm_milano", { route: { mode: "operator", genesys: { serviceName: "gms", premiumServiceName: "gms-premium" } } }),
      group("nested", [channel("deep")]),
      group("empty_group", []),
    ]),
    channel("supporto", { route: { mode: "bot+operator", bot: { url: "http://bot.local/s" }, genesys: { serviceName: "support" } } }),
    channel("alpha"),
  ],
};

function newConversation(overrides: Partial<NewConversation> = {}): NewConversation {
  return {
    userJid: "393471111111@localhost",
    msisdn: "393471111111",
    channel: "supporto",
    chatTitle: "Supporto",
    addressing: { kind: "channel" },
    apiVersion: "2.1",
    lang: "it",
    ...overrides,
  };
}

const ms = (t: number) => new Date(Math.trunc(t));

export function defineStoreSuite(harness: StoreHarness): void {
  describe(`store on ${harness.engine}`, () => {
    let config: DatabaseConfig;
    let store: Store;

    beforeAll(async () => {
      config = await harness.setup();
      store = await openStore(config, logging);
    });

    afterAll(async () => {
      await store?.close();
      await harness.teardown();
    });

    beforeEach(async () => {
      await store.db.exec(`TRUNCATE ${TABLES} RESTART IDENTITY CASCADE`);
    });

    describe("migrations", () => {
      it("brings the schema to the latest version once; a second run is a no-op", async () => {
        expect(await schemaVersion(store.db)).toBe(SCHEMA_VERSION);
        const again = await migrate(store.db);
        expect(again).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
        const { rows } = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM schema_version");
        expect(rows[0]?.n).toBe(MIGRATIONS.length);
      });

      it("refuses a database migrated by a newer router", async () => {
        const future = SCHEMA_VERSION + 2;
        await store.db.query("INSERT INTO schema_version (version, name) VALUES ($1, 'future')", [future]);
        try {
          const err = await migrate(store.db).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(SchemaTooNewError);
          expect((err as Error).message).toBe(
            `database schema version ${future} is newer than this router (${SCHEMA_VERSION}): upgrade the router`,
          );
        } finally {
          await store.db.query("DELETE FROM schema_version WHERE version = $1", [future]);
        }
      });

      it("applies a migration with its version bump, or nothing of it", async () => {
        const broken = [
          ...MIGRATIONS,
          { version: SCHEMA_VERSION + 1, name: "broken", sql: "CREATE TABLE half_done (a int); SELECT no_such_function();" },
        ];
        const err = await migrate(store.db, { migrations: broken }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RouterError);
        expect((err as RouterError).code).toBe("SQL_ERROR");
        expect(await schemaVersion(store.db)).toBe(SCHEMA_VERSION);
        const { rows } = await store.db.query<{ t: string | null }>("SELECT to_regclass('half_done')::text AS t");
        expect(rows[0]?.t).toBeNull();
      });

      if (harness.freshDatabase) {
        it("lets instances that start together migrate an empty database once", async () => {
          const fresh = await harness.freshDatabase!();
          const dbs = await Promise.all([1, 2, 3].map(() => openDb(fresh.config, logging.child("store"))));
          try {
            const results = await Promise.all(dbs.map((db) => migrate(db)));
            expect(results.flatMap((r) => r.applied).sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
            expect(await schemaVersion(dbs[0]!)).toBe(SCHEMA_VERSION);
          } finally {
            await Promise.all(dbs.map((db) => db.close()));
            await fresh.drop();
          }
        });
      }
    });

    describe("transactions", () => {
      it("rolls back everything when the function throws, and rethrows its error", async () => {
        const boom = new Error("boom");
        const err = await store
          .transaction(async (tx) => {
            const c = await tx.conversations.create(newConversation());
            await storeInbound(tx, {
              conversationId: c.id,
              sender: c.userJid,
              dedupeKey: "m1",
              kind: "chat_text",
              text: "hi",
              payload: null,
            });
            await tx.users.upsertMany([{ msisdn: "393470000000" }]);
            await tx.directory.replaceTree(TREE);
            throw boom;
          })
          .catch((e: unknown) => e);
        expect(err).toBe(boom);
        expect(await store.conversations.list()).toEqual([]);
        expect(await store.users.count()).toBe(0);
        expect(await store.directory.isEmpty()).toBe(true);
        const { rows } = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM messages");
        expect(rows[0]?.n).toBe(0);
      });

      it("commits all of it, and a nested section that throws is undone alone", async () => {
        const id = await store.transaction(async (tx) => {
          const c = await tx.conversations.create(newConversation());
          await tx
            .transaction(async (inner) => {
              await inner.users.upsertMany([{ msisdn: "393470000001" }]);
              throw new Error("inner");
            })
            .catch(() => undefined);
          await tx.users.upsertMany([{ msisdn: "393470000002" }]);
          return c.id;
        });
        expect(await store.conversations.get(id)).not.toBeNull();
        expect((await store.users.findByMsisdns(["393470000001", "393470000002"])).map((u) => u.msisdn)).toEqual(["393470000002"]);
      });

      it("wraps database errors into SQL_ERROR with the cause", async () => {
        const err = await storeInbound(store, {
          conversationId: "no-such-conversation",
          sender: "a@b",
          dedupeKey: "x",
          kind: "chat_text",
          text: "t",
          payload: null,
        }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RouterError);
        expect((err as RouterError).code).toBe("SQL_ERROR");
        expect((err as RouterError).cause).toMatchObject({ code: "23503" });
      });

      if (harness.engine === "pglite") {
        it("refuses (rather than deadlocks on) a query on the database inside its own transaction", async () => {
          const err = await store.transaction(() => store.users.count()).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(RouterError);
          expect(String((err as Error).message)).toMatch(/inside one of its own transactions/);
          expect(await store.users.count()).toBe(0);
        });
      }
    });

    describe("directory", () => {
      it("round-trips the tree with its order, nesting, routes and exact field set", async () => {
        expect(await store.directory.isEmpty()).toBe(true);
        await store.directory.replaceTree(TREE);
        expect(await store.directory.isEmpty()).toBe(false);
        const tree = await store.directory.getTree();
        expect(tree).toStrictEqual(TREE);
        expect(JSON.stringify(tree)).toBe(JSON.stringify(TREE));
        // A replacement drops what it does not name.
        await store.directory.replaceTree({ items: [channel("only")] });
        expect(await store.directory.getTree()).toStrictEqual({ items: [channel("only")] });
      });

      it("puts one item: appended when new or moved, kept in place when replaced", async () => {
        await store.directory.replaceTree(TREE);
        expect(await store.directory.putItem(channel("beta"), null)).toEqual({ created: true });
        expect(await store.directory.putItem(channel("supporto", { webIsPublished: true }), null)).toEqual({ created: false });
        let top = (await store.directory.getTree()).items;
        expect(top.map((i) => i.address)).toEqual(["mobile_ticketing_group", "supporto", "alpha", "beta"]);
        expect(top[1]?.webIsPublished).toBe(true);
        expect(top[1]?.route).toBeUndefined();

        await store.directory.putItem(channel("alpha"), "nested");
        const nested = (await store.directory.getTree()).items[0]?.items?.find((i) => i.address === "nested");
        expect(nested?.items?.map((i) => i.address)).toEqual(["deep", "alpha"]);

        // A group put without items keeps its children; with items it gets exactly those.
        await store.directory.putItem(
          { ...group("nested", []), items: undefined, info: { ...group("nested", []).info, name: "Renamed" } },
          "mobile_ticketing_group",
        );
        top = (await store.directory.getTree()).items;
        const renamed = top[0]?.items?.find((i) => i.address === "nested");
        expect(renamed?.info.name).toBe("Renamed");
        expect(renamed?.items?.map((i) => i.address)).toEqual(["deep", "alpha"]);
        await store.directory.putItem(group("nested", [channel("fresh")]), "mobile_ticketing_group");
        const replaced = (await store.directory.getTree()).items[0]?.items?.find((i) => i.address === "nested");
        expect(replaced?.items?.map((i) => i.address)).toEqual(["fresh"]);
      });

      it("rejects a parent that is missing, a channel, or inside the item", async () => {
        await store.directory.replaceTree(TREE);
        for (const parent of ["nope", "supporto", "deep"]) {
          const target = parent === "deep" ? group("nested", []) : channel("x");
          const err = await store.directory.putItem(target, parent).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(RouterError);
          expect((err as RouterError).code).toBe("BAD_REQUEST");
          expect((err as RouterError).field).toBe("parent");
        }
        const dup = await store.directory.replaceTree({ items: [channel("a"), group("g", [channel("a")])] }).catch((e: unknown) => e);
        expect((dup as RouterError).code).toBe("BAD_REQUEST");
        expect(await store.directory.getTree()).toStrictEqual(TREE);
      });

      it("deletes a channel, or a group with its contents", async () => {
        await store.directory.replaceTree(TREE);
        expect(await store.directory.deleteItem("alpha")).toBe(true);
        expect(await store.directory.deleteItem("alpha")).toBe(false);
        expect(await store.directory.deleteItem("mobile_ticketing_group")).toBe(true);
        expect((await store.directory.getTree()).items.map((i) => i.address)).toEqual(["supporto"]);
        const { rows } = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM directory_items");
        expect(rows[0]?.n).toBe(1);
      });

      it("notifies every listener of a committed change, and none of a rolled-back one", async () => {
        // On pg a second Db instance on the same database; PGlite is one process.
        const other = harness.engine === "pg" ? await openStore(config, logging) : store;
        const seen: (string | null)[] = [];
        const waiters: (() => void)[] = [];
        const stop = await other.directory.onDirectoryChanged((address) => {
          seen.push(address);
          waiters.shift()?.();
        });
        const next = () => new Promise<void>((resolve) => waiters.push(resolve));
        try {
          let got = next();
          await store.directory.putItem(channel("alpha"), null);
          await got;
          got = next();
          await store
            .transaction(async (tx) => {
              await tx.directory.putItem(channel("rolled_back"), null);
              throw new Error("no");
            })
            .catch(() => undefined);
          await store.directory.replaceTree(TREE);
          await got;
          got = next();
          await store.directory.deleteItem("alpha");
          await got;
          expect(seen).toEqual(["alpha", null, "alpha"]);
        } finally {
          await stop();
          if (other !== store) await other.close();
        }
      });
    });

    if (harness.engine === "pg") {
      describe("connection blips", () => {
        const terminate = (where: string) =>
          store.db.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND ${where}`,
          );

        it("re-LISTENs after the listening connection drops, telling listeners they may have missed something", async () => {
          const other = await openStore(config, logging);
          const seen: (string | null)[] = [];
          const waiters: (() => void)[] = [];
          const next = () => new Promise<void>((resolve) => waiters.push(resolve));
          const stop = await other.directory.onDirectoryChanged((address) => {
            seen.push(address);
            waiters.shift()?.();
          });
          try {
            let got = next();
            await terminate("application_name = 'eime-router/listen'");
            await got; // the reconnect's "reload everything"
            got = next();
            await store.directory.putItem(channel("after_blip"), null);
            await got;
            expect(seen).toEqual([null, "after_blip"]);
          } finally {
            await stop();
            await other.close();
          }
        });

        it("survives the pool's idle connections being killed", async () => {
          const other = await openStore(config, logging);
          try {
            await Promise.all([other.users.count(), other.users.count(), other.users.count()]);
            await terminate("application_name = 'eime-router' AND state = 'idle'");
            await new Promise((r) => setTimeout(r, 100));
            expect(await other.users.count()).toBe(0);
          } finally {
            await other.close();
          }
        });
      });
    }

    describe("users", () => {
      it("upserts in bulk with the protocol hash, finds by MSISDN or hash, deletes", async () => {
        expect(msisdnHash("393471111111")).toMatch(/^[0-9a-f]{64}$/);
        const n = await store.users.upsertMany([
          { msisdn: "393471111111", name: "Mario" },
          { msisdn: "393472222222" },
          { msisdn: "393471111111", name: "Mario Rossi" },
        ]);
        expect(n).toBe(2);
        expect(await store.users.get("393471111111")).toEqual({
          msisdn: "393471111111",
          hash: msisdnHash("393471111111"),
          name: "Mario Rossi",
        });
        await store.users.upsertMany([{ msisdn: "393471111111" }, { msisdn: "393472222222", name: "Luigi" }]);
        expect((await store.users.get("393471111111"))?.name).toBe("Mario Rossi");
        expect((await store.users.findByMsisdns(["393472222222", "39000", "393472222222"])).map((u) => u.name)).toEqual(["Luigi"]);
        const byHash = await store.users.findByHashes([msisdnHash("393471111111").toUpperCase(), msisdnHash("39000")]);
        expect(byHash.map((u) => u.msisdn)).toEqual(["393471111111"]);
        expect(await store.users.delete("393471111111")).toBe(true);
        expect(await store.users.delete("393471111111")).toBe(false);
        expect(await store.users.get("393471111111")).toBeNull();
        expect(await store.users.upsertMany([])).toBe(0);
      });

      it("replaces an owner's address book", async () => {
        await store.users.replaceAddressBook("39347000", ["3933", "3911", "3933"]);
        await store.users.replaceAddressBook("39348000", ["3955"]);
        expect(await store.users.addressBook("39347000")).toEqual(["3911", "3933"]);
        expect(await store.users.inAddressBook("39347000", "3911")).toBe(true);
        expect(await store.users.inAddressBook("39347000", "3955")).toBe(false);
        await store.users.replaceAddressBook("39347000", ["3955"]);
        expect(await store.users.addressBook("39347000")).toEqual(["3955"]);
        await store.users.replaceAddressBook("39347000", []);
        expect(await store.users.addressBook("39347000")).toEqual([]);
        expect(await store.users.addressBook("39348000")).toEqual(["3955"]);
      });
    });

    describe("conversations", () => {
      const episode = (t: number): OperatorEpisode => ({
        uuid: "6f1c9a52-1d0e-4c57-9f39-000000000001",
        serviceName: "gms-premium",
        chat: { chatId: "chat-1", userId: "user-1", secureKey: "key-1", alias: "117" },
        transcriptPosition: 7,
        queuePosition: 3,
        notifiedQueuePosition: 4,
        requestedAt: ms(t),
        joinedAt: ms(t + 1000),
        agentNickname: "Anna",
        lastActivityAt: ms(t + 2000),
        lastQueuedNoticeAt: ms(t + 500),
        endedAt: null,
        endCode: null,
      });

      it("stores and saves every field", async () => {
        const t = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
        const created = await store.conversations.create(newConversation({ now: ms(t) }));
        expect(created).toMatchObject({
          version: 1,
          state: "bot",
          botSession: 0,
          botSessionOpen: false,
          episode: null,
          premium: false,
          plain: false,
          clientThread: null,
        });
        expect(created.createdAt).toEqual(ms(t));
        // What create and save return is built from what they wrote, not read back: it must be what a read gives.
        expect(await store.conversations.get(created.id)).toEqual(created);
        const changed: Conversation = {
          ...created,
          msisdn: "393479999999",
          addressing: { kind: "server", serverAddress: "bot-management" },
          apiVersion: "2",
          os: "ios",
          appVersion: "0.4.65",
          premium: true,
          useChatDynamic: true,
          plain: true,
          clientThread: "a thread of a plain client",
          lang: "en",
          state: "operator",
          botSession: 2,
          botSessionOpen: true,
          botOptions: [{ title: "Offerte", payload: "/offers" }],
          // Migration 8: what the user read (readReceipt) and the nickname Genesys knows.
          episode: { ...episode(t), readPosition: 5, nickname: "Mario Rossi" },
          votingUntil: ms(t + 86_400_000),
          callback: { state: "requested", serviceName: "Callback", since: "2025-01-02T03:04:05.678Z", at: null },
        };
        const saved = await store.conversations.save(changed, ms(t + 60_000));
        expect(saved).toEqual({ ...changed, version: 2, updatedAt: ms(t + 60_000) });
        expect(await store.conversations.get(created.id)).toEqual(saved);
        expect(await store.conversations.findByKey(created.userJid, "supporto", "Supporto")).toEqual(saved);
        expect(await store.conversations.findByKey(created.userJid, "supporto", "Other")).toBeNull();
        expect(await store.conversations.get("missing")).toBeNull();
        // An episode without chat ids yet, then none at all.
        const queued = await store.conversations.save({ ...saved, episode: { ...episode(t), chat: null, joinedAt: null } });
        expect(queued.episode?.chat).toBeNull();
        expect(await store.conversations.get(created.id)).toEqual(queued);
        const none = await store.conversations.save({ ...queued, episode: null, botOptions: null, os: null, callback: null });
        expect(none).toMatchObject({ episode: null, botOptions: null, os: null, version: 4 });
        expect(await store.conversations.get(created.id)).toEqual(none);
      });

      it("resolves a create race on the key to one conversation", async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.conversations.createIfAbsent(newConversation({ lang: `l${i}` }))),
        );
        expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        const again = await store.conversations.create(newConversation());
        expect(again.id).toBe(results[0]?.conversation.id);
        const other = await store.conversations.create(newConversation({ chatTitle: "Another chat" }));
        expect(other.id).not.toBe(again.id);
        expect((await store.conversations.countByState()).bot).toBe(2);
      });

      it("saves optimistically: a stale version is a ConcurrentUpdateError", async () => {
        const c = await store.conversations.create(newConversation());
        const first = await store.conversations.save({ ...c, state: "queued" });
        expect(first.version).toBe(c.version + 1);
        const err = await store.conversations.save({ ...c, state: "closed" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConcurrentUpdateError);
        expect(err).toMatchObject({ code: "SQL_ERROR", expectedVersion: 1, actualVersion: 2 });
        expect((await store.conversations.get(c.id))?.state).toBe("queued");
        // Two writers from the same version at once: exactly one wins.
        const race = await Promise.allSettled([
          store.conversations.save({ ...first, lang: "en" }),
          store.conversations.save({ ...first, lang: "fr" }),
        ]);
        expect(race.filter((r) => r.status === "fulfilled")).toHaveLength(1);
        expect(race.filter((r) => r.status === "rejected" && r.reason instanceof ConcurrentUpdateError)).toHaveLength(1);
        const gone = await store.conversations.save({ ...c, id: "missing" }).catch((e: unknown) => e);
        expect(gone).toMatchObject({ code: "NO_CONVERSATION_FOUND" });
      });

      it("lists by recency and state, counts by state, finds open episodes", async () => {
        const t = Date.UTC(2025, 0, 1);
        const mk = async (title: string, state: Conversation["state"], at: number, withChat = false) => {
          const c = await store.conversations.create(newConversation({ chatTitle: title, now: ms(at) }));
          const ep = withChat
            ? {
                uuid: "u",
                serviceName: "s",
                chat: { chatId: `c-${title}`, userId: "u", secureKey: "k", alias: "a" },
                transcriptPosition: 0,
                queuePosition: null,
                notifiedQueuePosition: null,
                requestedAt: ms(at),
                joinedAt: null,
                agentNickname: null,
                lastActivityAt: ms(at),
                lastQueuedNoticeAt: null,
                endedAt: null,
                endCode: null,
              }
            : null;
          return store.conversations.save({ ...c, state, episode: ep }, ms(at));
        };
        await mk("a", "bot", t + 1);
        await mk("b", "operator", t + 3, true);
        await mk("c", "queued", t + 2, false);
        await mk("d", "queued", t + 4, true);
        await mk("e", "closed", t + 5, true);
        expect((await store.conversations.list()).map((c) => c.chatTitle)).toEqual(["e", "d", "b", "c", "a"]);
        expect((await store.conversations.list({ state: "queued", limit: 1 })).map((c) => c.chatTitle)).toEqual(["d"]);
        expect(await store.conversations.countByState()).toEqual({ bot: 1, queued: 2, operator: 1, closed: 1, voting: 0 });
        // security.maxOpenConversationsPerUser counts every state but closed, of that user only.
        const jid = (await store.conversations.list({ limit: 1 }))[0]!.userJid;
        expect(await store.conversations.countOpen(jid)).toBe(4);
        expect(await store.conversations.countOpen(`other-${jid}`)).toBe(0);
        expect((await store.conversations.withOpenEpisodes()).map((c) => c.chatTitle)).toEqual(["b", "d"]);
      });

      it("gives the lease to one owner until it expires, then to another", async () => {
        const c = await store.conversations.create(newConversation());
        const t0 = Date.now();
        expect(await store.conversations.acquireLease(c.id, "a", 10_000, ms(t0))).toBe(true);
        expect(await store.conversations.acquireLease(c.id, "b", 10_000, ms(t0 + 5_000))).toBe(false);
        expect(await store.conversations.acquireLease(c.id, "a", 10_000, ms(t0 + 5_000))).toBe(true); // extended to t0+15s
        expect(await store.conversations.acquireLease(c.id, "b", 10_000, ms(t0 + 12_000))).toBe(false);
        expect(await store.conversations.acquireLease(c.id, "b", 10_000, ms(t0 + 15_001))).toBe(true);
        expect(await store.conversations.acquireLease(c.id, "a", 10_000, ms(t0 + 16_000))).toBe(false);
        expect(await store.conversations.releaseLease(c.id, "a")).toBe(false);
        expect(await store.conversations.releaseLease(c.id, "b")).toBe(true);
        expect(await store.conversations.acquireLease(c.id, "a", 10_000, ms(t0 + 16_000))).toBe(true);
        // A lease does not move the conversation's version, and a save keeps the lease.
        const saved = await store.conversations.save(c);
        expect(saved.version).toBe(2);
        expect(await store.conversations.acquireLease(c.id, "b", 10_000, ms(t0 + 17_000))).toBe(false);
        // On the database clock: two owners racing for a free lease, one wins.
        const d = await store.conversations.create(newConversation({ chatTitle: "d" }));
        const race = await Promise.all(["x", "y", "z"].map((o) => store.conversations.acquireLease(d.id, o, 60_000)));
        expect(race.filter(Boolean)).toHaveLength(1);
      });
    });

    describe("messages", () => {
      it("stores an inbound message once per (sender, key): a duplicate writes nothing", async () => {
        const c = await store.conversations.create(newConversation());
        const m = {
          conversationId: c.id,
          sender: c.userJid,
          dedupeKey: "origin-1",
          kind: "chat_text",
          text: "ciao",
          payload: { text: "ciao", data: { os: "web" } },
        };
        expect((await storeInbound(store, m)).written).toBe(true);
        expect((await storeInbound(store, { ...m, text: "changed" })).written).toBe(false);
        expect((await store.messages.transcript(c.id)).map((x) => x.text)).toEqual(["ciao"]);
        // At once, many times: still one row.
        const burst = await Promise.all(Array.from({ length: 6 }, () => storeInbound(store, { ...m, dedupeKey: "origin-2" })));
        expect(burst.filter((r) => r.written)).toHaveLength(1);
        // The key is per sender; no key means no duplicate detection.
        expect((await storeInbound(store, { ...m, sender: "393472222222@localhost" })).written).toBe(true);
        expect((await storeInbound(store, { ...m, dedupeKey: null })).written).toBe(true);
        expect((await storeInbound(store, { ...m, dedupeKey: null })).written).toBe(true);
        const { rows } = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE dedupe_key = 'origin-1'");
        expect(rows[0]?.n).toBe(2);
      });

      it("stores outbound messages idempotently and returns the transcript oldest first", async () => {
        const c = await store.conversations.create(newConversation());
        await storeInbound(store, {
          conversationId: c.id,
          sender: c.userJid,
          dedupeKey: "in-1",
          kind: "chat_text",
          text: "1",
          payload: null,
        });
        const out = { conversationId: c.id, author: "bot", dedupeKey: "r-1", kind: "chat_dynamic", text: "2" } as const;
        await storeOutbound(store, out);
        await storeOutbound(store, out);
        expect(await outboundRows(store, "r-1")).toBe(1);
        await storeOutbound(store, { conversationId: c.id, author: "operator", dedupeKey: "r-2", kind: "chat_text", text: "3" });
        await storeInbound(store, {
          conversationId: c.id,
          sender: c.userJid,
          dedupeKey: "in-2",
          kind: "chat_text",
          text: "4",
          payload: null,
        });
        const all = await store.messages.transcript(c.id, 10);
        expect(all.map((m) => [m.text, m.direction, m.author])).toEqual([
          ["1", "in", "user"],
          ["2", "out", "bot"],
          ["3", "out", "operator"],
          ["4", "in", "user"],
        ]);
        expect(all[1]).toMatchObject({ conversationId: c.id, kind: "chat_dynamic", payload: null, dedupeKey: "r-1" });
        expect(typeof all[0]?.id).toBe("string");
        expect(all[0]?.createdAt).toBeInstanceOf(Date);
        expect((await store.messages.transcript(c.id, 2)).map((m) => m.text)).toEqual(["3", "4"]);
      });
    });

    defineArchiveTests(() => store);

    describe("outbox", () => {
      it("enqueues once per idempotency key and completes or retries rows", async () => {
        const now = Date.now();
        expect(
          await insertOutboxRows(store, [
            { target: "bot", payload: { n: 1 }, idempotencyKey: "k1" },
            { target: "client", payload: { n: 2 }, idempotencyKey: "k2" },
            { target: "client", payload: { n: 3 }, idempotencyKey: "k2" },
          ]),
        ).toBe(2);
        expect(
          await insertOutboxRows(store, [
            { target: "bot", payload: { n: 9 }, idempotencyKey: "k1" },
            { target: "bot", payload: { n: 4 }, idempotencyKey: "later", nextAttemptAt: ms(now + 3_600_000) },
          ]),
        ).toBe(1);
        expect((await outboxRow(store, "later"))?.nextAttemptAt).toEqual(ms(now + 3_600_000));
        expect(await store.outbox.complete((await outboxRow(store, "later"))!.id)).toBe(true);
        expect(await store.outbox.complete("not-a-row")).toBe(false);
        expect(await store.outbox.depth()).toBe(2);
        expect(await outboxRow(store, "k1")).toMatchObject({
          target: "bot",
          payload: { n: 1 },
          attempts: 0,
          lockedBy: null,
          conversationId: null,
        });
        const claimed = await store.outbox.claim({ owner: "w1", limit: 10, now: ms(now + 1000) });
        expect(claimed.map((i) => i.idempotencyKey)).toEqual(["k1", "k2"]);
        expect(claimed[0]).toMatchObject({ attempts: 1, lockedBy: "w1" });
        expect(await store.outbox.complete(claimed[0]!.id)).toBe(true);
        expect(await store.outbox.complete(claimed[0]!.id)).toBe(false);
        expect(await store.outbox.retry(claimed[1]!.id, "HTTP 503", ms(now + 60_000))).toBe(true);
        expect(await outboxRow(store, "k2")).toMatchObject({ lastError: "HTTP 503", lockedBy: null, nextAttemptAt: ms(now + 60_000) });
        expect(await store.outbox.claim({ owner: "w2", limit: 10, now: ms(now + 30_000) })).toEqual([]);
        expect((await store.outbox.claim({ owner: "w2", limit: 10, now: ms(now + 60_000) })).map((i) => i.attempts)).toEqual([2]);
        expect(await store.outbox.depth()).toBe(1);
      });

      it("never gives one row to two claimers running at once", async () => {
        const items = Array.from({ length: 200 }, (_, i) => ({ target: "client", payload: { i }, idempotencyKey: `row-${i}` }));
        expect(await insertOutboxRows(store, items)).toBe(200);
        const now = ms(Date.now() + 1000);
        const drain = async (owner: string) => {
          const got: string[] = [];
          for (;;) {
            const batch = await store.outbox.claim({ owner, limit: 7, now });
            if (batch.length === 0) return got;
            got.push(...batch.map((b) => b.id));
          }
        };
        const [a, b] = await Promise.all([drain("claimer-a"), drain("claimer-b")]);
        const all = [...a, ...b];
        expect(new Set(all).size).toBe(all.length);
        expect(all).toHaveLength(200);
        if (harness.engine === "pg") expect(a.length > 0 && b.length > 0).toBe(true);
      });

      if (harness.engine === "pg")
        it("renews without waiting for a row another transaction holds (no deadlock with a group commit), and reports only rows someone else took as lost", async () => {
          await insertOutboxRows(
            store,
            [1, 2, 3].map((i) => ({ target: "bot", payload: { i }, idempotencyKey: `r-${i}` })),
          );
          const t0 = Date.now() + 1000;
          const [a, b, c] = await store.outbox.claim({ owner: "w1", limit: 10, lockMs: 1000, now: ms(t0) });
          // c's lease runs out and another instance claims it: lost to w1.
          await store.db.query("UPDATE outbox SET locked_by = 'w2' WHERE id = $1::bigint", [c!.id]);
          let release!: () => void;
          const held = new Promise<void>((r) => (release = r));
          let locked!: () => void;
          const isLocked = new Promise<void>((r) => (locked = r));
          const holder = store.db.transaction(async (tx) => {
            await tx.query("SELECT id FROM outbox WHERE id = $1::bigint FOR UPDATE", [b!.id]);
            locked();
            await held;
          });
          await isLocked;
          const renewed = await Promise.race([
            store.outbox.renew("w1", [a!.id, b!.id, c!.id], 60_000),
            new Promise<"blocked">((r) => setTimeout(() => r("blocked"), 3000)),
          ]);
          release();
          await holder;
          expect(renewed === "blocked" ? renewed : [...renewed].sort()).toEqual([a!.id, b!.id].sort());
          const until = async (id: string) =>
            (
              await store.db.query<{ ms: number }>(
                "SELECT (extract(epoch FROM locked_until) * 1000)::float8 AS ms FROM outbox WHERE id = $1::bigint",
                [id],
              )
            ).rows[0]!.ms;
          expect(await until(a!.id)).toBeGreaterThan(Date.now() + 50_000); // renewed
          expect(await until(b!.id)).toBeLessThan(Date.now() + 50_000); // skipped this round, still w1's
        });

      it("gives a crashed claimer's rows to another once its lock expires", async () => {
        await insertOutboxRows(
          store,
          [1, 2, 3].map((i) => ({ target: "genesys", payload: { i }, idempotencyKey: `c-${i}` })),
        );
        const t0 = Date.now() + 1000;
        expect(await store.outbox.claim({ owner: "crashed", limit: 10, lockMs: 30_000, now: ms(t0) })).toHaveLength(3);
        expect(await store.outbox.claim({ owner: "rescuer", limit: 10, now: ms(t0 + 29_000) })).toEqual([]);
        const rescued = await store.outbox.claim({ owner: "rescuer", limit: 10, now: ms(t0 + 30_001) });
        expect(rescued.map((r) => [r.lockedBy, r.attempts])).toEqual([
          ["rescuer", 2],
          ["rescuer", 2],
          ["rescuer", 2],
        ]);
      });

      it("hands out one conversation's rows for one target in order", async () => {
        const c = "conv-1";
        await insertOutboxRows(store, [
          { target: "client", conversationId: c, payload: { n: 1 }, idempotencyKey: "o1" },
          { target: "client", conversationId: c, payload: { n: 2 }, idempotencyKey: "o2" },
          { target: "bot", conversationId: c, payload: { n: 3 }, idempotencyKey: "o3" },
          { target: "client", conversationId: c, payload: { n: 4 }, idempotencyKey: "o4" },
        ]);
        const t0 = Date.now() + 1000;
        const first = await store.outbox.claim({ owner: "a", limit: 1, now: ms(t0) });
        expect(first.map((i) => i.idempotencyKey)).toEqual(["o1"]);
        // o2 and o4 wait behind o1 (taken); the bot row is independent.
        expect((await store.outbox.claim({ owner: "b", limit: 10, now: ms(t0) })).map((i) => i.idempotencyKey)).toEqual(["o3"]);
        // o1 fails and waits for its retry: o2 and o4 still wait.
        await store.outbox.retry(first[0]!.id, "offline", ms(t0 + 10_000));
        expect(await store.outbox.claim({ owner: "b", limit: 10, now: ms(t0 + 5_000) })).toEqual([]);
        const batch = await store.outbox.claim({ owner: "b", limit: 10, now: ms(t0 + 10_000) });
        expect(batch.map((i) => i.idempotencyKey)).toEqual(["o1", "o2", "o4"]);
      });

      it("can be vacuumed by the router where no autovacuum runs", async () => {
        await insertOutboxRows(
          store,
          Array.from({ length: 50 }, (_, i) => ({ target: "client", payload: { i }, idempotencyKey: `v-${i}` })),
        );
        const { rows } = await store.db.query<{ id: string }>("SELECT id::text AS id FROM outbox");
        await store.outbox.completeMany(rows.map((r) => r.id));
        await store.outbox.vacuum();
        expect(await store.outbox.depth()).toBe(0);
        expect(typeof (await store.outbox.autovacuums())).toBe("boolean");
        if (harness.engine === "pglite") expect(await store.outbox.autovacuums()).toBe(false);
      });

      it("wakes listeners when a dead letter is put back", async () => {
        await insertOutboxRows(store, [{ target: "bot", payload: {}, idempotencyKey: "w1" }]);
        const [row] = await store.outbox.claim({ owner: "me", limit: 1, now: new Date(Date.now() + 1000) });
        expect(await store.outbox.deadLetter(row!.id, "gave up")).toBe(true);
        const [dead] = await store.outbox.listDead();
        const targets: (string | null)[] = [];
        let wake!: () => void;
        const woken = new Promise<void>((r) => (wake = r));
        const stop = await store.outbox.onEnqueued((t) => {
          targets.push(t);
          wake();
        });
        try {
          expect(await store.outbox.retryDead(dead!.id)).not.toBeNull();
          await woken;
          expect(targets).toEqual(["bot"]);
        } finally {
          await stop();
        }
      });
    });

    describe("conversation steps", () => {
      const lock = { owner: "me", lockMs: 30_000 };
      const job = (target: string, key: string) => ({ target, payload: { key }, idempotencyKey: key });

      it("writes the user's message, outbound messages and jobs in one go; a duplicate writes nothing", async () => {
        const c = await store.conversations.create(newConversation());
        const inbound = { sender: c.userJid, dedupeKey: "in-1", kind: "chat_text", text: "ciao", payload: { text: "ciao" } };
        const first = await store.steps.append({
          conversationId: c.id,
          version: c.version,
          inbound,
          outbound: [{ author: "bot", kind: "chat_text", text: "hello", dedupeKey: "out-1" }],
          enqueue: [job("bot", "j1"), job("client", "j2")],
          ...lock,
        });
        expect(first).toMatchObject({ fresh: true, written: true });
        expect(first.jobs.map((j) => [j.idempotencyKey, j.mine, j.lockedBy, j.attempts, j.conversationId])).toEqual([
          ["j1", true, "me", 1, c.id],
          ["j2", true, "me", 1, c.id],
        ]);
        const again = await store.steps.append({
          conversationId: c.id,
          version: c.version,
          inbound,
          outbound: [],
          enqueue: [job("bot", "j3")],
          ...lock,
        });
        expect(again).toEqual({ fresh: true, written: false, jobs: [] });
        expect((await store.messages.transcript(c.id)).map((m) => [m.direction, m.text])).toEqual([
          ["in", "ciao"],
          ["out", "hello"],
        ]);
        expect(await outboxRow(store, "j3")).toBeNull();
      });

      it("new jobs wait behind an earlier row of their chain, except the one the step completes", async () => {
        const c = await store.conversations.create(newConversation());
        const [running] = (
          await store.steps.append({ conversationId: c.id, version: null, outbound: [], enqueue: [job("bot", "b1")], ...lock })
        ).jobs;
        const behind = await store.steps.append({
          conversationId: c.id,
          version: null,
          outbound: [],
          enqueue: [job("bot", "b2"), job("client", "c1")],
          ...lock,
        });
        expect(behind.jobs.map((j) => [j.idempotencyKey, j.mine])).toEqual([
          ["b2", false],
          ["c1", true],
        ]);
        // b1 completes and enqueues the next bot row in the same step: b2 still waits, the new one waits behind b2.
        const next = await store.steps.append({
          conversationId: c.id,
          version: null,
          outbound: [],
          completeJob: running!.id,
          enqueue: [job("bot", "b3")],
          ...lock,
        });
        expect(next.jobs.map((j) => [j.idempotencyKey, j.mine])).toEqual([["b3", false]]);
        expect(await outboxRow(store, "b1")).toBeNull();
        // Completing the only row of a chain frees it for the step's own new row.
        const d = await store.conversations.create(newConversation({ chatTitle: "other" }));
        const [only] = (
          await store.steps.append({ conversationId: d.id, version: null, outbound: [], enqueue: [job("genesys", "g1")], ...lock })
        ).jobs;
        const follow = await store.steps.append({
          conversationId: d.id,
          version: null,
          outbound: [],
          completeJob: only!.id,
          enqueue: [job("genesys", "g2")],
          ...lock,
        });
        expect(follow.jobs.map((j) => [j.idempotencyKey, j.mine])).toEqual([["g2", true]]);
      });

      it("deletes rows already delivered, even when the step itself is not written, and never waits behind them", async () => {
        const c = await store.conversations.create(newConversation());
        const [sent] = (
          await store.steps.append({ conversationId: c.id, version: null, outbound: [], enqueue: [job("client", "d1")], ...lock })
        ).jobs;
        const next = await store.steps.append({
          conversationId: c.id,
          version: null,
          outbound: [],
          delivered: [sent!.id],
          enqueue: [job("client", "d2")],
          ...lock,
        });
        expect(next.jobs.map((j) => [j.idempotencyKey, j.mine])).toEqual([["d2", true]]);
        expect(await outboxRow(store, "d1")).toBeNull();
        const [d2] = next.jobs;
        const dup = await store.steps.append({
          conversationId: c.id,
          version: c.version + 5,
          outbound: [],
          delivered: [d2!.id],
          enqueue: [job("client", "d3")],
          ...lock,
        });
        expect(dup).toEqual({ fresh: false, written: false, jobs: [] });
        expect(await outboxRow(store, "d2")).toBeNull();
      });

      it("a step decided on an old version writes nothing and says so", async () => {
        const c = await store.conversations.create(newConversation());
        await store.conversations.save({ ...c, lang: "en" });
        const stale = await store.steps.append({
          conversationId: c.id,
          version: c.version,
          inbound: { sender: c.userJid, dedupeKey: "late", kind: "chat_text", text: "x", payload: null },
          outbound: [],
          enqueue: [job("bot", "late-job")],
          ...lock,
        });
        expect(stale).toEqual({ fresh: false, written: false, jobs: [] });
        expect(await store.messages.transcript(c.id)).toEqual([]);
      });

      it("rolls back with the transaction it runs in", async () => {
        const c = await store.conversations.create(newConversation());
        await expect(
          store.transaction(async (tx) => {
            await tx.steps.append({
              conversationId: c.id,
              version: c.version,
              outbound: [{ author: "bot", kind: "chat_text", text: "x", dedupeKey: "rb" }],
              enqueue: [job("client", "rb-job")],
              ...lock,
            });
            throw new Error("boom");
          }),
        ).rejects.toThrow("boom");
        expect(await outboxRow(store, "rb-job")).toBeNull();
        expect(await store.messages.transcript(c.id)).toEqual([]);
      });
    });

    describe("rate limits", () => {
      it("counts hits in a fixed window and refuses beyond the limit", async () => {
        const hour = 3_600_000;
        const start = Math.ceil(Date.now() / hour) * hour;
        expect(await store.rateLimits.hit("search:u1", hour, 3000, 5000, ms(start + 10))).toEqual({ allowed: true, count: 3000 });
        expect(await store.rateLimits.hit("search:u1", hour, 2500, 5000, ms(start + 20))).toEqual({ allowed: false, count: 3000 });
        expect(await store.rateLimits.hit("search:u1", hour, 2000, 5000, ms(start + 30))).toEqual({ allowed: true, count: 5000 });
        expect(await store.rateLimits.hit("search:u1", hour, 1, 5000, ms(start + hour - 1))).toEqual({ allowed: false, count: 5000 });
        expect(await store.rateLimits.hit("search:u2", hour, 1, 5000, ms(start + 40))).toEqual({ allowed: true, count: 1 });
        expect(await store.rateLimits.hit("search:u1", hour, 6000, 5000, ms(start + hour))).toEqual({ allowed: false, count: 0 });
        expect(await store.rateLimits.hit("search:u1", hour, 1, 5000, ms(start + hour + 1))).toEqual({ allowed: true, count: 1 });
        // Concurrent hits never go over the limit.
        const burst = await Promise.all(Array.from({ length: 30 }, () => store.rateLimits.hit("req:u3", hour, 1, 20, ms(start + 50))));
        expect(burst.filter((r) => r.allowed)).toHaveLength(20);
        // The old window of u1 was dropped on the way.
        const { rows } = await store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM rate_limits WHERE key = 'search:u1'");
        expect(rows[0]?.n).toBe(1);
      });
    });

    describe("restart", () => {
      it("keeps everything written after the store is closed and opened again", { timeout: 60_000 }, async () => {
        const durable = await harness.durableConfig();
        let s = await openStore(durable, logging);
        let conversationId: string;
        try {
          await s.db.exec(`TRUNCATE ${TABLES} RESTART IDENTITY CASCADE`);
          await s.directory.replaceTree(TREE);
          await s.users.upsertMany([{ msisdn: "393471111111", name: "Mario" }]);
          await s.users.replaceAddressBook("393471111111", ["393472222222"]);
          const c = await s.conversations.create(newConversation());
          conversationId = c.id;
          await s.conversations.save({
            ...c,
            state: "operator",
            episode: {
              uuid: "e",
              serviceName: "gms",
              chat: { chatId: "c", userId: "u", secureKey: "k", alias: "a" },
              transcriptPosition: 12,
              queuePosition: null,
              notifiedQueuePosition: null,
              requestedAt: ms(1000),
              joinedAt: ms(2000),
              agentNickname: "Anna",
              lastActivityAt: ms(3000),
              lastQueuedNoticeAt: null,
              endedAt: null,
              endCode: null,
            },
          });
          await storeInbound(s, {
            conversationId: c.id,
            sender: c.userJid,
            dedupeKey: "m1",
            kind: "chat_text",
            text: "hi",
            payload: null,
          });
          await insertOutboxRows(s, [{ target: "genesys", conversationId: c.id, payload: { text: "hi" }, idempotencyKey: "send-m1" }]);
          await s.rateLimits.hit("k", 3_600_000, 3, 10);
        } finally {
          await s.close();
        }
        s = await openStore(durable, logging);
        try {
          expect(await s.directory.getTree()).toStrictEqual(TREE);
          expect((await s.users.get("393471111111"))?.name).toBe("Mario");
          expect(await s.users.addressBook("393471111111")).toEqual(["393472222222"]);
          const c = await s.conversations.get(conversationId);
          expect(c).toMatchObject({ state: "operator", version: 2, episode: { transcriptPosition: 12, chat: { chatId: "c" } } });
          expect((await s.conversations.withOpenEpisodes()).map((x) => x.id)).toEqual([conversationId]);
          expect(
            (
              await storeInbound(s, {
                conversationId,
                sender: c!.userJid,
                dedupeKey: "m1",
                kind: "chat_text",
                text: "hi",
                payload: null,
              })
            ).written,
          ).toBe(false);
          expect(await outboxRow(s, "send-m1")).toMatchObject({ target: "genesys", payload: { text: "hi" } });
          expect((await s.rateLimits.hit("k", 3_600_000, 8, 10)).allowed).toBe(false);
          expect(await schemaVersion(s.db)).toBe(SCHEMA_VERSION);
        } finally {
          await s.db.exec(`TRUNCATE ${TABLES} RESTART IDENTITY CASCADE`);
          await s.close();
        }
      });
    });
  });
}
