// A reply is serialised once (issue 14): the stored XML is what is written.
import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { forgetSerialized, parseStored, serializeOnce } from "../../../src/protocol/serialized.js";
import { mendElement } from "../../../src/protocol/xml-chars.js";

const reply = () => xml("message", { from: "supporto@router.localhost", to: "u@localhost", id: "r1" }, xml("body", {}, "Ciao"));

describe("serializeOnce", () => {
  it("gives the element's XML, and toString() gives that same text without making it again", () => {
    const el = reply();
    const text = serializeOnce(el);
    expect(text).toBe('<message from="supporto@router.localhost" to="u@localhost" id="r1"><body>Ciao</body></message>');
    el.getChild("body")!.children[0] = "changed behind its back";
    expect(el.toString()).toBe(text);
  });

  it("after forgetSerialized the element is serialised as it is now", () => {
    const el = reply();
    serializeOnce(el);
    el.getChild("body")!.children[0] = "a\u0001b";
    expect(mendElement(el)).toBe(1);
    forgetSerialized(el);
    expect(el.toString()).toContain("<body>a\uFFFDb</body>");
  });

  it("does not show in comparisons of elements", () => {
    const el = reply();
    serializeOnce(el);
    expect(el).toEqual(reply());
  });
});

describe("parseStored", () => {
  it("reads the stored XML and writes exactly it again", () => {
    const stored = `<message to='u@localhost' from="supporto@router.localhost" id="r1"><body>Ciao &amp; addio</body></message>`;
    const el = parseStored(stored);
    expect(el.getChildText("body")).toBe("Ciao & addio");
    expect(el.toString()).toBe(stored);
  });
});
