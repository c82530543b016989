// History on reopen (issue 17 item 4, XEP-0313): a user talks to the bot in
// two chats and to a Genesys operator (GMS simulator); a second device of the
// same user asks the channel JID for the history with MAM and gets every
// message, its own and the router's, in order, paged with RSM, filtered by
// chat title and time. Another user gets none of them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import xml, { type Element } from "@xmpp/xml";
import type { App } from "../../src/app.js";
import { startGmsSimulator } from "../../tools/gms-simulator/server.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { NS_X, chatText, isNotice, isX, readX, routerThread, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const BOB = "393472222222";
const SERVICE = "customer-support";
const MAM = "urn:xmpp:mam:2";
const RSM = "http://jabber.org/protocol/rsm";
let prosody: Prosody;
let bot: SampleBot;
let sim: Awaited<ReturnType<typeof startGmsSimulator>>;
let router: App;
let alice: TestClient;
let bob: TestClient;
let SUPPORTO: string;

const data = { apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false };

interface Archived {
  id: string;
  stamp: string;
  message: Element;
  body: string | undefined;
  from: string;
}

interface Answer {
  results: Archived[];
  fin: Element;
  count: number;
  complete: boolean;
  first?: string;
  last?: string;
}

let queries = 0;

/** One MAM query: the result messages of its queryid, then the <fin>. */
async function mam(
  client: TestClient,
  fields: Record<string, string> = {},
  rsm: { max?: number; after?: string; before?: string } = {},
  to = SUPPORTO,
): Promise<Answer> {
  const queryid = `q${++queries}`;
  const form = xml(
    "x",
    { xmlns: "jabber:x:data", type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, MAM)),
    ...Object.entries(fields).map(([k, v]) => xml("field", { var: k }, xml("value", {}, v))),
  );
  const set = xml("set", { xmlns: RSM });
  if (rsm.max !== undefined) set.append(xml("max", {}, String(rsm.max)));
  if (rsm.after !== undefined) set.append(xml("after", {}, rsm.after));
  if (rsm.before !== undefined) set.append(xml("before", {}, rsm.before));
  const got = client.collect((s) => s.is("message") && s.getChild("result", MAM)?.attrs.queryid === queryid, `results of ${queryid}`);
  try {
    const iq = await client.iq(xml("iq", { type: "set", to, id: queryid }, xml("query", { xmlns: MAM, queryid }, form, set)), 15_000);
    const fin = iq.getChild("fin", MAM)!;
    const s = fin.getChild("set", RSM)!;
    const results = got.items.map((m): Archived => {
      const result = m.getChild("result", MAM)!;
      const forwarded = result.getChild("forwarded", "urn:xmpp:forward:0")!;
      const inner = forwarded.getChild("message")!;
      return {
        id: String(result.attrs.id),
        stamp: String(forwarded.getChild("delay", "urn:xmpp:delay")!.attrs.stamp),
        message: inner,
        body: inner.getChildText("body") ?? undefined,
        from: String(inner.attrs.from),
      };
    });
    return {
      results,
      fin,
      count: Number(s.getChildText("count")),
      complete: fin.attrs.complete === "true",
      ...(s.getChildText("first") ? { first: s.getChildText("first")! } : {}),
      ...(s.getChildText("last") ? { last: s.getChildText("last")! } : {}),
    };
  } finally {
    got.stop();
  }
}

async function say(client: TestClient, text: string, title: string, reply: string): Promise<void> {
  await client.send(chatText(text, data, { to: SUPPORTO, thread: v2Thread(ALICE, title) }));
  await client.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === reply, 10_000, reply);
}

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
    ],
  });
  SUPPORTO = `supporto@${prosody.componentDomain}`;
  bot = await startSampleBot();
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
  router = await startRouter(
    routerConfig(prosody, { genesys: { url: sim.url, pollIntervalMs: 150 }, protocol: { mamMaxPageSize: 50 } }),
    testDirectory(bot.url, { genesysService: SERVICE }),
  );
  [alice, bob] = await Promise.all([
    connectClient({ prosody, username: ALICE, password: "a", resource: "android-1" }),
    connectClient({ prosody, username: BOB, password: "b", resource: "android-1" }),
  ]);

  // The history: two messages to the bot in "Assistenza", one in "Altro", then an operator episode in "Assistenza".
  await say(alice, "uno", "Assistenza", "Hai scritto: uno");
  await say(alice, "due", "Assistenza", "Hai scritto: due");
  await say(alice, "tre", "Altro", "Hai scritto: tre");
  await alice.send(chatText("voglio un operatore", data, { to: SUPPORTO, thread: v2Thread(ALICE, "Assistenza") }));
  await alice.waitFor(isNotice("ROUTER_QUEUED#0001"), 10_000);
  const id = (await router.store.conversations.findByKey(`${ALICE}@${prosody.userDomain}`, "supporto", "Assistenza"))!.id;
  const chat = await sim.waitForChat((c) => c.userData.conversationId === id, 10_000);
  chat.agentJoin("Giulia");
  const joined = readX(await alice.waitFor(isNotice("ROUTER_OPERATOR_JOINED#0001"), 10_000))!;
  chat.agentSay("Buongiorno, sono Giulia.");
  await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Buongiorno, sono Giulia.", 10_000);
  await alice.send(chatText("Il modem non va", data, { to: SUPPORTO, thread: joined.thread! }));
  await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "Il modem non va"), 10_000);
  chat.agentLeave();
  await alice.waitFor(isNotice("GENESYS#0002"), 10_000);
}, 60_000);

afterAll(async () => {
  await Promise.all([alice, bob].map((c) => c?.stop()));
  await router?.stop();
  await sim?.stop();
  await bot?.stop();
  await prosody?.stop();
});

describe("MAM at the channel JID", () => {
  it("disco#info on the channel JID lists urn:xmpp:mam:2", async () => {
    const iq = await alice.iq(
      xml("iq", { type: "get", to: SUPPORTO, id: "disco-mam" }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })),
    );
    const features = iq
      .getChild("query")!
      .getChildren("feature")
      .map((f) => String(f.attrs.var));
    expect(features).toContain(MAM);
  });

  it("a second device of the same user gets every message, its own and the router's, in order", async () => {
    const phone = await connectClient({ prosody, username: ALICE, password: "a", resource: "ios-2" });
    try {
      const all = await mam(phone);
      expect(all.complete).toBe(true);
      expect(all.count).toBe(all.results.length);
      const bodies = all.results.map((r) => r.body);
      // Own messages and bot replies, in the order they were exchanged, both chats.
      const order = ["uno", "Hai scritto: uno", "due", "Hai scritto: due", "tre", "Hai scritto: tre", "voglio un operatore"];
      expect(bodies.filter((b) => order.includes(b!))).toEqual(order);
      // The operator episode: the agent's message, the user's message to it, and the notices as stored.
      const operatorAt = bodies.indexOf("Buongiorno, sono Giulia.");
      expect(operatorAt).toBeGreaterThan(bodies.indexOf("voglio un operatore"));
      expect(bodies.indexOf("Il modem non va")).toBeGreaterThan(operatorAt);
      const codes = all.results.map((r) => readX(r.message)?.payload.code).filter((c) => c !== undefined);
      expect(codes).toEqual(expect.arrayContaining(["ROUTER_QUEUED#0001", "ROUTER_OPERATOR_JOINED#0001", "GENESYS#0002"]));

      // Who said what: the user's messages from its bare JID to the channel; the router's as sent, to this device.
      const uno = all.results.find((r) => r.body === "uno")!;
      expect(uno.from).toBe(`${ALICE}@${prosody.userDomain}`);
      expect(uno.message.attrs.to).toBe(SUPPORTO);
      expect(readX(uno.message)).toMatchObject({ type: "chat_text", payload: { text: "uno", data: { apiVersion: "2.1", os: "android" } } });
      expect(JSON.stringify(readX(uno.message)!.payload)).not.toContain("token");
      const reply = all.results.find((r) => r.body === "Hai scritto: uno")!;
      expect(reply.from).toBe(SUPPORTO);
      expect(reply.message.attrs.to).toBe(phone.jid);
      expect(reply.message.attrs.xmlns).toBe("jabber:client");
      expect(readX(reply.message)!.thread).toBe(routerThread("supporto", ALICE, "Assistenza"));
      const agent = all.results[operatorAt]!;
      expect(readX(agent.message)!.payload.data).toMatchObject({ conversationType: "operator", operator: { nickname: "Giulia" } });
      // Stamps never go backwards.
      const stamps = all.results.map((r) => Date.parse(r.stamp));
      expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);

      // Paging: max 2, then after the last of each page, until complete; the pages make the whole.
      const first = await mam(phone, {}, { max: 2 });
      expect(first.results.map((r) => r.id)).toEqual(all.results.slice(0, 2).map((r) => r.id));
      expect(first).toMatchObject({ count: all.count, complete: false, first: all.results[0]!.id, last: all.results[1]!.id });
      const paged = [...first.results];
      let page = first;
      while (!page.complete) {
        page = await mam(phone, {}, { max: 2, after: page.last! });
        expect(page.results.length).toBeLessThanOrEqual(2);
        paged.push(...page.results);
      }
      expect(paged.map((r) => r.id)).toEqual(all.results.map((r) => r.id));
      // The last page (empty <before/>) and the one before it.
      const lastPage = await mam(phone, {}, { max: 2, before: "" });
      expect(lastPage.results.map((r) => r.id)).toEqual(all.results.slice(-2).map((r) => r.id));
      const beforeThat = await mam(phone, {}, { max: 2, before: lastPage.first! });
      expect(beforeThat.results.map((r) => r.id)).toEqual(all.results.slice(-4, -2).map((r) => r.id));

      // By chat title (protocol.md §3 multi-chat): only "Altro".
      const altro = await mam(phone, { [`{${NS_X}}chat-title`]: "Altro" });
      const altroBodies = altro.results.map((r) => r.body);
      expect(altroBodies.filter((b) => b === "tre" || b === "Hai scritto: tre")).toEqual(["tre", "Hai scritto: tre"]);
      for (const b of ["uno", "due", "Buongiorno, sono Giulia."]) expect(altroBodies).not.toContain(b);
      expect(altro).toMatchObject({ count: altro.results.length, complete: true });
      for (const r of altro.results.filter((r) => r.from === SUPPORTO))
        expect(readX(r.message)!.thread).toBe(routerThread("supporto", ALICE, "Altro"));

      // By time: from the stamp of "tre" on, and up to the stamp of "uno".
      const tre = all.results.find((r) => r.body === "tre")!;
      const since = await mam(phone, { start: tre.stamp });
      expect(since.results[0]!.body === "tre" || Date.parse(since.results[0]!.stamp) === Date.parse(tre.stamp)).toBe(true);
      expect(since.results.every((r) => Date.parse(r.stamp) >= Date.parse(tre.stamp))).toBe(true);
      expect(since.results.map((r) => r.body)).not.toContain("uno");
      const until = await mam(phone, { end: uno.stamp });
      expect(until.results.map((r) => r.body)).toContain("uno");
      expect(until.results.map((r) => r.body)).not.toContain("tre");

      // after-id / before-id bound the result (XEP-0313 §4.1.3).
      const between = await mam(phone, { "after-id": all.results[0]!.id, "before-id": all.results[3]!.id });
      expect(between.results.map((r) => r.id)).toEqual(all.results.slice(1, 3).map((r) => r.id));
    } finally {
      await phone.stop();
    }
  }, 60_000);

  it("another user gets none of them, and cannot page from their ids", async () => {
    const mine = await mam(alice, {}, { max: 1 });
    const theirs = await mam(bob);
    expect(theirs.results).toEqual([]);
    expect(theirs).toMatchObject({ count: 0, complete: true });
    const err = await mam(bob, {}, { after: mine.last! }).catch((e: { condition?: string }) => e);
    expect(err).toMatchObject({ condition: "item-not-found" });
    const err2 = await mam(bob, { "after-id": mine.last! }).catch((e: { condition?: string }) => e);
    expect(err2).toMatchObject({ condition: "item-not-found" });
    // `with` another JID: nothing of the user's conversation matches.
    const other = await mam(alice, { with: `${BOB}@${prosody.userDomain}` });
    expect(other).toMatchObject({ count: 0, results: [] });
  }, 30_000);

  it("a server-address JID keeps the generic form's messages (protocol.md §1); the channel JID's archive does not hold them", async () => {
    const MYTICKET = `myticket@${prosody.componentDomain}`;
    await alice.send(chatText("biglietto", data, { to: MYTICKET, thread: "atm_milano", id: "srv-1" }));
    await alice.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: biglietto", 10_000);
    const there = await mam(alice, {}, {}, MYTICKET);
    const bodies = there.results.map((r) => r.body);
    expect(bodies.filter((b) => b === "biglietto" || b === "Hai scritto: biglietto")).toEqual(["biglietto", "Hai scritto: biglietto"]);
    const mine = there.results.find((r) => r.body === "biglietto")!;
    expect(mine.message.attrs).toMatchObject({ to: MYTICKET, id: "srv-1" });
    expect(mine.message.getChildText("thread")).toBe("atm_milano");
    expect(there.results.filter((r) => r.from !== mine.from).every((r) => r.from === MYTICKET)).toBe(true);
    expect((await mam(alice)).results.map((r) => r.body)).not.toContain("biglietto");
  }, 30_000);

  it("a field the archive does not know is feature-not-implemented, a bad date bad-request", async () => {
    expect(await mam(alice, { "{urn:example}nope": "x" }).catch((e: { condition?: string }) => e)).toMatchObject({
      condition: "feature-not-implemented",
    });
    expect(await mam(alice, { start: "yesterday" }).catch((e: { condition?: string }) => e)).toMatchObject({ condition: "bad-request" });
  });
});
