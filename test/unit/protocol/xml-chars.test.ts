// Characters XML 1.0 forbids (issue 12 item 4): refused in what users send,
// with bad-request naming the field; replaced in what the router sends.
import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import {
  chatText,
  commandResult,
  decodeMessage,
  errorReply,
  mendElement,
  parseDirectoryTree,
  parseThread,
  xmlSafeText,
} from "../../../src/protocol/index.js";
import { chatMessage, CC, MARIO_H, NS, OPTS } from "./helpers.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("inbound: refused with bad-request naming the field", () => {
  it.each([
    ["a \\u0000 escape in the text", String.raw`{"text":"a\u0000b"}`, "payload.text", "U+0000"],
    ["a \\u0001 escape in the text", String.raw`{"text":"a\u0001b"}`, "payload.text", "U+0001"],
    ["a lone \\ud800 escape", String.raw`{"text":"a\ud800b"}`, "payload.text", "U+D800"],
    ["a lone \\udfff escape", String.raw`{"text":"\udfff"}`, "payload.text", "U+DFFF"],
    ["U+FFFE raw in a data field", '{"text":"ok","data":{"appVersion":"1\uFFFE"}}', "payload.data.appVersion", "U+FFFE"],
    ["a \\uffff escape in a list entry", String.raw`{"userList":["1","\uffff"]}`, "payload.userList.1", "U+FFFF"],
    ["NUL in a key", String.raw`{"text":"ok","data":{"a\u0000":1}}`, "payload.data", "U+0000"],
  ])("%s", (_what, payload, field, char) => {
    const r = decodeMessage(chatMessage({ payload }), OPTS);
    expect(r).toEqual({ ok: false, error: { code: "BAD_REQUEST", field, message: expect.stringContaining(char) as unknown } });
  });

  it("keeps what XML allows: tab, newline, CR, DEL, C1, astral pairs, U+FFFD", () => {
    const text = "a\tb\nc\rd\u007fe\u0085f\u{1F600}g\uFFFD\u{10FFFF}";
    const r = decodeMessage(chatMessage({ payload: JSON.stringify({ text }) }), OPTS);
    expect(r.ok && r.value.x.payload["text"]).toBe(text);
  });

  it("a chat title with U+FFFE or U+FFFF is refused on the thread", () => {
    for (const c of ["\uFFFE", "\uFFFF"]) {
      expect(parseThread(`${MARIO_H}|$|${b64(`Sup${c}porto`)}`, "2", CC)).toEqual({
        ok: false,
        error: { code: "BAD_REQUEST", field: "thread", message: expect.stringContaining("chat title holds U+FFF") as unknown },
      });
    }
  });
});

describe("the admin directory: refused naming the field (its names go into vCards and messages)", () => {
  it("a channel name with U+0001", () => {
    const channel = {
      address: "supporto",
      type: "channel",
      mobileIsPublished: true,
      webIsPublished: true,
      info: { name: "Sup\u0001porto" },
      route: { mode: "bot", bot: { url: "https://bot.example/hook" } },
    };
    expect(parseDirectoryTree({ items: [channel] })).toEqual({
      ok: false,
      error: { code: "BAD_REQUEST", field: "items.0.info.name", message: expect.stringContaining("U+0001") as unknown },
    });
  });

  it("an unknown key with a lone surrogate: zod's message quotes it, mended", () => {
    const r = parseDirectoryTree({ items: [], "\ud800": 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toContain("\uFFFD");
  });
});

describe("outbound: replaced by U+FFFD, never passed through", () => {
  const env = { from: "supporto@router.eime.local", to: "u@eime.local", id: "r1", thread: "t\u0001", lang: "it", namespace: NS };

  it("bot text, in body and payload alike, and a chat title", () => {
    const m = chatText({ ...env, text: "x\u0000y\uFFFF", data: { conversationType: "bot", chatTitle: "T\uD800" } });
    // Message text goes through the safe-text rule (issue 13): control characters and non-characters
    // dropped from the body; the payload's last guard (encodeX) replaces them.
    expect(m.getChildText("body")).toBe("xy");
    expect(JSON.parse(m.getChild("x")!.getChildText("payload")!)).toEqual({
      text: "x\uFFFDy\uFFFD",
      data: { conversationType: "bot", chatTitle: "T\uFFFD" },
    });
    expect(m.getChildText("thread")).toBe("t\uFFFD");
  });

  it("the text of an error reply", () => {
    const original = xml("message", { from: "u@eime.local/p", to: "supporto@router.eime.local", id: "1" });
    const reply = errorReply(original, "BAD_REQUEST", "payload.\u0002: bad", { namespace: NS });
    expect(reply.getChild("error")!.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBe("payload.\uFFFD: bad");
  });

  it("a command result's body", () => {
    const request = decodeMessage(chatMessage({ type: "cmd_search_users", payload: '{"userList":["1"]}' }), OPTS);
    if (!request.ok) throw new Error("fixture");
    const m = commandResult(request.value, { status: 1, errorCode: "BAD_REQUEST", errorMessages: ["bad \u0003"] }, { namespace: NS });
    expect(m.getChildText("body")).toContain("bad \uFFFD");
  });

  it("the send path's guard mends attributes and text in place and counts them", () => {
    const el = xml("message", { to: "u@eime.local", id: "a\u0001" }, xml("body", {}, "b\uFFFE"), xml("x", {}, "fine"));
    expect(mendElement(el)).toBe(2);
    expect(el.toString()).toBe('<message to="u@eime.local" id="a\uFFFD"><body>b\uFFFD</body><x>fine</x></message>');
    expect(mendElement(el)).toBe(0);
  });

  it("xmlSafeText returns clean text unchanged", () => {
    const s = "plain \u{1F600}";
    expect(xmlSafeText(s)).toBe(s);
  });
});
