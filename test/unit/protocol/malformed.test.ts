// Malformed input at the XML layer: what the stream parser rejects never
// reaches the codecs; what it accepts but is nonsense gets a typed error.
import { Parser, type Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { decodeMessage } from "../../../src/protocol/message.js";
import { el, NS, OPTS } from "./helpers.js";

/** Feeds a stream to @xmpp/xml's Parser (the one @xmpp/component uses) and collects stanzas and errors. */
function stream(text: string): { stanzas: Element[]; errors: string[] } {
  const p = new Parser();
  const stanzas: Element[] = [];
  const errors: string[] = [];
  p.on("element", (e: Element) => stanzas.push(e));
  p.on("error", (e: Error) => errors.push(e.message));
  p.write(`<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams">${text}`);
  return { stanzas, errors };
}

const X = (payload: string) => `<x xmlns="${NS}"><type>chat_text</type><action>chat_text</action><payload>${payload}</payload></x>`;

describe("malformed XML", () => {
  it("a stanza with a mismatched end tag is an XML error, not a stanza", () => {
    const r = stream(`<message from="a@b" to="c@d">${X('{"text":"x"}').replace("</payload>", "</payloadd>")}</message>`);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.stanzas).toEqual([]);
  });

  it("a well-formed stanza from the stream decodes, namespace inherited from the stream", () => {
    const r = stream(`<message from="a@b/c" to="d@e" id="1"><thread>t</thread>${X('{"text":"x"}')}</message>`);
    expect(r.errors).toEqual([]);
    const first = r.stanzas[0];
    if (first === undefined) throw new Error("no stanza");
    expect(decodeMessage(first, OPTS)).toMatchObject({ ok: true, value: { thread: "t", x: { payload: { text: "x" } } } });
  });

  it("elements inside <payload> instead of JSON text → BAD_REQUEST payload", () => {
    const m = el(`<message from="a@b" to="c@d">${X("<text>hi</text>")}</message>`);
    expect(decodeMessage(m, OPTS)).toEqual({ ok: false, error: { code: "BAD_REQUEST", field: "payload", message: "not valid JSON" } });
  });

  it("entities and CDATA in the payload are plain XML text", () => {
    const escaped = el(`<message from="a@b" to="c@d">${X("{&quot;text&quot;:&quot;a &lt;b&gt; &amp; c&quot;}")}</message>`);
    expect(decodeMessage(escaped, OPTS)).toMatchObject({ ok: true, value: { x: { payload: { text: "a <b> & c" } } } });
    const cdata = el(`<message from="a@b" to="c@d">${X('<![CDATA[{"text":"<b>"}]]>')}</message>`);
    expect(decodeMessage(cdata, OPTS)).toMatchObject({ ok: true, value: { x: { payload: { text: "<b>" } } } });
  });

  it("malformed JSON variants → BAD_REQUEST payload", () => {
    for (const bad of ["{", "{'text':'x'}", '{"text":"x",}', "{text:1}", "NaN", '{"a":1}{"b":2}']) {
      const m = el(`<message from="a@b" to="c@d">${X(bad.replace(/&/g, "&amp;").replace(/</g, "&lt;"))}</message>`);
      const r = decodeMessage(m, OPTS);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatchObject({ code: "BAD_REQUEST", field: "payload" });
    }
  });
});
