// Contacts (protocol.md section 7): cmd_add_to_roster through XEP-0356 on a
// real Prosody with mod_privilege, cmd_search_users against the store, real
// clients reading their own rosters; and a Prosody that grants no roster
// privilege.
import { createHash } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type App } from "../../src/app.js";
import { createLogging } from "../../src/log.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { isError, readError, readX, xMessage, type XRead } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const BOB = "393472222222";
const CARLA = "393473333333";
const DAVE = "393474444444";
const EVA = "393475555555";
const MARIO = "393476666666"; // registered in the store only: no XMPP account needed to be added
const UNKNOWN = "393479999999";
const NS_ROSTER = "jabber:iq:roster";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

let prosody: Prosody;
let router: App;
let alice: TestClient;
let bob: TestClient;
let carla: TestClient;
let dave: TestClient;
let D: string;
let U: string;

// The privilege-less server and its router.
let bare: Prosody;
let app: App;
let eva: TestClient;
const logLines: string[] = [];

async function startMain(): Promise<void> {
  prosody = await startProsody({
    users: [ALICE, BOB, CARLA, DAVE].map((u) => ({ username: u, password: "pw" })),
  });
  D = prosody.componentDomain;
  U = prosody.userDomain;
  router = await startRouter(
    routerConfig(prosody, { contacts: { searchRequestsPerHour: 3, searchNumbersPerHour: 10 } }),
    testDirectory("http://127.0.0.1:9/unused"),
  );
  await router.store.users.upsertMany([
    { msisdn: ALICE, name: "Alice" },
    { msisdn: BOB, name: "Bob Bianchi" },
    { msisdn: CARLA },
    { msisdn: DAVE, name: "Dave" },
    { msisdn: MARIO, name: "Mario Rossi" },
  ]);
  const login = (u: string) => connectClient({ prosody, username: u, password: "pw", resource: "android-1" });
  [alice, bob, carla, dave] = await Promise.all([login(ALICE), login(BOB), login(CARLA), login(DAVE)]);
}

async function startBare(): Promise<void> {
  bare = await startProsody({ privilege: false, users: [{ username: EVA, password: "pw" }] });
  const config = routerConfig(bare, { log: { level: "warn" } });
  app = buildApp(config, { logging: createLogging(config.log, { write: (line: string) => void logLines.push(line) }) });
  await app.start();
  await app.store.users.upsertMany([{ msisdn: ALICE, name: "Alice" }]);
  eva = await connectClient({ prosody: bare, username: EVA, password: "pw" });
}

beforeAll(async () => {
  await Promise.all([startMain(), startBare()]);
});

afterAll(async () => {
  await Promise.all([alice?.stop(), bob?.stop(), carla?.stop(), dave?.stop(), eva?.stop()]);
  await Promise.all([router?.stop(), app?.stop()]);
  await Promise.all([prosody?.stop(), bare?.stop()]);
});

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;
/** Sends a command to the service JID and returns its answer (same type and id). */
async function command(client: TestClient, type: string, payload: unknown, service = D): Promise<XRead> {
  const id = `cmd-${++seq}`;
  await client.send(xMessage(type, payload, { to: service, id }));
  const answer = await client.waitFor((el) => el.is("message") && el.attrs.id === id, 8000, `the answer to ${id}`);
  const x = readX(answer);
  expect(x, answer.toString()).not.toBeNull();
  expect(x!.type).toBe(type);
  expect(x!.from).toBe(service);
  return x!;
}

interface Item {
  jid: string;
  name?: string;
  groups: string[];
  subscription: string;
}

/** The client's own roster (RFC 6121 section 2.1.3), as any XMPP client fetches it. */
async function rosterOf(client: TestClient): Promise<Map<string, Item>> {
  const result = await client.iq(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
  const items = new Map<string, Item>();
  for (const el of result.getChild("query", NS_ROSTER)?.getChildren("item") ?? []) {
    const item: Item = {
      jid: String(el.attrs.jid),
      groups: el
        .getChildren("group")
        .map((g: Element) => g.getText())
        .sort(),
      subscription: String(el.attrs.subscription ?? "none"),
    };
    if (el.attrs.name !== undefined) item.name = String(el.attrs.name);
    items.set(item.jid, item);
  }
  return items;
}

describe("cmd_add_to_roster", () => {
  it("writes users and channels into the sender's roster with names and groups", async () => {
    const answer = await command(alice, "cmd_add_to_roster", {
      channelUsers: [
        { name: "Mario Rossi", address: "0039 347 666 6666" },
        { name: "Bob", address: "+39 347 222 2222" },
        { address: "supporto" },
      ],
    });
    expect(answer.payload).toEqual({ status: 0, added: ["0039 347 666 6666", "+39 347 222 2222", "supporto"], unchanged: [] });

    const roster = await rosterOf(alice);
    expect(roster.get(`${MARIO}@${U}`)).toEqual({ jid: `${MARIO}@${U}`, name: "Mario Rossi", groups: ["CONTACTS"], subscription: "none" });
    expect(roster.get(`${BOB}@${U}`)).toEqual({ jid: `${BOB}@${U}`, name: "Bob", groups: ["CONTACTS"], subscription: "none" });
    // A channel address adds the channel JID, named after the channel when the request gives no name.
    expect(roster.get(`supporto@${D}`)).toEqual({ jid: `supporto@${D}`, name: "Supporto", groups: ["CHANNELS"], subscription: "none" });
  });

  it("is idempotent: the same command again changes nothing", async () => {
    const before = await rosterOf(alice);
    const answer = await command(alice, "cmd_add_to_roster", {
      channelUsers: [
        { name: "Mario Rossi", address: "00393476666666" }, // another writing of the same number
        { name: "Bob", address: "+39 347 222 2222" },
        { address: "supporto" },
      ],
    });
    expect(answer.payload).toEqual({ status: 0, added: [], unchanged: ["00393476666666", "+39 347 222 2222", "supporto"] });
    expect(await rosterOf(alice)).toEqual(before);
  });

  it("an unknown MSISDN is NO_USER_FOUND while the others are added", async () => {
    const answer = await command(alice, "cmd_add_to_roster", {
      channelUsers: [
        { name: "Nessuno", address: "347 999 9999" },
        { name: "Carla", address: "3473333333" },
      ],
    });
    expect(answer.payload).toEqual({
      status: 1,
      errorCode: "NO_USER_FOUND",
      errorMessage: [{ message: "347 999 9999" }],
      added: ["3473333333"],
      unchanged: [],
    });
    const roster = await rosterOf(alice);
    expect(roster.get(`${CARLA}@${U}`)).toMatchObject({ name: "Carla", groups: ["CONTACTS"] });
    expect(roster.has(`${UNKNOWN}@${U}`)).toBe(false);
  });

  it("an address that is neither a channel nor a number is NO_CHANNEL_FOUND", async () => {
    const answer = await command(alice, "cmd_add_to_roster", { channelUsers: [{ address: "no_such_channel" }] });
    expect(answer.payload).toMatchObject({
      status: 1,
      errorCode: "NO_CHANNEL_FOUND",
      errorMessage: [{ message: "no_such_channel" }],
      added: [],
    });
  });

  it("completes what the user's own entries lack, keeping their name and a group other than OTHERS", async () => {
    // Entries the client made itself: Dave without a group, Mario renamed by the user under OTHERS.
    await alice.iq(xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: `${DAVE}@${U}`, name: "Davide" }))));
    await alice.iq(
      xml(
        "iq",
        { type: "set" },
        xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: `${MARIO}@${U}`, name: "Mario" }, xml("group", {}, "OTHERS"))),
      ),
    );
    const answer = await command(alice, "cmd_add_to_roster", {
      channelUsers: [{ address: DAVE }, { address: MARIO }, { name: "Mario Rossi", address: "+393476666666" }],
    });
    // Dave: no group → written (name kept). Mario: OTHERS with subscription none matches, but the name differs → written.
    expect(answer.payload).toEqual({ status: 0, added: [DAVE, MARIO, "+393476666666"], unchanged: [] });
    const roster = await rosterOf(alice);
    expect(roster.get(`${DAVE}@${U}`)).toMatchObject({ name: "Davide", groups: ["CONTACTS"] });
    expect(roster.get(`${MARIO}@${U}`)).toMatchObject({ name: "Mario Rossi", groups: ["OTHERS"] });
  });

  it("a list over protocol.maxListEntries is a BAD_REQUEST command answer, not a stanza error", async () => {
    const channelUsers = Array.from({ length: 501 }, (_, i) => ({ address: `39347${String(i).padStart(7, "0")}` }));
    const answer = await command(alice, "cmd_add_to_roster", { channelUsers });
    expect(answer.payload).toMatchObject({ status: 1, errorCode: "BAD_REQUEST", added: [], unchanged: [] });
    expect((answer.payload.errorMessage as { message: string }[])[0]!.message).toBe("payload.channelUsers: more than 500 entries");
  });
});

describe("cmd_search_users", () => {
  it("returns only registered numbers, in any writing, and stores the numbers as the address book", async () => {
    const answer = await command(bob, "cmd_search_users", {
      userList: ["+39 347 111 1111", "0039 347 6666666", "3473333333", "347 999 9999", "not a number", "+393471111111"],
    });
    expect(answer.payload).toEqual({
      status: 0,
      users: [
        { msisdn: ALICE, jid: `${ALICE}@${U}`, name: "Alice" },
        { msisdn: CARLA, jid: `${CARLA}@${U}` },
        { msisdn: MARIO, jid: `${MARIO}@${U}`, name: "Mario Rossi" },
      ],
    });
    expect(JSON.stringify(answer.payload)).not.toContain("9999999");
    expect(await router.store.users.addressBook(BOB)).toEqual([ALICE, CARLA, MARIO, UNKNOWN]);
  });

  it("hashed: matches hexsha256(msisdn) in any case; the address book becomes the matched users", async () => {
    const answer = await command(bob, "cmd_search_users", { hashed: true, userList: [sha(DAVE).toUpperCase(), sha(UNKNOWN), "zz"] });
    expect(answer.payload).toEqual({ status: 0, users: [{ msisdn: DAVE, jid: `${DAVE}@${U}`, name: "Dave" }] });
    expect(await router.store.users.addressBook(BOB)).toEqual([DAVE]);
  });

  it("answers RATE_LIMITED beyond the requests per hour", async () => {
    for (let i = 0; i < 3; i++) expect((await command(carla, "cmd_search_users", { userList: [ALICE] })).payload.status).toBe(0);
    const answer = await command(carla, "cmd_search_users", { userList: [ALICE] });
    expect(answer.payload).toMatchObject({ status: 1, errorCode: "RATE_LIMITED", users: [] });
  });

  it("answers RATE_LIMITED beyond the numbers per hour", async () => {
    const numbers = (from: number, n: number) => Array.from({ length: n }, (_, i) => `3470000${String(from + i).padStart(3, "0")}`);
    expect((await command(dave, "cmd_search_users", { userList: numbers(0, 8) })).payload.status).toBe(0);
    const answer = await command(dave, "cmd_search_users", { userList: numbers(100, 3) });
    expect(answer.payload).toMatchObject({ status: 1, errorCode: "RATE_LIMITED", users: [] });
  });

  it("a 501-entry list is BAD_REQUEST", async () => {
    const answer = await command(alice, "cmd_search_users", { userList: Array.from({ length: 501 }, () => ALICE) });
    expect(answer.payload).toMatchObject({ status: 1, errorCode: "BAD_REQUEST", users: [] });
  });
});

describe("the service JID", () => {
  it("creates the sender as a user on first contact", async () => {
    await router.store.users.delete(DAVE);
    await command(dave, "cmd_add_to_roster", { channelUsers: [] });
    expect(await router.store.users.get(DAVE)).toMatchObject({ msisdn: DAVE, name: null });
  });

  it("answers a message that is not a command with a stanza error naming the field", async () => {
    await alice.send(xMessage("chat_text", { text: "ciao", data: {} }, { to: D, id: "not-a-command" }));
    const err = readError(await alice.waitFor(isError("not-a-command")));
    expect(err).toMatchObject({ condition: "bad-request", app: "invalid-payload" });
    expect(err!.text).toMatch(/^type: /);
  });

  it("learns the roster privilege again after the XMPP server restarts", async () => {
    await prosody.restart();
    await waitUntil(() => !router.connection.isOnline(), "the router sees the server go");
    await alice.waitOnline(5000);
    await waitUntil(() => router.connection.isOnline(), "the router back online");
    await router.store.users.upsertMany([{ msisdn: EVA, name: "Eva" }]);
    const added = await command(alice, "cmd_add_to_roster", { channelUsers: [{ address: EVA }] });
    expect(added.payload).toEqual({ status: 0, added: [EVA], unchanged: [] });
    expect((await rosterOf(alice)).get(`${EVA}@${U}`)).toMatchObject({ name: "Eva", groups: ["CONTACTS"] });
  });
});

describe("an XMPP server that grants no roster privilege", () => {
  it("answers cmd_add_to_roster with ROSTER_NOT_PERMITTED and warns once", async () => {
    const answer = await command(eva, "cmd_add_to_roster", { channelUsers: [{ address: ALICE }] }, bare.componentDomain);
    expect(answer.payload).toMatchObject({ status: 1, errorCode: "ROSTER_NOT_PERMITTED", added: [], unchanged: [] });
    expect((answer.payload.errorMessage as { message: string }[])[0]!.message).toMatch(/no roster privilege \(XEP-0356\)/);
    const warnings = logLines.filter((l) => l.includes("granted no roster privilege"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, module: "roster" });
    expect(warnings[0]).toContain("cmd_add_to_roster will answer ROSTER_NOT_PERMITTED");
  });

  it("still answers searches (they need no roster)", async () => {
    const answer = await command(eva, "cmd_search_users", { userList: ["+39 347 111 1111"] }, bare.componentDomain);
    expect(answer.payload).toEqual({ status: 0, users: [{ msisdn: ALICE, jid: `${ALICE}@${bare.userDomain}`, name: "Alice" }] });
  });
});
