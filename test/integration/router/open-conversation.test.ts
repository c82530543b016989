// Opening a conversation (issue 14): its first message costs one statement
// more than a message in an open conversation (the conversation's INSERT, in
// the step's transaction), not a commit and a save more. Counted on PGlite at
// the Db port, through the real conversation service and group commit.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config/load.js";
import { DeliveredRows } from "../../../src/delivery/delivered.js";
import { GroupCommit } from "../../../src/delivery/group-commit.js";
import { ConversationService, type InboundInput } from "../../../src/router/conversation-service.js";
import type { DirectoryCache } from "../../../src/router/directory-cache.js";
import { createStore, openStore, type Db, type Queryable, type Store } from "../../../src/store/index.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const logging = silentLogging();
let base: Store;
let store: Store;
const statements: string[] = [];

/** What a statement is, by its SQL. */
function kind(sql: string): string {
  const s = sql.trim().replace(/\s+/g, " ");
  if (s.startsWith("INSERT INTO conversations") || (s.startsWith("WITH n AS") && s.includes("INSERT INTO conversations")))
    return "insert conversation";
  if (s.startsWith("UPDATE conversations")) return "save conversation";
  if (s.startsWith("WITH fresh")) return "step";
  if (/^SELECT count\(\*\)::int AS n FROM conversations WHERE user_jid/.test(s)) return "count open conversations";
  if (/^SELECT .* FROM conversations/.test(s)) return `read conversation: ${s.slice(0, 60)}`;
  return s.slice(0, 40);
}

/** The Db, counting every statement and transaction that goes through the port. */
function counting(db: Db): Db {
  const wrap = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      statements.push(kind(sql));
      return q.query(sql, params);
    },
    exec: (sql) => q.exec(sql),
  });
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "query") return (sql: string, params?: unknown[]) => wrap(target).query(sql, params);
      if (prop === "transaction")
        return <T>(fn: (tx: Queryable) => Promise<T>) => {
          statements.push("BEGIN");
          return target.transaction((tx) => fn(wrap(tx))).finally(() => statements.push("COMMIT"));
        };
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const config = loadConfig({ env: {}, argv: [], overrides: { xmpp: { secret: "s" }, database: { dataDir: "memory://" } } });
const channels = new Map([
  ["supporto", { address: "supporto", info: { name: "Supporto" }, route: { mode: "bot", bot: { url: "http://bot.invalid" } } }],
]);
const directory = { get: () => Promise.resolve({ channels }) } as unknown as DirectoryCache;

function service(owner = "test-a", withConfig = config): ConversationService {
  return new ConversationService({
    store,
    directory,
    config: withConfig,
    clock: { now: () => new Date() },
    log: logging.child("core"),
    newUuid: () => crypto.randomUUID(),
    owner,
    leaseMs: 10_000,
    ephemeral: { sendToClient: () => Promise.resolve(), operatorTyping: () => Promise.resolve() },
    delivered: new DeliveredRows(),
    commits: new GroupCommit(store, { writers: 1, maxBatch: 100 }, logging.child("store")),
  });
}

function message(user: string, id: string, title = "Supporto"): InboundInput {
  return {
    key: { userJid: `${user}@localhost`, channel: "supporto", chatTitle: title },
    msisdn: user,
    addressing: { kind: "channel" },
    meta: { apiVersion: "2.1", lang: "it", os: "android" },
    event: { type: "user_text", text: `ciao ${id}`, messageId: id, resetSession: false },
    message: { sender: `${user}@localhost`, dedupeKey: id, kind: "chat_text", text: `ciao ${id}`, payload: { text: `ciao ${id}` } },
  };
}

async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  statements.length = 0;
  const result = await fn();
  return { result, statements: [...statements] };
}

const inbound = async (user: string) =>
  (
    await base.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.direction = 'in' AND c.user_jid = $1::text",
      [`${user}@localhost`],
    )
  ).rows[0]!.n;
const conversationsOf = async (user: string) =>
  (await base.db.query<{ n: number }>("SELECT count(*)::int AS n FROM conversations WHERE user_jid = $1::text", [`${user}@localhost`]))
    .rows[0]!.n;

beforeAll(async () => {
  base = await openStore(pgliteConfig(), logging);
  store = createStore(counting(base.db));
});
afterAll(() => base.close());
beforeEach(() => {
  statements.length = 0;
});

describe("opening a conversation", () => {
  it("costs one statement more than a message in an open one (the insert, which counts the user's open ones: issue 13), in one transaction", async () => {
    const s = service();
    const first = await counted(() => s.receive(message("393470000001", "m1")));
    const second = await counted(() => s.receive(message("393470000001", "m2")));
    console.log(`statements: first message of a conversation ${first.statements.join(", ")}; next message ${second.statements.join(", ")}`);
    expect(first.result.status).toBe("accepted");
    expect(second.result.status).toBe("accepted");
    expect(first.statements).toEqual(["BEGIN", "insert conversation", "step", "COMMIT"]);
    expect(second.statements).toEqual(["step"]);
    // Stored as its first step decided it: the bot session is open, and saved once (version 1).
    const c = await base.conversations.findByKey("393470000001@localhost", "supporto", "Supporto");
    expect(c).toMatchObject({ version: 1, botSessionOpen: true, state: "bot" });
    expect(await inbound("393470000001")).toBe(2);
  });

  it("a key another instance stored first is taken over: one conversation, every message in it", async () => {
    const a = service("test-a");
    const b = service("test-b");
    expect((await a.receive(message("393470000002", "a1"))).status).toBe("accepted");
    // b has never seen the key: it tries to create it, finds it stored, and decides on that one.
    const r = await b.receive(message("393470000002", "b1"));
    expect(r.status).toBe("accepted");
    expect(await conversationsOf("393470000002")).toBe(1);
    expect(await inbound("393470000002")).toBe(2);
    expect((await b.receive(message("393470000002", "b2"))).status).toBe("accepted");
    expect(await inbound("393470000002")).toBe(3);
  });

  it("a message sent again to an instance that never saw its conversation is a duplicate, with its answers", async () => {
    expect((await service("test-a").receive(message("393470000003", "d1"))).status).toBe("accepted");
    const again = await service("test-c").receive(message("393470000003", "d1"));
    expect(again.status).toBe("duplicate");
    expect(await inbound("393470000003")).toBe(1);
  });

  it("a refused first message stores nothing, and the next one opens the conversation", async () => {
    const s = service();
    const refused = await s.receive({ ...message("393470000004", "n1"), event: { type: "user_notice", code: "NOPE", messageId: "n1" } });
    expect(refused.status).toBe("refused");
    expect(await conversationsOf("393470000004")).toBe(0);
    expect(await s.find(message("393470000004", "x").key)).toBeNull();
    expect((await s.receive(message("393470000004", "n2"))).status).toBe("accepted");
    expect(await conversationsOf("393470000004")).toBe(1);
  });

  it("the insert's count keeps the open-conversations limit: a new one beyond it is refused and stores nothing, open ones go on, a closed one is not reopened", async () => {
    const limited = loadConfig({
      env: {},
      argv: [],
      overrides: { xmpp: { secret: "s" }, database: { dataDir: "memory://" }, security: { maxOpenConversationsPerUser: 2 } },
    });
    const user = "393470000005";
    const s = service("test-a", limited);
    expect((await s.receive(message(user, "l1", "A"))).status).toBe("accepted");
    expect((await s.receive(message(user, "l2", "B"))).status).toBe("accepted");
    const third = await counted(() => s.receive(message(user, "l3", "C")));
    expect(third.result).toMatchObject({ status: "refused", refusal: { code: "TOO_MANY_CONVERSATIONS" } });
    // No count of its own: the insert counted, wrote nothing, and the key was looked up (not stored: refused).
    expect(third.statements.filter((k) => !k.startsWith("read conversation"))).toEqual(["BEGIN", "insert conversation", "COMMIT"]);
    expect(await conversationsOf(user)).toBe(2);
    expect(await inbound(user)).toBe(2);
    // Sent again, still refused (the unstored one in the cache is counted again by its insert).
    expect((await s.receive(message(user, "l3", "C"))).status).toBe("refused");
    // At the limit, the open ones take messages: cached here, and on an instance that never saw them.
    expect((await s.receive(message(user, "l4", "A"))).status).toBe("accepted");
    expect((await service("test-b", limited).receive(message(user, "l5", "B"))).status).toBe("accepted");
    expect((await service("test-b", limited).receive(message(user, "l6", "C"))).status).toBe("refused");
    // One closed: a new one fits again; then the closed one may not reopen (counted, as before).
    await base.db.query("UPDATE conversations SET state = 'closed' WHERE user_jid = $1::text AND chat_title = 'A'", [`${user}@localhost`]);
    const fresh = service("test-c", limited);
    expect((await fresh.receive(message(user, "l7", "C"))).status).toBe("accepted");
    const reopen = await fresh.receive(message(user, "l8", "A"));
    expect(reopen).toMatchObject({ status: "refused", refusal: { code: "TOO_MANY_CONVERSATIONS" } });
    expect(await conversationsOf(user)).toBe(3);
    expect(await inbound(user)).toBe(5);
  });
});
