// protocol.md section 9: plain XMPP clients — decoding their messages and
// command words, rendering what the router sends them, XEP-0050 builders.
import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import type { Conversation } from "../../../src/core/model.js";
import { splitForPlainClient } from "../../../src/core/plain-messages.js";
import { commandEvent } from "../../../src/xmpp/plain-inbound.js";
import {
  channelCommands,
  commandCompleted,
  commandItems,
  commandWordFor,
  decodePlainMessage,
  isPlainMessage,
  parsePlainCommand,
  plainEnvelope,
  plainNoticeText,
  renderPlain,
} from "../../../src/protocol/index.js";
import { encodeClientMessage } from "../../../src/router/client-encoder.js";

const NS = "urn:eime:x:0";
const WORDS = {
  it: { operator: "operatore", close: "chiudi", reset: "ricomincia", vote: "vota", callback: "richiamami" },
  en: { operator: "operator", close: "close", reset: "restart", vote: "vote", callback: "callback" },
};
const msg = (...children: ReturnType<typeof xml>[]) => xml("message", { from: "a@eime.local/x", to: "supporto@r", id: "m1" }, ...children);

describe("decoding a plain client's message", () => {
  it("is plain when it has a body and no x element", () => {
    expect(isPlainMessage(msg(xml("body", {}, "ciao")), NS)).toBe(true);
    expect(isPlainMessage(msg(xml("body", {}, "ciao"), xml("x", { xmlns: NS })), NS)).toBe(false);
    expect(isPlainMessage(msg(xml("composing", { xmlns: "http://jabber.org/protocol/chatstates" })), NS)).toBe(false);
  });

  it("takes the trimmed body, thread, xml:lang, origin-id and the receipt request", () => {
    const el = msg(
      xml("body", {}, "  salve \n"),
      xml("thread", {}, "t-1"),
      xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: "o-1" }),
      xml("request", { xmlns: "urn:xmpp:receipts" }),
    );
    el.attrs["xml:lang"] = "en";
    expect(decodePlainMessage(el, { maxTextLength: 10 })).toEqual({
      ok: true,
      value: { id: "m1", text: "salve", thread: "t-1", lang: "en", dedupeKey: "o-1", receiptRequested: true },
    });
  });

  it("refuses an empty body and one over the limit, naming the body", () => {
    expect(decodePlainMessage(msg(xml("body", {}, "   ")), { maxTextLength: 10 })).toEqual({
      ok: false,
      error: { code: "BAD_REQUEST", field: "body", message: "the message is empty" },
    });
    expect(decodePlainMessage(msg(xml("body", {}, "x".repeat(11))), { maxTextLength: 10 })).toMatchObject({
      ok: false,
      error: { code: "PAYLOAD_TOO_LARGE", field: "body" },
    });
  });

  it("reads the command words of any configured language, alone or after !, in any case", () => {
    expect(parsePlainCommand("Operatore", WORDS)).toBe("operator");
    expect(parsePlainCommand("!chiudi", WORDS)).toBe("close");
    expect(parsePlainCommand(" restart ", WORDS)).toBe("reset");
    expect(parsePlainCommand("vote", WORDS)).toBe("vote");
    expect(parsePlainCommand("/chiudi", WORDS)).toBeNull();
    expect(parsePlainCommand("chiudi pure", WORDS)).toBeNull();
    expect(parsePlainCommand("!", WORDS)).toBeNull();
  });

  it('reads "callback" in both languages, alone or after !, and maps it to the EiMe acceptance', () => {
    expect(parsePlainCommand("Richiamami", WORDS)).toBe("callback");
    expect(parsePlainCommand("!richiamami", WORDS)).toBe("callback");
    expect(parsePlainCommand("callback", WORDS)).toBe("callback");
    expect(parsePlainCommand("! CALLBACK", WORDS)).toBe("callback");
    expect(parsePlainCommand("richiamami domani", WORDS)).toBeNull();
    // The same core event as the EiMe client's chat_notice, with no desiredTime: as soon as possible.
    expect(commandEvent("callback", "m-1")).toEqual({ type: "user_notice", code: "ROUTER_CALLBACK_REQUEST#0001", messageId: "m-1" });
  });

  it("a language configured without a callback word: the others' words still work and are the ones named", () => {
    const older = { ...WORDS, de: { operator: "agent", close: "ende", reset: "neu", vote: "bewerten" } };
    expect(parsePlainCommand("richiamami", older)).toBe("callback");
    expect(parsePlainCommand("agent", older)).toBe("operator");
    expect(commandWordFor(older, "callback", "de-AT", "it")).toBe("richiamami");
    expect(commandWordFor(older, "callback", "en-GB", "it")).toBe("callback");
    expect(commandWordFor(older, "close", "de", "it")).toBe("ende");
    expect(commandWordFor({ de: older.de }, "callback", "de", "de")).toBeUndefined();
  });
});

describe("rendering for a plain client", () => {
  const env = { from: "supporto@r", to: "a@eime.local", id: "o1", thread: "t-1", lang: "it", timeZone: "Europe/Rome", closeWord: "chiudi" };

  it("text in the body, the thread echoed, active chat state, no x element", () => {
    expect(renderPlain(env, { kind: "text", text: "Ciao", conversationType: "bot" }).toString()).toBe(
      `<message from="supporto@r" to="a@eime.local" type="chat" id="o1"><thread>t-1</thread><body>Ciao</body>` +
        `<active xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
  });

  it("buttons as numbered lines and XEP-0439 quick responses whose value is the number", () => {
    const el = renderPlain(
      { ...env, thread: null },
      {
        kind: "rich",
        text: "Scegli",
        buttons: [
          { title: "Orari", payload: "/orari" },
          { title: "Operatore", payload: "/op" },
        ],
      },
    );
    expect(el.getChild("thread")).toBeUndefined();
    expect(el.getChildText("body")).toBe("Scegli\n1. Orari\n2. Operatore");
    expect(el.getChildren("response", "urn:xmpp:tmp:quick-response").map((r) => r.attrs)).toEqual([
      { xmlns: "urn:xmpp:tmp:quick-response", value: "1", label: "Orari" },
      { xmlns: "urn:xmpp:tmp:quick-response", value: "2", label: "Operatore" },
    ]);
  });

  it("an image as XEP-0066 OOB with the URL alone as the body", () => {
    const el = renderPlain(env, { kind: "rich", text: "", image: "https://i.example/a.png" });
    expect(el.getChildText("body")).toBe("https://i.example/a.png");
    expect(el.getChild("x", "jabber:x:oob")?.getChildText("url")).toBe("https://i.example/a.png");
  });

  it("a notice as its localised sentence, no code; queue notices say how to close", () => {
    const closed = renderPlain(env, { kind: "notice", code: "GENESYS#0004" }).getChildText("body");
    expect(closed).toBe("Hai chiuso la conversazione con l'operatore.");
    const queued = renderPlain({ ...env, lang: "en", closeWord: "close" }, { kind: "notice", code: "ROUTER_QUEUED#0001" });
    expect(queued.getChildText("body")).toMatch(/\nWrite "close" to end the conversation with the operator\.$/);
    expect(queued.toString()).not.toContain("ROUTER_QUEUED");
  });

  it("a full queue that offers a callback names the callback word; one without an offer does not", () => {
    const offered = { callbackOffered: true };
    expect(plainNoticeText("ROUTER_QUEUE_FULL#0001", offered, { ...env, callbackWord: "richiamami" })).toMatch(
      /richiamato\.\nScrivi «richiamami» per essere richiamato appena possibile\.$/,
    );
    expect(plainNoticeText("ROUTER_QUEUE_FULL#0001", offered, { ...env, lang: "en-GB", callbackWord: "callback" })).toMatch(
      /\nWrite "callback" to be called back as soon as possible\.$/,
    );
    const notOffered = plainNoticeText("ROUTER_QUEUE_FULL#0001", { callbackOffered: false }, { ...env, callbackWord: "richiamami" });
    expect(notOffered).not.toContain("richiamami");
    expect(plainNoticeText("ROUTER_QUEUED#0001", {}, { ...env, callbackWord: "richiamami" })).not.toContain("richiamami");
  });

  it("the encoder tells a plain conversation the callback word of its language", () => {
    const conv = {
      channel: "supporto",
      addressing: { kind: "channel" },
      userJid: "a@eime.local",
      clientThread: null,
      lang: "en",
      plain: true,
    } as unknown as Conversation;
    const notice = { kind: "notice", code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: true } } as const;
    const el = encodeClientMessage(conv, notice, null, "i", { domain: "r", namespace: NS, timeZone: "UTC", plainCommands: WORDS });
    expect(el.getChildText("body")).toMatch(/\nWrite "callback" to be called back as soon as possible\.$/);
  });

  it("operator typing as a standalone XEP-0085 notification", () => {
    expect(renderPlain(env, { kind: "chat_state", state: "composing" }).toString()).toBe(
      `<message from="supporto@r" to="a@eime.local" type="chat" id="o1"><thread>t-1</thread>` +
        `<composing xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
  });

  it("text and image of one bot reply become two messages, so the image shows inline", () => {
    expect(splitForPlainClient([{ kind: "rich", text: "La mappa", image: "u" }])).toEqual([
      { kind: "rich", text: "La mappa" },
      { kind: "rich", text: "", image: "u" },
    ]);
    expect(splitForPlainClient([{ kind: "rich", text: "", image: "u" }])).toEqual([{ kind: "rich", text: "", image: "u" }]);
  });

  it("a plain conversation is encoded from the JID the client wrote to (channel or server address)", () => {
    const c = {
      channel: "supporto",
      addressing: { kind: "server", serverAddress: "bot-management" },
      userJid: "a@eime.local",
      clientThread: null,
      lang: "it",
    } as const;
    expect(plainEnvelope(c, "i", { domain: "r", timeZone: "UTC" })).toMatchObject({ from: "bot-management@r", thread: null });
    const conv = { ...c, addressing: { kind: "channel" }, plain: true, clientThread: "t" } as unknown as Conversation;
    const el = encodeClientMessage(conv, { kind: "text", text: "x", conversationType: "operator" }, "uuid", "i", {
      domain: "r",
      namespace: NS,
      timeZone: "UTC",
    });
    expect(el.toString()).toBe(
      `<message from="supporto@r" to="a@eime.local" type="chat" id="i"><thread>t</thread><body>x</body>` +
        `<active xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
  });
});

describe("XEP-0050 builders", () => {
  it("lists the four commands of a channel JID, named in the language; callback only where the route offers one", () => {
    const items = commandItems("supporto@r", "en", channelCommands({ route: { mode: "bot", bot: { url: "http://b" } } }));
    expect(items.attrs.node).toBe("http://jabber.org/protocol/commands");
    expect(items.getChildren("item").map((i) => [String(i.attrs.node), String(i.attrs.name)])).toEqual([
      ["operator", "Talk to an operator"],
      ["close", "End the conversation with the operator"],
      ["reset", "Start again with the assistant"],
      ["vote", "Rate the last conversation with the operator"],
    ]);
    const route = { mode: "bot+operator", bot: { url: "http://b" }, genesys: { serviceName: "s" }, callback: "bot" } as const;
    const withCallback = commandItems("supporto@r", "it", channelCommands({ route }));
    expect(withCallback.getChildren("item").map((i) => [String(i.attrs.node), String(i.attrs.name)])).toContainEqual([
      "callback",
      "Richiamami (quando la coda è piena)",
    ]);
    expect(withCallback.getChildren("item")).toHaveLength(5);
  });

  it("completes at once, with an info note or the refusal as an error note", () => {
    expect(commandCompleted("close", "s1", "it").toString()).toBe(
      `<command xmlns="http://jabber.org/protocol/commands" node="close" sessionid="s1" status="completed">` +
        `<note type="info">Fatto: la risposta arriva nella chat.</note></command>`,
    );
    expect(commandCompleted("close", "s1", "it", "nothing to close").getChild("note")?.attrs.type).toBe("error");
  });
});
