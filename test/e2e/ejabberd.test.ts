// The router on ejabberd (Debian 12's 23.01) instead of Prosody: the private
// server of harness/ejabberd.ts wired as docs/ejabberd.md says, the sample
// bot, real clients. The directory vCard, a v2.1 bot conversation, a
// malformed stanza answered with an error, and the contacts commands through
// ejabberd's mod_privilege (XEP-0356, urn:xmpp:privilege:1).
//
// ejabberd 23.01 grants and advertises roster "both" and answers the
// component's roster get, but its roster set from a component fails inside
// mod_roster (processone/ejabberd#3942; see docs/ejabberd.md): this file pins
// down exactly that, and what cmd_add_to_roster answers then.
import { createHash } from "node:crypto";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueHmacToken } from "../../src/adapters/token/verifiers.js";
import type { App } from "../../src/app.js";
import { createLogging } from "../../src/log.js";
import { createComponentConnection } from "../../src/xmpp/connection.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startEjabberd, type Ejabberd } from "./harness/ejabberd.js";
import { chatText, isError, isX, readError, readX, routerThread, v2Thread, xMessage, type XRead } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const BOB = "393472222222";
const CARLA = "393473333333"; // registered in the router's store only
const SECRET = "token-secret";
const NS_ROSTER = "jabber:iq:roster";

let ejabberd: Ejabberd;
// A second ejabberd for two router instances on one component domain (domain_balancing, bare_source).
let balanced: Ejabberd;
// ejabberd 23.01 picks the slot as erlang:phash2({User, Host, <<>>}, 2) among the connections sorted by slot:
// 0 for the first two of these users, 1 for the last two (computed with erl; similar JIDs often share a slot).
const BALANCED_USERS = ["393475550001", "393475550002", "393475550005", "393475550009"];
let bot: SampleBot;
let router: App;
let alice: TestClient;
let bob: TestClient;
let D: string;
let U: string;
let SUPPORTO: string;
const timings: Record<string, number> = {};

const token = (msisdn: string) => issueHmacToken(SECRET, msisdn, new Date(Date.now() + 3_600_000));
const data = (msisdn: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 2.1,
  os: "android",
  appVersion: "0.4.65",
  premium: false,
  token: token(msisdn),
  ...extra,
});

beforeAll(async () => {
  const t0 = performance.now();
  [ejabberd, balanced] = await Promise.all([
    startEjabberd({ users: [ALICE, BOB].map((u) => ({ username: u, password: "pw" })) }),
    startEjabberd({ componentNumber: 2, privilege: false, users: BALANCED_USERS.map((u) => ({ username: u, password: "pw" })) }),
  ]);
  timings["ejabberd start (ports accepting)"] = ejabberd.lastStartMs;
  timings["two ejabberds started at once + users registered"] = performance.now() - t0;
  D = ejabberd.componentDomain;
  U = ejabberd.userDomain;
  SUPPORTO = `supporto@${D}`;
  bot = await startSampleBot();
  const t1 = performance.now();
  // routerConfig reads componentService, componentDomain, secret and userDomain: an Ejabberd has them as a Prosody does.
  router = await startRouter(routerConfig(ejabberd, { tokens: { verifier: `hmac:${SECRET}` } }), testDirectory(bot.url));
  timings["router start"] = performance.now() - t1;
  await router.store.users.upsertMany([
    { msisdn: ALICE, name: "Alice" },
    { msisdn: BOB, name: "Bob Bianchi" },
    { msisdn: CARLA, name: "Carla" },
  ]);
  [alice, bob] = await Promise.all([
    connectClient({ prosody: ejabberd, username: ALICE, password: "pw", resource: "android-1" }),
    connectClient({ prosody: ejabberd, username: BOB, password: "pw", resource: "web-1" }),
  ]);
  timings["beforeAll total"] = performance.now() - t0;
});

afterAll(async () => {
  await Promise.all([alice?.stop(), bob?.stop()]);
  await router?.stop();
  await bot?.stop();
  const t0 = performance.now();
  await Promise.all([ejabberd?.stop(), balanced?.stop()]);
  timings["ejabberd stop (two at once)"] = performance.now() - t0;
  if (process.env.EIME_TEST_TIMINGS)
    console.log(
      Object.entries(timings)
        .map(([k, v]) => `${k}: ${v.toFixed(0)} ms`)
        .join("\n"),
    );
});

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000, server = ejabberd): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; ejabberd log tail:\n${server.logTail(20)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The payload of an iq result (its only child). */
const payload = (iq: Element): Element => iq.children.find((c): c is Element => typeof c !== "string")!;

describe("the component on ejabberd", () => {
  it("connects with the listener's password, and mod_privilege grants it roster both", async () => {
    await waitUntil(() => router.connection.isOnline(), "the router online");
    expect(ejabberd.version).toMatch(/^\d+\.\d+/);
    await waitUntil(
      () => /Granting permissions to external component 'router\.localhost': roster = both/.test(ejabberd.log()),
      "the privilege grant in the log",
    );
  });

  it("a wrong password is refused at once with the router's clear message", async () => {
    const bad = createComponentConnection(
      { service: ejabberd.componentService, domain: D, secret: "not-the-secret", outboundQueueLimit: 5, iqTimeoutMs: 2000 },
      createLogging({ level: "silent", modules: {} }).child("xmpp"),
    );
    const t0 = performance.now();
    await expect(bad.start()).rejects.toThrow("XMPP server refused the component secret for router.localhost (not-authorized)");
    expect(performance.now() - t0).toBeLessThan(900); // before the first reconnect (1 s)
    await bad.stop();
    expect(router.connection.isOnline()).toBe(true);
  });

  it("serves the directory vCard, filtered for an android client", async () => {
    const card = payload(await alice.iq(xml("iq", { type: "get", to: D }, xml("vCard", { xmlns: "vcard-temp" }))));
    expect(card.getChildText("FN")).toBe("EiMe");
    const desc = JSON.parse(card.getChildText("DESC")!) as { items: { address: string; items?: { address: string }[] }[] };
    expect(desc.items.flatMap((i) => [i.address, ...(i.items ?? []).map((c) => c.address)])).toEqual([
      "mobile_ticketing_group",
      "atm_milano",
      "supporto",
    ]);
    expect(JSON.stringify(desc)).not.toContain("route");
  });
});

describe("a v2.1 bot conversation", () => {
  it("greets and echoes in the router thread, and accepts that thread back", async () => {
    await alice.send(chatText("buongiorno", data(ALICE), { to: SUPPORTO, thread: v2Thread(ALICE, "Ordini"), id: "ej-1" }));
    const replies: XRead[] = [];
    for (let i = 0; i < 2; i++) replies.push(readX(await alice.waitFor(isX(undefined, SUPPORTO), 8000, `reply ${i + 1}`))!);
    const thread = routerThread("supporto", ALICE, "Ordini");
    expect(replies[0]).toMatchObject({ type: "chat_interactive", thread });
    expect(replies[1]).toMatchObject({
      type: "chat_text",
      thread,
      from: SUPPORTO,
      payload: { text: "Hai scritto: buongiorno", data: { conversationType: "bot", chatTitle: "Ordini" } },
      body: "Hai scritto: buongiorno",
    });
    await alice.send(chatText("seconda", data(ALICE), { to: SUPPORTO, thread, id: "ej-2" }));
    const second = readX(await alice.waitFor(isX("chat_text", SUPPORTO), 8000, "the echo of the second message"))!;
    expect(second).toMatchObject({ thread, payload: { text: "Hai scritto: seconda" } });
    const [a, b] = ["ej-1", "ej-2"].map((id) => bot.requests.find((r) => r.metadata?.messageId === id)!);
    expect(b!.metadata!.conversationId).toBe(a!.metadata!.conversationId);
    expect(a!.metadata).toMatchObject({ apiVersion: "2.1", channel: "supporto", chatTitle: "Ordini" });
  });

  it("answers a malformed stanza with a stanza error naming the field", async () => {
    await bob.send(xMessage("chat_text", "{not json", { to: SUPPORTO, thread: v2Thread(BOB), id: "ej-bad-json" }));
    const reply = await bob.waitFor(isError("ej-bad-json"), 5000, "the error reply");
    expect(readError(reply)).toMatchObject({ condition: "bad-request", app: "invalid-payload" });
    expect(readError(reply)!.text).toMatch(/^payload:/);
    expect(reply.attrs.from).toBe(SUPPORTO);
    await bob.send(chatText("x", data(BOB), { to: `nessuno@${D}`, thread: v2Thread(BOB), id: "ej-no-channel" }));
    expect(readError(await bob.waitFor(isError("ej-no-channel")))).toMatchObject({ condition: "item-not-found", app: "no-channel-found" });
  });
});

describe("contacts through ejabberd's mod_privilege", () => {
  let seq = 0;
  async function command(client: TestClient, type: string, body: unknown): Promise<XRead> {
    const id = `ej-cmd-${++seq}`;
    await client.send(xMessage(type, body, { to: D, id }));
    const answer = await client.waitFor((el) => el.is("message") && el.attrs.id === id, 8000, `the answer to ${id}`);
    const x = readX(answer);
    expect(x, answer.toString()).not.toBeNull();
    expect(x).toMatchObject({ type, from: D });
    return x!;
  }

  async function rosterOf(client: TestClient): Promise<Map<string, { name?: string; groups: string[]; subscription: string }>> {
    const result = await client.iq(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER })));
    const items = new Map<string, { name?: string; groups: string[]; subscription: string }>();
    for (const el of result.getChild("query", NS_ROSTER)?.getChildren("item") ?? []) {
      items.set(String(el.attrs.jid), {
        ...(el.attrs.name === undefined ? {} : { name: String(el.attrs.name) }),
        groups: el
          .getChildren("group")
          .map((g: Element) => g.getText())
          .sort(),
        subscription: String(el.attrs.subscription ?? "none"),
      });
    }
    return items;
  }

  it("reads the user's roster through the privilege: entries the user already has are unchanged", async () => {
    // Alice's own client writes the entries the command would write: only a privileged roster get can see them.
    await alice.iq(
      xml(
        "iq",
        { type: "set" },
        xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: `${BOB}@${U}`, name: "Bob" }, xml("group", {}, "CONTACTS"))),
      ),
    );
    await alice.iq(
      xml(
        "iq",
        { type: "set" },
        xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: SUPPORTO, name: "Supporto" }, xml("group", {}, "CHANNELS"))),
      ),
    );
    const answer = await command(alice, "cmd_add_to_roster", {
      channelUsers: [{ name: "Bob", address: "+39 347 222 2222" }, { address: "supporto" }],
    });
    expect(answer.payload).toEqual({ status: 0, added: [], unchanged: ["+39 347 222 2222", "supporto"] });
  });

  it("a roster write: what ejabberd 23.01 does with the component's roster set", async () => {
    const answer = await command(alice, "cmd_add_to_roster", { channelUsers: [{ name: "Carla", address: "347 333 3333" }] });
    const roster = await rosterOf(alice);
    if (ejabberd.version?.startsWith("23.01")) {
      // mod_roster crashes on the component's set ({module_not_loaded, mod_roster, <<"router.localhost">>}) and
      // ejabberd answers internal-server-error: nothing is written, the router answers INTERNAL_ERROR and stays online.
      expect(answer.payload).toMatchObject({ status: 1, errorCode: "INTERNAL_ERROR", added: [], unchanged: [] });
      expect((answer.payload.errorMessage as { message: string }[])[0]!.message).toMatch(
        /^roster set: the XMPP server answered internal-server-error/,
      );
      expect(roster.has(`${CARLA}@${U}`)).toBe(false);
      expect(ejabberd.logTail(200)).toContain('{module_not_loaded,mod_roster,<<"router.localhost">>}');
      expect(router.connection.isOnline()).toBe(true);
      // The user's own roster is intact (the entries of the previous test are still there).
      expect(roster.get(`${BOB}@${U}`)).toEqual({ name: "Bob", groups: ["CONTACTS"], subscription: "none" });
    } else {
      // An ejabberd with the fix for processone/ejabberd#3942: written with name and group, as on Prosody.
      expect(answer.payload).toEqual({ status: 0, added: ["347 333 3333"], unchanged: [] });
      expect(roster.get(`${CARLA}@${U}`)).toEqual({ name: "Carla", groups: ["CONTACTS"], subscription: "none" });
    }
  });

  it("after ejabberd crashes and restarts, the router reconnects and learns the roster privilege again", async () => {
    await ejabberd.kill();
    await waitUntil(() => !router.connection.isOnline(), "the router sees ejabberd go");
    await ejabberd.restart();
    timings["ejabberd restart after SIGKILL (ports accepting)"] = ejabberd.lastStartMs;
    await alice.waitOnline(10_000);
    await waitUntil(() => router.connection.isOnline(), "the router back online", 10_000);
    // Reading the roster again needs the privilege advertised on the new stream (and the roster survived in Mnesia).
    const answer = await command(alice, "cmd_add_to_roster", { channelUsers: [{ name: "Bob", address: BOB }] });
    expect(answer.payload).toEqual({ status: 0, added: [], unchanged: [BOB] });
  });

  it("searches need no roster and work as on Prosody", async () => {
    const answer = await command(bob, "cmd_search_users", { hashed: true, userList: [createHash("sha256").update(ALICE).digest("hex")] });
    expect(answer.payload).toEqual({ status: 0, users: [{ msisdn: ALICE, jid: `${ALICE}@${U}`, name: "Alice" }] });
  });
});

describe("two router instances on one component domain (domain_balancing, bare_source)", () => {
  let routers: App[] = [];
  let clients: TestClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(routers.map((r) => r.stop()));
  });

  /** The users each router has conversations with. */
  async function usersOf(r: App): Promise<string[]> {
    const { rows } = await r.store.db.query<{ msisdn: string }>("SELECT DISTINCT msisdn FROM conversations ORDER BY msisdn");
    return rows.map((row) => row.msisdn);
  }

  it("each user sticks to one instance; a user whose instance is down gets nothing back, not even an error", async () => {
    // Two independent routers (each its own in-memory database): ejabberd accepts both connections for the domain.
    const t0 = performance.now();
    routers = await Promise.all(
      [0, 1].map(() => startRouter(routerConfig(balanced, { tokens: { verifier: `hmac:${SECRET}` } }), testDirectory(bot.url))),
    );
    timings["two routers started at once"] = performance.now() - t0;
    await waitUntil(() => routers.every((r) => r.connection.isOnline()), "both routers online", 5000, balanced);
    clients = await Promise.all(
      BALANCED_USERS.map((u) => connectClient({ prosody: balanced, username: u, password: "pw", resource: "android-1" })),
    );
    const to = `supporto@${balanced.componentDomain}`;
    const roundTrip = async (i: number, text: string) => {
      const u = BALANCED_USERS[i]!;
      await clients[i]!.send(chatText(text, data(u), { to, thread: v2Thread(u, "Bilanciato") }));
      const echo = await clients[i]!.waitFor(
        (el) => isX("chat_text", to)(el) && readX(el)!.payload.text === `Hai scritto: ${text}`,
        8000,
        `the echo for ${u}`,
      );
      expect(readX(echo)!.thread).toBe(routerThread("supporto", u, "Bilanciato"));
    };
    for (let round = 1; round <= 2; round++) await Promise.all(BALANCED_USERS.map((_, i) => roundTrip(i, `giro ${round}`)));

    const [a, b] = await Promise.all(routers.map(usersOf));
    // Every user was served by exactly one instance, both rounds: the users of one slot on one instance.
    const slots = [BALANCED_USERS.slice(0, 2), BALANCED_USERS.slice(2)];
    expect([a, b].sort((x, y) => x![0]!.localeCompare(y![0]!))).toEqual(slots);

    // Stop the second instance: its slot has no connection, and ejabberd drops that slot's stanzas silently.
    await routers[1]!.stop();
    const orphan = BALANCED_USERS.indexOf(b![0]!);
    const kept = BALANCED_USERS.indexOf(a![0]!);
    const answers = clients[orphan]!.collect(
      (el) => isError("orphan-1")(el) || (isX(undefined, to)(el) && readX(el)!.payload.text === "Hai scritto: nessuno?"),
    );
    await clients[orphan]!.send(
      chatText("nessuno?", data(BALANCED_USERS[orphan]!), { to, thread: v2Thread(BALANCED_USERS[orphan]!, "Bilanciato"), id: "orphan-1" }),
    );
    await roundTrip(kept, "ancora qui"); // the other slot still works meanwhile
    await new Promise((r) => setTimeout(r, 1000));
    expect(answers.items.map((el) => el.toString())).toEqual([]);
    answers.stop();
  });
});
