import { describe, expect, it } from "vitest";
import type { ClientMessage } from "../../../src/core/client-message.js";
import type { Conversation } from "../../../src/core/model.js";
import { encodeClientMessage } from "../../../src/router/client-encoder.js";

const opts = { domain: "router.eime.local", namespace: "urn:eime:x:0", timeZone: "Europe/Rome" };
const UUID = "14850c10-6093-46fb-a7c4-9abf014b3991";
const ROUTE_KEY = "b4730763cab6a06462c9f4563c7717f32c61c8a792e710fe7c8da3f7df54be49"; // sha256("supporto")
const HASH_B64 = Buffer.from("9753fdc6d16f7242bf2ece3bacab8d08024b58844ac8a459b73790b5eddc3105").toString("base64"); // of 393471111111

function conv(over: Partial<Conversation> = {}): Conversation {
  const now = new Date("2026-11-21T10:00:00Z");
  return {
    id: "c1",
    userJid: "393471111111@eime.local",
    msisdn: "393471111111",
    channel: "supporto",
    chatTitle: "Supporto",
    addressing: { kind: "channel" },
    apiVersion: "2.1",
    os: "android",
    appVersion: "1",
    premium: false,
    useChatDynamic: false,
    lang: "it",
    state: "bot",
    botSession: 0,
    botSessionOpen: true,
    botOptions: null,
    episode: null,
    votingUntil: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

const read = (el: ReturnType<typeof encodeClientMessage>) => ({
  from: el.attrs.from as string,
  to: el.attrs.to as string,
  id: el.attrs.id as string,
  thread: el.getChildText("thread"),
  type: el.getChild("x", "urn:eime:x:0")?.getChildText("type"),
  payload: JSON.parse(el.getChild("x", "urn:eime:x:0")?.getChildText("payload") ?? "null") as { text?: string; data?: unknown },
  body: el.getChildText("body"),
});

describe("encoding a message for the user (protocol.md sections 3 and 4)", () => {
  const text = { kind: "text", text: "Ciao", conversationType: "bot" } as const;

  it("FOREGROUND_CONVERSATION#0002 in v2.1 names the episode's thread in data.thread (protocol.md section 5)", () => {
    const m = read(encodeClientMessage(conv(), { kind: "notice", code: "FOREGROUND_CONVERSATION#0002" }, UUID, "n1", opts));
    expect(m.thread).toBe(`${ROUTE_KEY}:${HASH_B64}|$|U3VwcG9ydG8=_${UUID}`);
    expect(m.payload.data).toMatchObject({ thread: m.thread });
    const other = read(encodeClientMessage(conv(), { kind: "notice", code: "FOREGROUND_CONVERSATION#0001" }, UUID, "n2", opts));
    expect(other.payload.data).not.toHaveProperty("thread");
  });

  it("v1: the plain MSISDN as thread, no chatTitle", () => {
    expect(read(encodeClientMessage(conv({ apiVersion: "1" }), text, null, "id1", opts))).toEqual({
      from: "supporto@router.eime.local",
      to: "393471111111@eime.local",
      id: "id1",
      thread: "393471111111",
      type: "chat_text",
      payload: { text: "Ciao", data: { conversationType: "bot" } },
      body: "Ciao",
    });
  });

  it("v2: routeKey:hash|$|title, no chatTitle, and no uuid even in an operator episode", () => {
    const r = read(encodeClientMessage(conv({ apiVersion: "2" }), text, UUID, "id2", opts));
    expect(r.thread).toBe(`${ROUTE_KEY}:${HASH_B64}|$|U3VwcG9ydG8=`);
    expect(r.payload.data).toEqual({ conversationType: "bot" });
  });

  it("v2.1: chatTitle in data, and _uuid after the title in an operator episode only", () => {
    expect(read(encodeClientMessage(conv(), text, null, "a", opts)).thread).toBe(`${ROUTE_KEY}:${HASH_B64}|$|U3VwcG9ydG8=`);
    const op = read(
      encodeClientMessage(
        conv(),
        { kind: "text", text: "Salve", conversationType: "operator", operator: { nickname: "Anna" } },
        UUID,
        "b",
        opts,
      ),
    );
    expect(op.thread).toBe(`${ROUTE_KEY}:${HASH_B64}|$|U3VwcG9ydG8=_${UUID}`);
    expect(op.payload).toEqual({
      text: "Salve",
      data: { conversationType: "operator", chatTitle: "Supporto", operator: { nickname: "Anna" } },
    });
  });

  it("rich content: chat_dynamic for clients that said useChatDynamic, numbered chat_interactive otherwise", () => {
    const rich: ClientMessage = {
      kind: "rich",
      text: "Scegli",
      buttons: [
        { title: "A", payload: "/a" },
        { title: "B", payload: "/b" },
      ],
      image: "http://i/x.png",
      custom: { k: 1 },
    };
    const dyn = read(encodeClientMessage(conv({ useChatDynamic: true }), rich, null, "d", opts));
    expect(dyn.type).toBe("chat_dynamic");
    expect(dyn.payload.data).toEqual({
      conversationType: "bot",
      chatTitle: "Supporto",
      buttons: [
        { title: "A", payload: "/a" },
        { title: "B", payload: "/b" },
      ],
      image: "http://i/x.png",
      custom: { k: 1 },
    });
    const int = read(encodeClientMessage(conv(), rich, null, "i", opts));
    expect(int.type).toBe("chat_interactive");
    expect(int.payload.text).toBe("Scegli\n1. A\n2. B\nhttp://i/x.png");
    expect(int.body).toBe(int.payload.text);
  });

  it("notices carry the localised text and their data (plus chatTitle in v2.1)", () => {
    const n = read(
      encodeClientMessage(conv({ lang: "en" }), { kind: "notice", code: "ROUTER_QUEUED#0001", data: { position: 2 } }, UUID, "n", opts),
    );
    expect(n.payload).toEqual({
      code: "ROUTER_QUEUED#0001",
      text: "You are number 2 in the queue for an operator.",
      data: { position: 2, chatTitle: "Supporto" },
    });
    expect(n.body).toBe(n.payload.text);
  });

  it("the generic directory form: from the server-address JID, thread = the channel address", () => {
    const r = read(
      encodeClientMessage(
        conv({ addressing: { kind: "server", serverAddress: "myticket" }, channel: "atm_milano", msisdn: null }),
        text,
        UUID,
        "s",
        opts,
      ),
    );
    expect(r).toMatchObject({ from: "myticket@router.eime.local", thread: "atm_milano" });
  });

  it("chat states carry no body and no x", () => {
    const el = encodeClientMessage(conv(), { kind: "chat_state", state: "composing" }, UUID, "cs", opts);
    expect(el.getChild("composing", "http://jabber.org/protocol/chatstates")).toBeDefined();
    expect(el.getChild("body")).toBeUndefined();
    expect(el.getChildText("thread")).toMatch(new RegExp(`_${UUID}$`));
  });
});

describe("a message asking for a delivery receipt (XEP-0184; Genesys Cloud receipts)", () => {
  const asking = {
    kind: "text",
    text: "Eccomi",
    conversationType: "operator",
    operator: { nickname: "Giulia" },
    requestReceipt: true,
  } as const;
  const NS = "urn:xmpp:receipts";

  it("carries <request/> for EiMe and plain clients; other messages do not", () => {
    const eime = encodeClientMessage(conv(), asking, UUID, "r1", opts);
    expect(eime.getChild("request", NS)).toBeDefined();
    expect(eime.getChild("x", "urn:eime:x:0")).toBeDefined();
    const plain = encodeClientMessage(conv({ plain: true }), asking, UUID, "r2", opts);
    expect(plain.getChild("request", NS)).toBeDefined();
    expect(plain.getChildText("body")).toBe("Eccomi");
    const { requestReceipt: _, ...notAsking } = asking;
    expect(encodeClientMessage(conv(), notAsking, UUID, "r3", opts).getChild("request", NS)).toBeUndefined();
  });
});
