// The component on a real Prosody (issue 4): directory vCard with platform
// filters and live edits, channel vCards, disco, channel presence, malformed
// stanzas answered with errors, and a Prosody restart survived.
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { startSampleBot, type SampleBot } from "../../tools/sample-bot/bot.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { startProsody, type Prosody } from "./harness/prosody.js";
import { chatText, isError, isX, readError, readX, routerThread, v2Thread, xMessage } from "./support/eime.js";
import { routerConfig, startRouter, testDirectory } from "./support/router.js";

const USER = "393471111111";
const PW = "pw-1";
let prosody: Prosody;
let bot: SampleBot;
let router: App;
let android: TestClient;
let web: TestClient;
let desktop: TestClient;
let D: string;

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: USER, password: PW }] });
  D = prosody.componentDomain;
  bot = await startSampleBot();
  router = await startRouter(routerConfig(prosody), testDirectory(bot.url));
  const connect = (resource: string) => connectClient({ prosody, username: USER, password: PW, resource });
  [android, web, desktop] = await Promise.all([connect("android-7"), connect("web-1"), connect("desktop")]);
});

afterAll(async () => {
  await Promise.all([android, web, desktop].map((c) => c?.stop()));
  await router?.stop();
  await bot?.stop();
  await prosody?.stop();
});

/** The payload of an iq result (its only child). */
const payload = (iq: Element): Element => iq.children.find((c): c is Element => typeof c !== "string")!;

async function vcard(client: TestClient, to: string): Promise<Element> {
  return payload(await client.iq(xml("iq", { type: "get", to, id: `v-${Math.random()}` }, xml("vCard", { xmlns: "vcard-temp" }))));
}

/** The DESC JSON of the directory vCard, as far as these tests read it. */
interface Desc {
  items: { address: string; items?: { address: string }[] }[];
}

async function desc(client: TestClient): Promise<Desc> {
  const card = await vcard(client, D);
  expect(card.getChildText("FN")).toBe("EiMe");
  return JSON.parse(card.getChildText("DESC")!) as Desc;
}

const addresses = (d: Desc) => d.items.flatMap((i) => [i.address, ...(i.items ?? []).map((c) => c.address)]);

describe("directory vCard (protocol.md section 6)", () => {
  it("an android client sees the mobile items, with the exact DESC JSON of the spec", async () => {
    const card = await vcard(android, D);
    const json = card.getChildText("DESC")!;
    expect(addresses(JSON.parse(json) as Desc)).toEqual(["mobile_ticketing_group", "atm_milano", "supporto"]);
    // Field names, nesting and order as in the spec; no route, ever.
    expect(json).toBe(
      JSON.stringify({
        items: [
          {
            address: "mobile_ticketing_group",
            type: "group",
            mobileIsPublished: true,
            webIsPublished: false,
            info: { name: "Mobile Ticketing", status: "Acquista qui i tuoi biglietti", imageUrl: "", thumbUrl: "" },
            items: [
              {
                address: "atm_milano",
                type: "channel",
                serverAddress: "myticket",
                mobileIsPublished: true,
                webIsPublished: false,
                info: {
                  name: "ATM Milano",
                  status: "Qui i biglietti di Milano",
                  imageUrl: "http://img.example/atm.png",
                  thumbUrl: "",
                  defaultMessage: "Ciao da ATM",
                },
              },
            ],
          },
          {
            address: "supporto",
            type: "channel",
            mobileIsPublished: true,
            webIsPublished: true,
            info: { name: "Supporto", status: "Assistenza clienti", imageUrl: "", thumbUrl: "", defaultMessage: "Come possiamo aiutarti?" },
          },
        ],
      }),
    );
    expect(json).not.toContain("route");
  });

  it("a web client sees the web items only", async () => {
    expect(addresses(await desc(web))).toEqual(["supporto", "webchat"]);
  });

  it("a client whose resource says nothing is filtered by the os of its last message", async () => {
    // Before any message: everything published somewhere.
    expect(addresses(await desc(desktop))).toEqual(["mobile_ticketing_group", "atm_milano", "supporto", "webchat"]);
    await desktop.send(chatText("ciao", { apiVersion: 2, os: "web" }, { to: `supporto@${D}`, thread: v2Thread(USER) }));
    await desktop.waitFor(isX(undefined, `supporto@${D}`));
    expect(addresses(await desc(desktop))).toEqual(["supporto", "webchat"]);
  });

  it("an admin edit is visible in the next vCard", async () => {
    const tree = await router.store.directory.getTree();
    const supporto = tree.items.find((i) => i.address === "supporto")!;
    await router.store.directory.putItem({ ...supporto, info: { ...supporto.info, status: "Nuovo stato" } }, null);
    await router.store.directory.deleteItem("webchat");
    const d = await desc(web);
    expect(addresses(d)).toEqual(["supporto"]);
    expect(JSON.stringify(d)).toContain("Nuovo stato");
  });

  it("a channel JID has its own vCard; an unknown one is item-not-found", async () => {
    const card = await vcard(android, `atm_milano@${D}`);
    expect(card.getChildText("FN")).toBe("ATM Milano");
    expect(card.getChildText("DESC")).toBe("Qui i biglietti di Milano");
    expect(card.getChild("PHOTO")?.getChildText("EXTVAL")).toBe("http://img.example/atm.png");
    const err = await vcard(android, `nessuno@${D}`).catch((e: { condition?: string }) => e);
    expect(err).toMatchObject({ condition: "item-not-found" });
  });
});

describe("service discovery (XEP-0030)", () => {
  const disco = async (client: TestClient, to: string, ns: string) =>
    payload(await client.iq(xml("iq", { type: "get", to, id: `d-${Math.random()}` }, xml("query", { xmlns: ns }))));

  it("disco#info on the domain and on a channel", async () => {
    const info = await disco(android, D, "http://jabber.org/protocol/disco#info");
    expect(info.getChild("identity")?.attrs).toMatchObject({ category: "component", type: "generic", name: "EiMe" });
    const features = info.getChildren("feature").map((f): unknown => f.attrs.var);
    expect(features).toEqual(expect.arrayContaining(["vcard-temp", "urn:eime:x:0", "http://jabber.org/protocol/disco#items"]));
    const channel = await disco(android, `supporto@${D}`, "http://jabber.org/protocol/disco#info");
    expect(channel.getChild("identity")?.attrs).toMatchObject({ category: "client", type: "bot", name: "Supporto" });
  });

  it("disco#items lists the channel JIDs", async () => {
    const items = await disco(android, D, "http://jabber.org/protocol/disco#items");
    expect(items.getChildren("item").map((i): unknown => i.attrs.jid)).toEqual([`atm_milano@${D}`, `supporto@${D}`]);
  });

  it("an iq nobody handles gets service-unavailable", async () => {
    const err = await android
      .iq(xml("iq", { type: "get", to: D, id: "unknown-iq" }, xml("query", { xmlns: "jabber:iq:version-not-here" })))
      .catch((e: { condition?: string }) => e);
    expect(err).toMatchObject({ condition: "service-unavailable" });
  });
});

describe("presence of channels", () => {
  it("answers a subscription request with subscribed and available, and a probe with available", async () => {
    // (The `subscribed` answer goes to the user's server, which records it in the roster; it shows it only to
    // resources that fetched the roster, so this test reads the roster instead.)
    await android.send(xml("presence", { to: `supporto@${D}`, type: "subscribe" }));
    const available = await android.waitFor((s) => s.is("presence") && s.attrs.from === `supporto@${D}` && s.attrs.type === undefined);
    expect(available).toBeDefined();
    // The channel is now in the roster: the server shows it online after a fresh login.
    const fresh = await connectClient({ prosody, username: USER, password: PW, resource: "android-8" });
    try {
      const roster = payload(await fresh.iq(xml("iq", { type: "get", id: "r1" }, xml("query", { xmlns: "jabber:iq:roster" }))));
      expect(roster.getChildren("item").map((i): unknown[] => [i.attrs.jid, i.attrs.subscription])).toContainEqual([`supporto@${D}`, "to"]);
      await fresh.waitFor((s) => s.is("presence") && s.attrs.from === `supporto@${D}` && s.attrs.type === undefined);
    } finally {
      await fresh.stop();
    }
  });
});

describe("bad input gets an answer that names the field", () => {
  // Built lazily: the component domain is known once Prosody runs.
  const cases: [string, () => Element, string, string, RegExp][] = [
    [
      "malformed JSON",
      () => xMessage("chat_text", "{not json", { to: `supporto@${D}`, thread: v2Thread(USER), id: "bad-json" }),
      "bad-request",
      "invalid-payload",
      /^payload:/,
    ],
    [
      "type and action differ",
      () =>
        xml(
          "message",
          { to: `supporto@${D}`, id: "bad-action", type: "chat" },
          xml("thread", {}, v2Thread(USER)),
          xml("x", { xmlns: "urn:eime:x:0" }, xml("type", {}, "chat_text"), xml("action", {}, "chat_notice"), xml("payload", {}, "{}")),
        ),
      "bad-request",
      "invalid-payload",
      /^action:/,
    ],
    [
      // A body without x is a plain client's message (protocol.md section 9): an empty one is refused.
      "no x element, empty body",
      () => xml("message", { to: `supporto@${D}`, id: "no-x", type: "chat" }, xml("body", {}, " ")),
      "bad-request",
      "invalid-payload",
      /^body:/,
    ],
    [
      "unknown apiVersion",
      () => chatText("x", { apiVersion: 3 }, { to: `supporto@${D}`, thread: v2Thread(USER), id: "bad-api" }),
      "bad-request",
      "unsupported-api-version",
      /^payload\.data\.apiVersion:/,
    ],
    [
      "bad os",
      () => chatText("x", { apiVersion: 2, os: "symbian" }, { to: `supporto@${D}`, thread: v2Thread(USER), id: "bad-os" }),
      "bad-request",
      "invalid-payload",
      /^payload\.data\.os:/,
    ],
    [
      "unknown channel",
      () => chatText("x", { apiVersion: 2 }, { to: `nessuno@${D}`, thread: v2Thread(USER), id: "no-channel" }),
      "item-not-found",
      "no-channel-found",
      /^to:/,
    ],
    [
      "missing thread",
      () => chatText("x", { apiVersion: 2 }, { to: `supporto@${D}`, id: "no-thread" }),
      "bad-request",
      "invalid-payload",
      /^thread:/,
    ],
    [
      "router thread of another channel",
      () => chatText("x", { apiVersion: 2 }, { to: `supporto@${D}`, thread: routerThread("webchat", USER, "Supporto"), id: "other-route" }),
      "bad-request",
      "invalid-payload",
      /^thread:/,
    ],
  ];

  it.each(cases)("%s", async (_name, build, condition, app, text) => {
    const stanza = build();
    const id = String(stanza.attrs.id);
    await android.send(stanza);
    const reply = await android.waitFor(isError(id), 5000, `error reply to ${id}`);
    expect(readError(reply)).toMatchObject({ condition, app });
    expect(readError(reply)!.text).toMatch(text);
    expect(reply.attrs.from).toBe(stanza.attrs.to);
  });

  it("an oversize payload (65,537 bytes) is refused", async () => {
    const big = chatText(
      "x".repeat(10),
      { apiVersion: 2, pad: "y".repeat(65_537) },
      { to: `supporto@${D}`, thread: v2Thread(USER), id: "too-big" },
    );
    await android.send(big);
    expect(readError(await android.waitFor(isError("too-big")))).toMatchObject({ condition: "bad-request", app: "payload-too-large" });
  });
});

describe("surviving a Prosody restart", () => {
  it("Prosody killed and restarted: the router reconnects, a reply produced meanwhile is delivered, the next exchange works", async () => {
    await bot.setMode({ delayMs: 1500 });
    const thread = v2Thread(USER, "Restart");
    await android.send(
      chatText("prima del crash", { apiVersion: 2, os: "android" }, { to: `supporto@${D}`, thread, id: "before-crash", receipt: true }),
    );
    await android.waitFor((s) => !!s.getChild("received", "urn:xmpp:receipts"), 5000, "receipt: the message is stored");
    await prosody.kill();
    await new Promise((r) => setTimeout(r, 300));
    await prosody.restart();
    await bot.setMode("normal");
    await android.waitOnline(10_000);
    const echo = await android.waitFor(
      (s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: prima del crash",
      15_000,
      "reply produced while Prosody was down",
    );
    expect(readX(echo)!.thread).toBe(routerThread("supporto", USER, "Restart"));
    await android.send(chatText("dopo", { apiVersion: 2, os: "android" }, { to: `supporto@${D}`, thread }));
    const next = await android.waitFor((s) => isX("chat_text")(s) && readX(s)!.payload.text === "Hai scritto: dopo", 10_000);
    expect(next).toBeDefined();
  });
});
