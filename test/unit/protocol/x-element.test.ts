import { describe, expect, it } from "vitest";
import { decodeX, encodeX, X_TYPES } from "../../../src/protocol/x-element.js";
import { chatMessage, el, NS, OPTS } from "./helpers.js";

const fails = (m: ReturnType<typeof chatMessage>, opts: Partial<typeof OPTS> = {}) => {
  const r = decodeX(m, { ...OPTS, ...opts });
  return r.ok ? null : r.error;
};

describe("decodeX (protocol.md §2)", () => {
  it.each(X_TYPES)("accepts %s", (type) => {
    const r = decodeX(chatMessage({ type, payload: "{}" }), OPTS);
    expect(r).toEqual({ ok: true, value: { type, action: type, payload: {}, lang: "it" } });
  });

  it("defaults lang to the configured language; an empty <lang/> too", () => {
    expect(decodeX(chatMessage({ payload: "{}" }), { ...OPTS, defaultLang: "en" })).toMatchObject({ ok: true, value: { lang: "en" } });
    expect(decodeX(chatMessage({ payload: "{}", lang: "" }), OPTS)).toMatchObject({ ok: true, value: { lang: "it" } });
    expect(decodeX(chatMessage({ payload: "{}", lang: "en-GB" }), OPTS)).toMatchObject({ ok: true, value: { lang: "en-GB" } });
    expect(decodeX(chatMessage({ payload: "{}", lang: "zh-Hant-TW" }), OPTS)).toMatchObject({ ok: true, value: { lang: "zh-Hant-TW" } });
  });

  it("does not depend on child order, whitespace, prefixes or foreign children", () => {
    const m = el(
      `<message xmlns="jabber:client" xml:lang="en" from="a@b/c" to="d@e"><e:x xmlns:e="${NS}">
        <e:lang> en </e:lang>
        <foo xmlns="urn:other"/>
        <e:payload> {"text":"hi"} </e:payload>
        <e:action>chat_text</e:action>
        <e:type> chat_text </e:type>
      </e:x></message>`,
    );
    expect(decodeX(m, OPTS)).toEqual({ ok: true, value: { type: "chat_text", action: "chat_text", payload: { text: "hi" }, lang: "en" } });
  });

  it("ignores x elements of other namespaces", () => {
    const m = el(`<message from="a@b" to="c@d"><x xmlns="jabber:x:oob"><url>http://x</url></x></message>`);
    expect(fails(m)).toEqual({ code: "BAD_REQUEST", field: "x", message: `no <x xmlns="${NS}"> element` });
  });

  it("uses the configured namespace", () => {
    const m = el(
      `<message from="a@b" to="c@d"><x xmlns="urn:acme:x:1"><type>chat_text</type><action>chat_text</action><payload>{}</payload></x></message>`,
    );
    expect(decodeX(m, { ...OPTS, namespace: "urn:acme:x:1" }).ok).toBe(true);
    expect(fails(m)?.field).toBe("x");
  });

  it.each([
    ["unknown type", chatMessage({ type: "chat_video", payload: "{}" }), "BAD_REQUEST", "type"],
    ["mismatched action", chatMessage({ type: "chat_text", action: "chat_notice", payload: "{}" }), "BAD_REQUEST", "action"],
    ["malformed JSON", chatMessage({ payload: '{"text":' }), "BAD_REQUEST", "payload"],
    ["JSON array", chatMessage({ payload: "[1,2]" }), "BAD_REQUEST", "payload"],
    ["JSON string", chatMessage({ payload: '"text"' }), "BAD_REQUEST", "payload"],
    ["JSON null", chatMessage({ payload: "null" }), "BAD_REQUEST", "payload"],
    ["empty payload", chatMessage({ payload: "" }), "BAD_REQUEST", "payload"],
    ["a lang that is not BCP-47", chatMessage({ payload: "{}", lang: "it_IT" }), "BAD_REQUEST", "lang"],
    ["a lang with a space", chatMessage({ payload: "{}", lang: "en us" }), "BAD_REQUEST", "lang"],
    ["a one-letter lang", chatMessage({ payload: "{}", lang: "e" }), "BAD_REQUEST", "lang"],
  ])("%s → %s on %s", (_what, m, code, field) => {
    expect(fails(m)).toMatchObject({ code, field });
  });

  it("missing or repeated children name the field", () => {
    const x = (inner: string) => el(`<message from="a@b" to="c@d"><x xmlns="${NS}">${inner}</x></message>`);
    expect(fails(x("<action>chat_text</action><payload>{}</payload>"))).toEqual({ code: "BAD_REQUEST", field: "type", message: "missing" });
    expect(fails(x("<type>chat_text</type><payload>{}</payload>"))).toEqual({ code: "BAD_REQUEST", field: "action", message: "missing" });
    expect(fails(x("<type>chat_text</type><action>chat_text</action>"))).toEqual({
      code: "BAD_REQUEST",
      field: "payload",
      message: "missing",
    });
    expect(fails(x("<type>chat_text</type><type>chat_text</type><action>chat_text</action><payload>{}</payload>"))).toMatchObject({
      field: "type",
    });
    const two = el(`<message from="a@b" to="c@d"><x xmlns="${NS}"/><x xmlns="${NS}"/></message>`);
    expect(fails(two)).toEqual({ code: "BAD_REQUEST", field: "x", message: "more than one x element" });
  });

  it("a payload over maxPayloadBytes (UTF-8 bytes) is PAYLOAD_TOO_LARGE", () => {
    const exactly = `{"text":"${"a".repeat(65536 - 11)}"}`;
    expect(Buffer.byteLength(exactly)).toBe(65536);
    expect(decodeX(chatMessage({ payload: exactly }), OPTS).ok).toBe(true);
    const over = `{"text":"${"a".repeat(65537 - 11)}"}`;
    expect(Buffer.byteLength(over)).toBe(65537);
    expect(fails(chatMessage({ payload: over }))).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      field: "payload",
      message: "65537 bytes, at most 65536 allowed",
    });
    // Bytes, not characters: 21,846 three-byte characters are 65,538 bytes.
    const wide = `{"t":"${"€".repeat(21846)}"}`;
    expect(fails(chatMessage({ payload: wide }))?.code).toBe("PAYLOAD_TOO_LARGE");
  });
});

describe("encodeX", () => {
  it("writes type, action = type, compact JSON payload and lang", () => {
    const x = encodeX({ type: "chat_notice", payload: { code: "GENESYS#0002", text: 'a<b & "c"' }, lang: "en" }, NS);
    expect(x.toString()).toBe(
      `<x xmlns="urn:eime:x:0"><type>chat_notice</type><action>chat_notice</action>` +
        `<payload>{"code":"GENESYS#0002","text":"a&lt;b &amp; \\"c\\""}</payload><lang>en</lang></x>`,
    );
  });

  it("decodes back to the same value", () => {
    const payload = { text: "ciao <3 & grazie", data: { n: 1, list: [true, null, "x"] } };
    const m = el(`<message from="a@b" to="c@d">${encodeX({ type: "chat_text", payload, lang: "it-IT" }, NS).toString()}</message>`);
    expect(decodeX(m, OPTS)).toEqual({ ok: true, value: { type: "chat_text", action: "chat_text", payload, lang: "it-IT" } });
  });
});
