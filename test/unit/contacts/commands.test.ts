// protocol.md section 7 through ContactsCommands.handle with fakes (no I/O):
// the stanza in, the answer out, what reached the roster and the store.
import { createHash } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import { pino } from "pino";
import { beforeEach, describe, expect, it } from "vitest";
import { ContactsCommands, type ContactsDeps } from "../../../src/contacts/commands.js";
import type { User } from "../../../src/core/model.js";
import type { RosterItem, RosterPort } from "../../../src/core/ports.js";
import { RouterError } from "../../../src/errors.js";
import type { RateLimitRepository } from "../../../src/store/rate-limits.js";
import type { UserRepository } from "../../../src/store/users.js";

const NS = "urn:eime:x:0";
const D = "router.eime.local";
const U = "eime.local";
const ALICE = "393471111111";
const BOB = "393472222222";
const CARLA = "393473333333";
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

const config = {
  xmpp: {
    service: "xmpp://127.0.0.1:5347",
    domain: D,
    secret: "s",
    userDomain: U,
    serviceName: "EiMe",
    outboundQueueLimit: 10,
    resendWindowMs: 0,
    iqTimeoutMs: 1000,
    maxInFlight: 100,
  },
  protocol: {
    namespace: NS,
    defaultLang: "it",
    timeZone: "Europe/Rome",
    defaultCountryCode: "39",
    acceptV1: true,
    maxPayloadBytes: 65536,
    maxTextLength: 4096,
    maxListEntries: 500,
    platformFilter: true,
  },
  contacts: { searchRequestsPerHour: 3, searchNumbersPerHour: 10 },
} satisfies ContactsDeps["config"];

/** The store's users and address books, in memory. */
class FakeUsers implements UserRepository {
  users = new Map<string, User>();
  books = new Map<string, string[]>();
  failing = false;
  private check() {
    if (this.failing) throw new RouterError("SQL_ERROR", "users: connection refused");
  }
  async upsertMany(input: readonly { msisdn: string; name?: string | null }[]) {
    this.check();
    for (const u of input)
      this.users.set(u.msisdn, { msisdn: u.msisdn, hash: sha(u.msisdn), name: u.name ?? this.users.get(u.msisdn)?.name ?? null });
    return input.length;
  }
  async delete(msisdn: string) {
    return this.users.delete(msisdn);
  }
  async get(msisdn: string) {
    return this.users.get(msisdn) ?? null;
  }
  async findByMsisdns(msisdns: readonly string[]) {
    this.check();
    return [...this.users.values()].filter((u) => msisdns.includes(u.msisdn)).sort((a, b) => a.msisdn.localeCompare(b.msisdn));
  }
  async findByHashes(hashes: readonly string[]) {
    this.check();
    const h = hashes.map((x) => x.toLowerCase());
    return [...this.users.values()].filter((u) => h.includes(u.hash)).sort((a, b) => a.msisdn.localeCompare(b.msisdn));
  }
  async count() {
    return this.users.size;
  }
  async replaceAddressBook(owner: string, msisdns: readonly string[]) {
    this.check();
    this.books.set(owner, [...new Set(msisdns)].sort());
  }
  async addressBook(owner: string) {
    this.check();
    return this.books.get(owner) ?? [];
  }
  async inAddressBook(owner: string, msisdn: string) {
    return (this.books.get(owner) ?? []).includes(msisdn);
  }
}

/** store/rate-limits.ts semantics: fixed windows, a hit counts only if it stays within the limit. */
class FakeRateLimits implements RateLimitRepository {
  counts = new Map<string, number>();
  async hit(key: string, windowMs: number, amount: number, limit: number, now = new Date()) {
    const t = now.getTime();
    const k = `${key}@${t - (t % windowMs)}`;
    const count = this.counts.get(k) ?? 0;
    if (count + amount > limit) return { allowed: false, count };
    this.counts.set(k, count + amount);
    return { allowed: true, count: count + amount };
  }
}

/** Users' rosters as the XMPP server keeps them. */
class FakeRoster implements RosterPort {
  rosters = new Map<string, Map<string, RosterItem>>();
  sets: { owner: string; item: Omit<RosterItem, "subscription"> }[] = [];
  gets = 0;
  allowed = true;
  failSetAfter: number | undefined;
  permitted() {
    return this.allowed;
  }
  of(owner: string) {
    let r = this.rosters.get(owner);
    if (!r) this.rosters.set(owner, (r = new Map<string, RosterItem>()));
    return r;
  }
  async get(owner: string) {
    this.gets++;
    return [...this.of(owner).values()].map((i) => ({ ...i, groups: [...i.groups] }));
  }
  async set(owner: string, item: Omit<RosterItem, "subscription">) {
    if (this.failSetAfter !== undefined && this.sets.length >= this.failSetAfter) {
      throw new RouterError("INTERNAL_ERROR", "roster set: iq set jabber:iq:roster got no answer within 1000 ms");
    }
    this.sets.push({ owner, item });
    const prev = this.of(owner).get(item.jid);
    this.of(owner).set(item.jid, { ...item, groups: [...item.groups], subscription: prev?.subscription ?? "none" });
  }
}

const channels = new Map([["supporto", { address: "supporto", info: { name: "Supporto", status: "", imageUrl: "", thumbUrl: "" } }]]);

let users: FakeUsers;
let rateLimits: FakeRateLimits;
let roster: FakeRoster;
let sent: Element[];
let now: Date;
let commands: ContactsCommands;

beforeEach(async () => {
  users = new FakeUsers();
  rateLimits = new FakeRateLimits();
  roster = new FakeRoster();
  sent = [];
  now = new Date("2025-03-01T10:15:00Z");
  commands = new ContactsCommands({
    config,
    store: { users, rateLimits },
    channels: async () => channels,
    roster,
    send: async (s) => void sent.push(s),
    log: pino({ level: "silent" }),
    clock: { now: () => now },
  });
  await users.upsertMany([{ msisdn: ALICE, name: "Alice" }, { msisdn: BOB, name: "Bob Bianchi" }, { msisdn: CARLA }]);
});

let seq = 0;
function message(type: string, payload: unknown, from = `${ALICE}@${U}/android-1`): Element {
  return xml(
    "message",
    { from, to: D, type: "chat", id: `m${++seq}` },
    xml(
      "x",
      { xmlns: NS },
      xml("type", {}, type),
      xml("action", {}, type),
      xml("payload", {}, typeof payload === "string" ? payload : JSON.stringify(payload)),
    ),
  );
}

function sender(full: string) {
  const [bare] = full.split("/") as [string];
  const [local, domain] = bare.split("@") as [string, string];
  return { bare, local, domain };
}

/** Handles one command and returns the answer's payload (checking type, id and addressing). */
async function run(type: string, payload: unknown, from?: string): Promise<Record<string, unknown>> {
  const m = message(type, payload, from);
  sent = [];
  await commands.handle(m, sender(String(m.attrs.from)));
  expect(sent).toHaveLength(1);
  const answer = sent[0]!;
  expect(answer.attrs).toMatchObject({ from: D, to: m.attrs.from as string, id: m.attrs.id as string, type: "chat" });
  const x = answer.getChild("x", NS)!;
  expect(x.getChildText("type")).toBe(type);
  expect(x.getChildText("action")).toBe(type);
  return JSON.parse(x.getChildText("payload")!) as Record<string, unknown>;
}

const aliceRoster = () => roster.of(`${ALICE}@${U}`);

describe("cmd_add_to_roster", () => {
  it("writes users (any writing) and channels into the sender's roster, then is idempotent", async () => {
    const payload = {
      channelUsers: [{ name: "Bob", address: "+39 347 222 2222" }, { address: "supporto" }, { address: "0039 347 333 3333" }],
    };
    expect(await run("cmd_add_to_roster", payload)).toEqual({
      status: 0,
      added: ["+39 347 222 2222", "supporto", "0039 347 333 3333"],
      unchanged: [],
    });
    expect([...aliceRoster().values()]).toEqual([
      { jid: `${BOB}@${U}`, name: "Bob", groups: ["CONTACTS"], subscription: "none" },
      { jid: `supporto@${D}`, name: "Supporto", groups: ["CHANNELS"], subscription: "none" },
      { jid: `${CARLA}@${U}`, name: CARLA, groups: ["CONTACTS"], subscription: "none" }, // no name anywhere: the MSISDN
    ]);
    expect(roster.sets.every((s) => s.owner === `${ALICE}@${U}`)).toBe(true);

    roster.sets = [];
    expect(await run("cmd_add_to_roster", payload)).toEqual({
      status: 0,
      added: [],
      unchanged: ["+39 347 222 2222", "supporto", "0039 347 333 3333"],
    });
    expect(roster.sets).toEqual([]);
  });

  it("writes exactly the entries that meet a condition and leaves matching ones alone", async () => {
    const r = aliceRoster();
    const jid = (m: string) => `${m}@${U}`;
    const extra = ["393474444444", "393475555555", "393476666666", "393477777777", "393478888888"];
    await users.upsertMany(extra.map((m) => ({ msisdn: m })));
    r.set(jid(BOB), { jid: jid(BOB), name: "Bob", groups: [], subscription: "both" }); // no group
    r.set(jid(CARLA), { jid: jid(CARLA), groups: ["Amici"], subscription: "none" }); // no name
    r.set(jid(extra[0]!), { jid: jid(extra[0]!), name: "Vecchio", groups: ["CONTACTS"], subscription: "to" }); // another name
    await users.replaceAddressBook(ALICE, [extra[1]!]); // in the address book, not in the roster
    r.set(jid(extra[2]!), { jid: jid(extra[2]!), name: "Sei", groups: ["OTHERS"], subscription: "from" }); // OTHERS, subscribed
    r.set(jid(extra[3]!), { jid: jid(extra[3]!), name: "Sette", groups: ["OTHERS"], subscription: "none" }); // OTHERS, none: matches
    r.set(jid(extra[4]!), { jid: jid(extra[4]!), name: "Otto", groups: ["CONTACTS"], subscription: "both" }); // matches

    const answer = await run("cmd_add_to_roster", {
      channelUsers: [
        { name: "Bob", address: BOB },
        { name: "Carla", address: CARLA },
        { name: "Quattro", address: extra[0] },
        { name: "Cinque", address: extra[1] },
        { name: "Sei", address: extra[2] },
        { name: "Sette", address: extra[3] },
        { name: "Otto", address: extra[4] },
      ],
    });
    expect(answer).toEqual({ status: 0, added: [BOB, CARLA, extra[0], extra[1], extra[2]], unchanged: [extra[3], extra[4]] });
    expect(r.get(jid(BOB))).toEqual({ jid: jid(BOB), name: "Bob", groups: ["CONTACTS"], subscription: "both" });
    expect(r.get(jid(CARLA))).toMatchObject({ name: "Carla", groups: ["Amici"] });
    expect(r.get(jid(extra[0]!))).toMatchObject({ name: "Quattro", groups: ["CONTACTS"], subscription: "to" });
    expect(r.get(jid(extra[1]!))).toMatchObject({ name: "Cinque", groups: ["CONTACTS"] });
    expect(r.get(jid(extra[2]!))).toMatchObject({ name: "Sei", groups: ["CONTACTS"], subscription: "from" });
    expect(r.get(jid(extra[3]!))).toMatchObject({ name: "Sette", groups: ["OTHERS"] });
    expect(roster.sets.map((s) => s.item.jid)).toEqual([BOB, CARLA, extra[0], extra[1], extra[2]].map((m) => jid(m!)));
  });

  it("unknown users are NO_USER_FOUND, listed one per message, and the rest still apply", async () => {
    const answer = await run("cmd_add_to_roster", {
      channelUsers: [{ name: "Nessuno", address: "+39 347 999 9999" }, { name: "Bob", address: BOB }, { address: "no_such_channel" }],
    });
    expect(answer).toEqual({
      status: 1,
      errorCode: "NO_USER_FOUND",
      errorMessage: [{ message: "+39 347 999 9999" }, { message: "no_such_channel" }],
      added: [BOB],
      unchanged: [],
    });
    expect(aliceRoster().has(`${BOB}@${U}`)).toBe(true);
  });

  it("only unknown channel addresses: NO_CHANNEL_FOUND", async () => {
    expect(await run("cmd_add_to_roster", { channelUsers: [{ address: "no_such_channel" }] })).toMatchObject({
      status: 1,
      errorCode: "NO_CHANNEL_FOUND",
      errorMessage: [{ message: "no_such_channel" }],
    });
  });

  it("two writings of one number are one entry; the sender's own number is unchanged", async () => {
    const answer = await run("cmd_add_to_roster", {
      channelUsers: [{ address: "3472222222" }, { name: "Bobby", address: "+39 347 2222222" }, { name: "Io", address: ALICE }],
    });
    expect(answer).toEqual({ status: 0, added: ["3472222222", "+39 347 2222222"], unchanged: [ALICE] });
    expect(roster.sets).toEqual([{ owner: `${ALICE}@${U}`, item: { jid: `${BOB}@${U}`, name: "Bobby", groups: ["CONTACTS"] } }]);
  });

  it("a list over maxListEntries is a BAD_REQUEST command answer naming the field; nothing is read or written", async () => {
    const channelUsers = Array.from({ length: 501 }, () => ({ address: BOB }));
    expect(await run("cmd_add_to_roster", { channelUsers })).toEqual({
      status: 1,
      errorCode: "BAD_REQUEST",
      errorMessage: [{ message: "payload.channelUsers: more than 500 entries" }],
      added: [],
      unchanged: [],
    });
    expect(roster.gets).toBe(0);
    expect(roster.sets).toEqual([]);
  });

  it("a malformed entry is BAD_REQUEST too", async () => {
    expect(await run("cmd_add_to_roster", { channelUsers: [{ name: "x" }] })).toMatchObject({
      status: 1,
      errorCode: "BAD_REQUEST",
      errorMessage: [{ message: expect.stringMatching(/^payload\.channelUsers\.0\.address: /) as unknown }],
    });
  });

  it("without the roster privilege: ROSTER_NOT_PERMITTED, nothing written", async () => {
    roster.allowed = false;
    const answer = await run("cmd_add_to_roster", { channelUsers: [{ address: BOB }] });
    expect(answer).toMatchObject({ status: 1, errorCode: "ROSTER_NOT_PERMITTED", added: [], unchanged: [] });
    expect(roster.gets).toBe(0);
  });

  it("waits, bounded, for the privilege advertisement of a fresh connection", async () => {
    roster.allowed = false;
    let settle!: () => void;
    const settled = new Promise<void>((r) => (settle = r));
    commands = new ContactsCommands({
      config,
      store: { users, rateLimits },
      channels: async () => channels,
      roster: Object.assign(roster, { settled: () => settled }),
      send: async (s) => void sent.push(s),
      log: pino({ level: "silent" }),
    });
    const answer = run("cmd_add_to_roster", { channelUsers: [{ address: BOB }] });
    await new Promise((r) => setTimeout(r, 10));
    roster.allowed = true;
    settle();
    expect(await answer).toMatchObject({ status: 0, added: [BOB] });
  });

  it("a roster write that fails is INTERNAL_ERROR, listing what was written before", async () => {
    roster.failSetAfter = 1;
    const answer = await run("cmd_add_to_roster", { channelUsers: [{ address: BOB }, { address: CARLA }] });
    expect(answer).toMatchObject({ status: 1, errorCode: "INTERNAL_ERROR", added: [BOB], unchanged: [] });
    expect((answer.errorMessage as { message: string }[])[0]!.message).toMatch(/no answer within 1000 ms.*idempotent/);
  });

  it("a failing store is SQL_ERROR and nothing is written", async () => {
    users.failing = true;
    expect(await run("cmd_add_to_roster", { channelUsers: [{ address: BOB }] })).toMatchObject({
      status: 1,
      errorCode: "SQL_ERROR",
      added: [],
      unchanged: [],
    });
    expect(roster.sets).toEqual([]);
  });
});

describe("cmd_search_users", () => {
  it("normalises every writing and lists only the registered ones; the numbers become the address book", async () => {
    const answer = await run("cmd_search_users", { userList: ["+39 347 222 2222", "00393473333333", "3479999999", "abc", "3472222222"] });
    expect(answer).toEqual({
      status: 0,
      users: [
        { msisdn: BOB, jid: `${BOB}@${U}`, name: "Bob Bianchi" },
        { msisdn: CARLA, jid: `${CARLA}@${U}` },
      ],
    });
    expect(await users.addressBook(ALICE)).toEqual([BOB, CARLA, "393479999999"]);
  });

  it("hashed: hashes in any case; the address book is the matched users", async () => {
    const answer = await run("cmd_search_users", { hashed: true, userList: [sha(BOB).toUpperCase(), sha("393479999999"), "nothex"] });
    expect(answer).toEqual({ status: 0, users: [{ msisdn: BOB, jid: `${BOB}@${U}`, name: "Bob Bianchi" }] });
    expect(await users.addressBook(ALICE)).toEqual([BOB]);
  });

  it("an empty list empties the address book", async () => {
    await users.replaceAddressBook(ALICE, [BOB]);
    expect(await run("cmd_search_users", { userList: [] })).toEqual({ status: 0, users: [] });
    expect(await users.addressBook(ALICE)).toEqual([]);
  });

  it("requests per hour: the limit is allowed, one more is RATE_LIMITED, the next hour is fresh", async () => {
    for (let i = 0; i < 3; i++) expect(await run("cmd_search_users", { userList: [BOB] })).toMatchObject({ status: 0 });
    const limited = await run("cmd_search_users", { userList: [BOB] });
    expect(limited).toEqual({
      status: 1,
      errorCode: "RATE_LIMITED",
      errorMessage: [{ message: "at most 3 searches per hour: retry later" }],
      users: [],
    });
    // Per user: Bob is not limited by Alice's searches.
    expect(await run("cmd_search_users", { userList: [ALICE] }, `${BOB}@${U}/web`)).toMatchObject({ status: 0 });
    now = new Date("2025-03-01T11:00:00Z");
    expect(await run("cmd_search_users", { userList: [BOB] })).toMatchObject({ status: 0 });
  });

  it("numbers per hour: exactly the limit is allowed, one more number is RATE_LIMITED; duplicates and junk do not count", async () => {
    const numbers = (from: number, n: number) => Array.from({ length: n }, (_, i) => `347000${String(from + i).padStart(4, "0")}`);
    expect(await run("cmd_search_users", { userList: [...numbers(0, 9), ...numbers(0, 9), "junk"] })).toMatchObject({ status: 0 });
    expect(await run("cmd_search_users", { userList: numbers(100, 2) })).toMatchObject({ status: 1, errorCode: "RATE_LIMITED", users: [] });
    // The refused search changed nothing: the address book is the last accepted one.
    expect(await users.addressBook(ALICE)).toHaveLength(9);
    expect(await run("cmd_search_users", { userList: numbers(200, 1) })).toMatchObject({ status: 0 });
  });

  it("a 501-entry list is BAD_REQUEST and is not counted", async () => {
    expect(await run("cmd_search_users", { userList: Array.from({ length: 501 }, () => BOB) })).toMatchObject({
      status: 1,
      errorCode: "BAD_REQUEST",
      users: [],
    });
    expect(rateLimits.counts.size).toBe(0);
  });
});

describe("the service JID", () => {
  it("creates the sender on first contact, without a name, and keeps an existing name", async () => {
    const dave = "393474444444";
    await run("cmd_search_users", { userList: [] }, `${dave}@${U}/ios`);
    expect(users.users.get(dave)).toEqual({ msisdn: dave, hash: sha(dave), name: null });
    await run("cmd_search_users", { userList: [] });
    expect(users.users.get(ALICE)!.name).toBe("Alice");
  });

  it("a sender outside the user domain, or whose localpart is not an MSISDN, gets BAD_REQUEST", async () => {
    expect(await run("cmd_search_users", { userList: [] }, `${ALICE}@elsewhere.example/x`)).toMatchObject({
      status: 1,
      errorCode: "BAD_REQUEST",
      errorMessage: [{ message: `from: only users of ${U} can send commands` }],
    });
    expect(await run("cmd_add_to_roster", { channelUsers: [] }, `alice@${U}/x`)).toMatchObject({
      status: 1,
      errorCode: "BAD_REQUEST",
      added: [],
      unchanged: [],
    });
  });

  it("a message that is not a command gets a stanza error naming the field", async () => {
    const m = message("chat_text", { text: "ciao", data: {} });
    await commands.handle(m, sender(String(m.attrs.from)));
    const err = sent[0]!;
    expect(err.attrs).toMatchObject({ type: "error", id: m.attrs.id as string, to: m.attrs.from as string });
    expect(err.getChild("error")!.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    expect(err.getChild("error")!.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toMatch(/^type: the service JID/);
  });

  it("a plain message without x gets the section 2 stanza error; a standalone chat state is ignored", async () => {
    const plain = xml("message", { from: `${ALICE}@${U}/a`, to: D, type: "chat", id: "p1" }, xml("body", {}, "ciao"));
    await commands.handle(plain, sender(`${ALICE}@${U}/a`));
    expect(sent[0]!.getChild("error")!.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toMatch(/^x: /);
    sent = [];
    const typing = xml(
      "message",
      { from: `${ALICE}@${U}/a`, to: D, type: "chat" },
      xml("composing", { xmlns: "http://jabber.org/protocol/chatstates" }),
    );
    await commands.handle(typing, sender(`${ALICE}@${U}/a`));
    expect(sent).toEqual([]);
  });

  it("malformed JSON in a command's payload is a stanza error (the x element cannot be read)", async () => {
    const m = message("cmd_search_users", "{not json");
    await commands.handle(m, sender(String(m.attrs.from)));
    expect(sent[0]!.attrs.type).toBe("error");
    expect(sent[0]!.getChild("error")!.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBe("payload: not valid JSON");
  });
});
