// Kept results (issue 14): the same thread, JID or channel is parsed once, and
// the memory this takes is bounded.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { memoize } from "../../../src/protocol/memo.js";
import { findForbiddenInJson, jsonTextIsXmlSafe } from "../../../src/protocol/xml-chars.js";
import { parseThread } from "../../../src/protocol/index.js";

describe("memoize", () => {
  it("computes once per argument and gives the same result back", () => {
    let calls = 0;
    const f = memoize((s: string) => ({ s, n: ++calls }));
    const a = f("x");
    expect(f("x")).toBe(a);
    expect(calls).toBe(1);
    expect(f("y").n).toBe(2);
  });

  it("keeps undefined results too", () => {
    let calls = 0;
    const f = memoize(() => void calls++);
    f("x");
    f("x");
    expect(calls).toBe(1);
  });

  it("holds at most max entries, dropping the oldest first", () => {
    let calls = 0;
    const f = memoize((s: string) => `${s}${++calls}`, 2);
    f("a");
    f("b");
    f("c"); // drops a
    expect(calls).toBe(3);
    f("b");
    f("c");
    expect(calls).toBe(3);
    f("a");
    expect(calls).toBe(4);
  });

  it("does not keep arguments longer than maxKeyLength", () => {
    let calls = 0;
    const f = memoize(() => ++calls, 10, 3);
    f("long");
    f("long");
    expect(calls).toBe(2);
  });
});

describe("parseThread with kept results", () => {
  it("a NUL in the thread cannot shift the key apart", () => {
    const r = parseThread("393471111111\u00002", "1", "39");
    expect(r.ok).toBe(false);
    expect(parseThread("393471111111", "1", "39")).toEqual({ ok: true, value: { form: "v1", msisdn: "393471111111" } });
  });

  it("the same thread under another apiVersion or country code is parsed for it", () => {
    expect(parseThread("3471111111", "1", "39")).toEqual({ ok: true, value: { form: "v1", msisdn: "393471111111" } });
    expect(parseThread("3471111111", "1", "41")).toEqual({ ok: true, value: { form: "v1", msisdn: "413471111111" } });
    expect(parseThread("3471111111", "2", "39").ok).toBe(false);
  });
});

describe("jsonTextIsXmlSafe", () => {
  it("never says safe for a text whose parsed value holds a forbidden character", () => {
    const json = fc.oneof(
      fc.json(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: "binary" }).map((s) => JSON.stringify({ [s]: s, a: [s] })),
    );
    fc.assert(
      fc.property(json, (text) => {
        if (jsonTextIsXmlSafe(text)) expect(findForbiddenInJson(JSON.parse(text))).toBeUndefined();
      }),
      { numRuns: 5000 },
    );
  });

  it.each([String.raw`{"t":"\u0001"}`, String.raw`{"t":"\b"}`, String.raw`{"t":"\f"}`, '{"t":"\uFFFE"}', String.raw`{"t":"\ud800"}`])(
    "looks closer at %s",
    (text) => expect(jsonTextIsXmlSafe(text)).toBe(false),
  );

  it("a clean text is safe", () => expect(jsonTextIsXmlSafe('{"text":"Buongiorno","data":{"os":"android","n":[1,2]}}')).toBe(true));
});
