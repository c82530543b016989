// Property tests (fast-check): round trips, and "never throws on arbitrary
// input, returns a typed error" for every decoder.
import xml, { type Element } from "@xmpp/xml";
import fc from "fast-check";
import { parse } from "ltx";
import { describe, expect, it } from "vitest";
import type { ApiVersion } from "../../../src/core/model.js";
import { ERROR_CODES } from "../../../src/errors.js";
import { decodeMessage } from "../../../src/protocol/message.js";
import { decodeBase64Strict, encodeBase64, msisdnHash, normalizeMsisdn } from "../../../src/protocol/msisdn.js";
import { NS_SID } from "../../../src/protocol/ns.js";
import { decodePayload } from "../../../src/protocol/payloads.js";
import type { Result } from "../../../src/protocol/result.js";
import { buildRouterThread, checkIdentity, checkRouteKey, parseThread, routeKeyOf } from "../../../src/protocol/thread.js";
import { decodeX, encodeX, X_TYPES } from "../../../src/protocol/x-element.js";
import { isXmlSafe, xmlSafeJson } from "../../../src/protocol/xml-chars.js";
import { CC, EX_H, EX_T, LIMITS, NS, OPTS, R_SUPPORTO, SEED_UUID } from "./helpers.js";

const RUNS = { numRuns: 300 };
const anyString = fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }));
const apiVersion = fc.constantFrom<ApiVersion>("1", "2", "2.1");
const langTag = fc.stringMatching(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$/).filter((s) => s.length <= 64);
const msisdn = fc.stringMatching(/^[1-9]\d{10,14}$/);
const address = fc.stringMatching(/^[a-z0-9_.-]{1,64}$/);
const CONTROL = /\p{Cc}/u;
const title = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 80 })
  .filter((t) => t.trim() !== "" && !CONTROL.test(t) && isXmlSafe(t) && [...t].length <= 256);

/** A failed Result must carry a registered code and name a field. */
function typed<T>(r: Result<T>): boolean {
  return r.ok || (ERROR_CODES.includes(r.error.code) && r.error.field.length > 0 && typeof r.error.message === "string");
}

describe("round trips", () => {
  it("x element: encodeX → XML text → parse → decodeX (characters XML forbids come back as U+FFFD)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...X_TYPES),
        fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue({ stringUnit: "binary" })),
        langTag,
        (type, payload, lang) => {
          const wire = xml("message", { from: "a@b/c", to: "d@e" }, encodeX({ type, payload, lang }, NS)).toString();
          const r = decodeX(parse(wire), OPTS);
          expect(r).toEqual({
            ok: true,
            value: { type, action: type, payload: JSON.parse(JSON.stringify(xmlSafeJson(payload))) as unknown, lang },
          });
        },
      ),
      RUNS,
    );
  });

  it("base64: decodeBase64Strict(encodeBase64(s)) = s for well-formed strings", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        expect(decodeBase64Strict(encodeBase64(s))).toBe(s);
      }),
      RUNS,
    );
  });

  it("threads, every apiVersion: buildRouterThread → parseThread → checkIdentity and checkRouteKey pass", () => {
    fc.assert(
      fc.property(apiVersion, msisdn, address, title, fc.option(fc.uuid(), { nil: undefined }), (v, m, channel, t, uuid) => {
        const thread = buildRouterThread({
          apiVersion: v,
          msisdn: m,
          channelAddress: channel,
          chatTitle: t,
          ...(uuid === undefined ? {} : { episodeUuid: uuid }),
        });
        const parsed = parseThread(thread, v, CC);
        if (v === "1") {
          expect(parsed).toEqual({ ok: true, value: { form: "v1", msisdn: m } });
        } else {
          const value: Record<string, unknown> = { form: "router", hash: msisdnHash(m), title: t, routeKey: routeKeyOf(channel) };
          if (v === "2.1" && uuid !== undefined) value["episodeUuid"] = uuid;
          expect(parsed).toEqual({ ok: true, value });
        }
        if (!parsed.ok) return;
        expect(checkIdentity(parsed.value, m, CC)).toEqual({ ok: true, value: { msisdn: m } });
        expect(checkRouteKey(parsed.value, channel).ok).toBe(true);
      }),
      RUNS,
    );
  });

  it("client threads H|$|T parse back to hash and title", () => {
    fc.assert(
      fc.property(msisdn, fc.option(title, { nil: undefined }), (m, t) => {
        const h = encodeBase64(msisdnHash(m));
        const thread = t === undefined ? h : `${h}|$|${encodeBase64(t)}`;
        expect(parseThread(thread, "2", CC)).toEqual({
          ok: true,
          value: t === undefined ? { form: "client", hash: msisdnHash(m) } : { form: "client", hash: msisdnHash(m), title: t },
        });
      }),
      RUNS,
    );
  });

  it("MSISDN normalisation is idempotent and yields 11..15 digits", () => {
    const raw = fc.oneof(anyString, fc.stringMatching(/^[+0 ()\d.-]{0,25}$/), fc.stringMatching(/^(\+|00)?\d{1,16}$/));
    fc.assert(
      fc.property(raw, fc.constantFrom("39", "1", "44", "7", "352"), (r, cc) => {
        const n = normalizeMsisdn(r, cc);
        if (n === null) return;
        expect(n).toMatch(/^\d{11,15}$/);
        expect(normalizeMsisdn(n, cc)).toBe(n);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("never throws on arbitrary input, returns a typed error", () => {
  it("normalizeMsisdn", () => {
    fc.assert(
      fc.property(anyString, anyString, (r, cc) => {
        const n = normalizeMsisdn(r, cc);
        expect(n === null || /^\d+$/.test(n)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("parseThread, on arbitrary strings and on shuffled thread pieces", () => {
    const pieces = fc
      .array(fc.constantFrom(EX_H, "|$|", ":", "_", R_SUPPORTO, EX_T, SEED_UUID, "=", "A", "é", "+", "00", "393471111111", "|", "$"), {
        maxLength: 8,
      })
      .map((p) => p.join(""));
    fc.assert(
      fc.property(fc.oneof(anyString, pieces), apiVersion, (t, v) => {
        const r = parseThread(t, v, CC);
        expect(typed(r)).toBe(true);
        if (!r.ok) expect(r.error).toMatchObject({ code: "BAD_REQUEST", field: "thread" });
        else expect(typed(checkIdentity(r.value, "393471111111", CC))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodePayload, on arbitrary and on nearly valid payloads", () => {
    const value = fc.jsonValue({ maxDepth: 3 });
    const nearly = fc.record(
      {
        text: fc.oneof(value, fc.string()),
        code: fc.oneof(value, fc.constantFrom("GENESYS_CLOSE_BY_USER#0001", "")),
        data: fc.oneof(
          value,
          fc.record(
            {
              apiVersion: fc.oneof(value, fc.constantFrom(1, 2, 2.1, "1", "2", "2.1")),
              os: fc.oneof(value, fc.constantFrom("web", "ios")),
              token: value,
            },
            { requiredKeys: [] },
          ),
        ),
        channelUsers: fc.oneof(value, fc.array(fc.record({ name: value, address: fc.oneof(value, fc.string()) }, { requiredKeys: [] }))),
        userList: fc.oneof(value, fc.array(fc.oneof(fc.string(), value))),
        hashed: value,
      },
      { requiredKeys: [] },
    );
    const payload = fc.oneof(fc.dictionary(fc.string(), value), nearly) as fc.Arbitrary<Record<string, unknown>>;
    fc.assert(
      fc.property(fc.constantFrom(...X_TYPES), payload, (type, p) => {
        const r = decodePayload({ type, action: type, payload: p, lang: "it" }, LIMITS);
        expect(typed(r)).toBe(true);
        if (!r.ok) {
          expect(["BAD_REQUEST", "PAYLOAD_TOO_LARGE", "UNSUPPORTED_API_VERSION"]).toContain(r.error.code);
          expect(r.error.field.startsWith("payload")).toBe(true);
        } else {
          expect(r.value.type).toBe(type);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("decodeMessage, with arbitrary strings as payload, thread, type, action, lang and attributes", () => {
    const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({
          from: maybe(anyString),
          to: maybe(anyString),
          id: maybe(anyString),
          mtype: maybe(anyString),
          thread: maybe(anyString),
          type: maybe(fc.oneof(anyString, fc.constantFrom(...X_TYPES))),
          action: maybe(fc.oneof(anyString, fc.constantFrom(...X_TYPES))),
          payload: maybe(
            fc.oneof(
              anyString,
              fc.jsonValue().map((v) => JSON.stringify(v)),
            ),
          ),
          lang: maybe(anyString),
          origin: maybe(anyString),
        }),
        (f) => {
          const attrs: Record<string, string> = {};
          if (f.from !== undefined) attrs["from"] = f.from;
          if (f.to !== undefined) attrs["to"] = f.to;
          if (f.id !== undefined) attrs["id"] = f.id;
          if (f.mtype !== undefined) attrs["type"] = f.mtype;
          const x: Element[] = [];
          if (f.type !== undefined) x.push(xml("type", {}, f.type));
          if (f.action !== undefined) x.push(xml("action", {}, f.action));
          if (f.payload !== undefined) x.push(xml("payload", {}, f.payload));
          if (f.lang !== undefined) x.push(xml("lang", {}, f.lang));
          const children: Element[] = [xml("x", { xmlns: NS }, ...x)];
          if (f.thread !== undefined) children.push(xml("thread", {}, f.thread));
          if (f.origin !== undefined) children.push(xml("origin-id", { xmlns: NS_SID, id: f.origin }));
          const r = decodeMessage(xml("message", attrs, ...children), OPTS);
          expect(typed(r)).toBe(true);
          if (r.ok) expect(typed(decodePayload(r.value.x, LIMITS))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("decodeMessage, on arbitrary element trees", () => {
    const names = fc.oneof(
      fc.constantFrom("message", "x", "type", "action", "payload", "lang", "thread", "body", "origin-id", "iq"),
      fc.string({ minLength: 1, maxLength: 5 }),
    );
    const attrs = fc.dictionary(
      fc.constantFrom("from", "to", "id", "type", "xmlns", "xml:lang"),
      fc.oneof(
        fc.constantFrom(NS, "jabber:client", NS_SID, "chat", "error"),
        fc.string(),
        fc.integer() as fc.Arbitrary<unknown> as fc.Arbitrary<string>,
      ),
    );
    const { tree } = fc.letrec<{ tree: Element; node: Element | string }>((tie) => ({
      tree: fc.tuple(names, attrs, fc.array(tie("node"), { maxLength: 4 })).map(([n, a, c]) => xml(n, a, ...c)),
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.oneof(fc.string(), fc.constantFrom("chat_text", "{}", '{"text":"x"}')),
        tie("tree"),
      ),
    }));
    const message = fc.tuple(attrs, fc.array(tree, { maxLength: 5 })).map(([a, c]) => xml("message", a, ...c));
    fc.assert(
      fc.property(fc.oneof(tree, message), (el) => {
        expect(typed(decodeMessage(el, OPTS))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
