// security.maxOpenConversationsPerUser on a real Prosody (issue 13): a
// message that would open one more conversation than allowed is refused
// policy-violation with the application condition too-many-conversations
// (type cancel, docs/errors.md), nothing is stored and the bot is not
// called; messages in open conversations still go through. The count is the
// database's: conversations another instance wrote (rows put in here by SQL)
// count as much as this instance's.
import { randomUUID } from "node:crypto";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isError, isX, readError, v2Thread } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const BOB = "393472222222";
const MAX = 3;
let prosody: Prosody;
let bot: SampleBot;
let router: App;
let alice: TestClient;
let bob: TestClient;
let D: string;

const data = { apiVersion: "2.1", os: "android", appVersion: "0.4.65", premium: false };

beforeAll(async () => {
  prosody = await startProsody({
    users: [
      { username: ALICE, password: "a" },
      { username: BOB, password: "b" },
    ],
  });
  D = prosody.componentDomain;
  bot = await startSampleBot();
  router = await startRouter(routerConfig(prosody, { security: { maxOpenConversationsPerUser: MAX } }), testDirectory(bot.url));
  [alice, bob] = await Promise.all([
    connectClient({ prosody, username: ALICE, password: "a" }),
    connectClient({ prosody, username: BOB, password: "b" }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([alice?.stop(), bob?.stop()]);
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
});

const openRows = async (jid: string) =>
  (
    await router.store.db.query<{ n: number }>("SELECT count(*)::int AS n FROM conversations WHERE user_jid = $1 AND state <> 'closed'", [
      jid,
    ])
  ).rows[0]!.n;

/** A copy of one of the user's conversations under another title, as another instance would have written it. */
async function writtenElsewhere(jid: string, title: string): Promise<string> {
  const id = randomUUID();
  await router.store.db.transaction(async (tx) => {
    await tx.query("CREATE TEMP TABLE copy ON COMMIT DROP AS SELECT * FROM conversations WHERE user_jid = $1 LIMIT 1", [jid]);
    await tx.query("UPDATE copy SET id = $1, chat_title = $2", [id, title]);
    await tx.query("INSERT INTO conversations SELECT * FROM copy");
  });
  return id;
}

async function say(client: TestClient, msisdn: string, title: string, id: string): Promise<Element> {
  await client.send(chatText(`ciao ${title}`, data, { to: `supporto@${D}`, thread: v2Thread(msisdn, title), id }));
  // An error to this message, or a message in this conversation (its router thread holds the client's).
  const inConversation = (el: Element) =>
    isX(undefined, `supporto@${D}`)(el) && !!el.getChildText("thread")?.includes(v2Thread(msisdn, title));
  return client.waitFor((el) => isError(id)(el) || inConversation(el), 8000, `an answer to ${id}`);
}

describe(`at most ${MAX} open conversations per user, counted in the database`, () => {
  it("the first conversation is served; with two more written by another instance, a fourth is refused and nothing is stored", async () => {
    expect(readError(await say(alice, ALICE, "Primo", "o-1"))).toBeNull();
    await router.idle();
    await writtenElsewhere(`${ALICE}@${prosody.userDomain}`, "Altrove 1");
    const elsewhere = await writtenElsewhere(`${ALICE}@${prosody.userDomain}`, "Altrove 2");
    expect(await openRows(`${ALICE}@${prosody.userDomain}`)).toBe(MAX);

    const botCalls = bot.requests.length;
    const refused = await say(alice, ALICE, "Quarto", "o-2");
    expect(readError(refused)).toEqual({
      condition: "policy-violation",
      app: "too-many-conversations",
      text: expect.stringContaining(`at most ${MAX} conversations`) as unknown,
    });
    expect(refused.getChild("error")?.attrs.type).toBe("cancel");
    await router.idle();
    expect(await openRows(`${ALICE}@${prosody.userDomain}`)).toBe(MAX);
    expect(bot.requests.length).toBe(botCalls);
    expect((await router.store.conversations.list({ limit: 100 })).map((c) => c.chatTitle)).not.toContain("Quarto");

    // An open conversation is still served; so is another user.
    expect(readError(await say(alice, ALICE, "Primo", "o-3"))).toBeNull();
    expect(readError(await say(bob, BOB, "Primo", "o-4"))).toBeNull();

    // One closed elsewhere: the fourth may open now.
    await router.store.db.query("UPDATE conversations SET state = 'closed' WHERE id = $1", [elsewhere]);
    expect(readError(await say(alice, ALICE, "Quarto", "o-5"))).toBeNull();
    await router.idle();
    expect(await openRows(`${ALICE}@${prosody.userDomain}`)).toBe(MAX);
  });
});
