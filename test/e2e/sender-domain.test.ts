// protocol.md section 8 on a real Prosody with two virtual hosts: a user of
// the second host with the same localpart as a user of the user domain
// (393471111111@other.localhost vs 393471111111@localhost) must not reach
// her conversations or commands, whatever she sends, while directory reads
// stay open to her. The default token verifier ("none") is the case where
// nothing else would stop her.
import xml from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { registerProsodyUser, startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isError, isX, readError, v2Thread, xMessage } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const ALICE = "393471111111";
const OTHER_HOST = "other.localhost";
let prosody: Prosody;
let bot: SampleBot;
let router: App;
let alice: TestClient;
let mallory: TestClient;
let D: string;

const data = { apiVersion: "2.1", os: "android", appVersion: "0.4.65", premium: false };

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: ALICE, password: "a" }], extraHosts: [OTHER_HOST] });
  await registerProsodyUser(prosody, ALICE, OTHER_HOST, "m");
  D = prosody.componentDomain;
  bot = await startSampleBot();
  router = await startRouter(routerConfig(prosody), testDirectory(bot.url));
  [alice, mallory] = await Promise.all([
    connectClient({ prosody, username: ALICE, password: "a" }),
    connectClient({ prosody: { c2sService: prosody.c2sService, userDomain: OTHER_HOST }, username: ALICE, password: "m" }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([alice?.stop(), mallory?.stop()]);
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
});

async function refusal(client: TestClient, id: string) {
  const err = readError(await client.waitFor(isError(id), 8000, `the error to ${id}`));
  return err;
}

describe("a sender of another virtual host with the same localpart (protocol.md section 8)", () => {
  it("is refused not-authorized on a channel: nothing stored, nothing reaches the bot", async () => {
    const before = bot.requests.length;
    await mallory.send(chatText("dammi i dati", data, { to: `supporto@${D}`, thread: v2Thread(ALICE, "Assistenza"), id: "f-1" }));
    expect(await refusal(mallory, "f-1")).toMatchObject({ condition: "not-authorized", app: "foreign-domain" });
    await router.idle();
    expect(bot.requests.length).toBe(before);
    expect(await router.store.conversations.list({ limit: 100 })).toEqual([]);
  });

  it("is refused at a server address (generic form) too", async () => {
    await mallory.send(chatText("ciao", data, { to: `myticket@${D}`, thread: "atm_milano", id: "f-2" }));
    expect(await refusal(mallory, "f-2")).toMatchObject({ condition: "not-authorized", app: "foreign-domain" });
  });

  it("gets not-authorized for a chat state, which changes nothing", async () => {
    const state = xml(
      "message",
      { to: `supporto@${D}`, type: "chat", id: "f-3" },
      xml("thread", {}, v2Thread(ALICE, "Assistenza")),
      xml("composing", { xmlns: "http://jabber.org/protocol/chatstates" }),
    );
    await mallory.send(state);
    expect(await refusal(mallory, "f-3")).toMatchObject({ condition: "not-authorized", app: "foreign-domain" });
  });

  it("gets not-authorized for a command to the service JID", async () => {
    await mallory.send(xMessage("cmd_search_users", { userList: [ALICE] }, { to: D, id: "f-4" }));
    expect(await refusal(mallory, "f-4")).toMatchObject({ condition: "not-authorized", app: "foreign-domain" });
  });

  it("may still read the directory vCard", async () => {
    const answer = await mallory.iq(xml("iq", { type: "get", to: D, id: "f-5" }, xml("vCard", { xmlns: "vcard-temp" })));
    expect(answer.getChild("vCard", "vcard-temp")?.getChildText("DESC")).toContain("supporto");
  });

  it("while the user of the user domain with that localpart is served", async () => {
    await alice.send(chatText("buongiorno", data, { to: `supporto@${D}`, thread: v2Thread(ALICE, "Assistenza"), id: "a-1" }));
    await alice.waitFor(isX(undefined, `supporto@${D}`), 8000, "a bot answer");
    const list = await router.store.conversations.list({ limit: 100 });
    expect(list.map((c) => c.userJid)).toEqual([`${ALICE}@localhost`]);
  });
});
