import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { buildChatMessage, decodeMessage } from "../../../src/protocol/message.js";
import { encodeX } from "../../../src/protocol/x-element.js";
import { el, NS, OPTS } from "./helpers.js";

const X = `<x xmlns="${NS}"><type>chat_text</type><action>chat_text</action><payload>{"text":"ciao"}</payload></x>`;

describe("decodeMessage (protocol.md §2)", () => {
  it("reads envelope, thread, body, origin-id, in any child order, with server additions", () => {
    const m = el(
      `<message xmlns="jabber:client" xml:lang="en" to="supporto@router.eime.local" id="m1" type="chat" from="393471111111@eime.local/ios-2">` +
        `<stanza-id xmlns="urn:xmpp:sid:0" by="eime.local" id="server-assigned"/>` +
        `<body>ciao</body>${X}<origin-id xmlns="urn:xmpp:sid:0" id="o-42"/>` +
        `<delay xmlns="urn:xmpp:delay" stamp="2024-01-01T00:00:00Z"/><thread> 393471111111 </thread></message>`,
    );
    expect(decodeMessage(m, OPTS)).toEqual({
      ok: true,
      value: {
        id: "m1",
        from: "393471111111@eime.local/ios-2",
        to: "supporto@router.eime.local",
        messageType: "chat",
        thread: "393471111111",
        body: "ciao",
        originId: "o-42",
        dedupeKey: "o-42",
        x: { type: "chat_text", action: "chat_text", payload: { text: "ciao" }, lang: "it" },
      },
    });
  });

  it("the duplicate key is the stanza id without origin-id, none without both", () => {
    const withId = decodeMessage(el(`<message from="a@b" to="c@d" id="i1">${X}</message>`), OPTS);
    expect(withId).toMatchObject({ ok: true, value: { id: "i1", dedupeKey: "i1" } });
    const none = decodeMessage(el(`<message from="a@b" to="c@d">${X}</message>`), OPTS);
    expect(none.ok).toBe(true);
    if (none.ok) {
      expect(none.value.dedupeKey).toBeUndefined();
      expect(none.value.id).toBeUndefined();
      expect(none.value.thread).toBeUndefined();
      expect(none.value.body).toBeUndefined();
      expect(none.value.messageType).toBeUndefined();
    }
  });

  it("picks the body without xml:lang, or the one in the stanza's language", () => {
    const m = el(
      `<message from="a@b" to="c@d" xml:lang="it"><body xml:lang="en">hello</body><body xml:lang="it">ciao</body>${X}</message>`,
    );
    expect(decodeMessage(m, OPTS)).toMatchObject({ ok: true, value: { body: "ciao" } });
    const n = el(`<message from="a@b" to="c@d"><body xml:lang="en">hello</body><body>default</body>${X}</message>`);
    expect(decodeMessage(n, OPTS)).toMatchObject({ ok: true, value: { body: "default" } });
  });

  it("a thread or body in another namespace is not the stanza's", () => {
    const m = el(`<message xmlns="jabber:client" from="a@b" to="c@d"><thread xmlns="urn:other">x</thread>${X}</message>`);
    expect(decodeMessage(m, OPTS)).toMatchObject({ ok: true });
    const r = decodeMessage(m, OPTS);
    if (r.ok) expect(r.value.thread).toBeUndefined();
  });

  it.each([
    ["not a message", "stanza", `<iq from="a@b" to="c@d" type="get">${X}</iq>`],
    ["no from", "from", `<message to="c@d">${X}</message>`],
    ["no to", "to", `<message from="a@b">${X}</message>`],
    ["two threads", "thread", `<message from="a@b" to="c@d"><thread>1</thread><thread>2</thread>${X}</message>`],
    ["an origin-id without id", "origin-id", `<message from="a@b" to="c@d"><origin-id xmlns="urn:xmpp:sid:0"/>${X}</message>`],
    ["an overlong id", "id", `<message from="a@b" to="c@d" id="${"i".repeat(257)}">${X}</message>`],
    ["no x", "x", `<message from="a@b" to="c@d"><body>hi</body></message>`],
    [
      "a bad x",
      "action",
      `<message from="a@b" to="c@d"><x xmlns="${NS}"><type>chat_text</type><action>cmd_search_users</action><payload>{}</payload></x></message>`,
    ],
  ])("%s → BAD_REQUEST on %s", (_what, field, xmlText) => {
    const r = decodeMessage(el(xmlText), OPTS);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("BAD_REQUEST");
      expect(r.error.field).toBe(field);
    }
  });
});

describe("buildChatMessage", () => {
  it("builds the §2 shape with a body fallback, thread first, extras last", () => {
    const m = buildChatMessage({
      from: "supporto@router.eime.local",
      to: "393471111111@eime.local",
      id: "o1",
      thread: "t",
      x: encodeX({ type: "chat_text", payload: { text: "hi" }, lang: "en" }, NS),
      body: "hi",
      extra: [xml("active", { xmlns: "http://jabber.org/protocol/chatstates" })],
    });
    expect(m.toString()).toBe(
      `<message from="supporto@router.eime.local" to="393471111111@eime.local" type="chat" id="o1"><thread>t</thread>` +
        `<x xmlns="urn:eime:x:0"><type>chat_text</type><action>chat_text</action><payload>{"text":"hi"}</payload><lang>en</lang></x>` +
        `<body>hi</body><active xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
  });

  it("type normal, no thread", () => {
    const m = buildChatMessage({
      from: "a",
      to: "b",
      id: "1",
      type: "normal",
      x: encodeX({ type: "chat_text", payload: {}, lang: "it" }, NS),
      body: "",
    });
    expect(m.toString()).toBe(
      `<message from="a" to="b" type="normal" id="1"><x xmlns="urn:eime:x:0"><type>chat_text</type><action>chat_text</action><payload>{}</payload><lang>it</lang></x><body/></message>`,
    );
  });

  it("round-trips through decodeMessage", () => {
    const m = buildChatMessage({
      from: "a@b/r",
      to: "c@d",
      id: "x1",
      thread: "T",
      x: encodeX({ type: "chat_text", payload: { text: "é & <" }, lang: "it" }, NS),
      body: "é & <",
    });
    expect(decodeMessage(el(m.toString()), OPTS)).toEqual({
      ok: true,
      value: {
        id: "x1",
        from: "a@b/r",
        to: "c@d",
        messageType: "chat",
        thread: "T",
        body: "é & <",
        dedupeKey: "x1",
        x: { type: "chat_text", action: "chat_text", payload: { text: "é & <" }, lang: "it" },
      },
    });
  });
});
