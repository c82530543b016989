import { describe, expect, it } from "vitest";
import type { ApiVersion } from "../../../src/core/model.js";
import { buildRouterThread, checkIdentity, checkRouteKey, parseThread, routeKeyOf } from "../../../src/protocol/thread.js";
import { CC, EX_H, EX_HEX, EX_T, LUCA, LUCA_H, MARIO, MARIO_H, MARIO_HEX, R_ATM_MILANO, R_SUPPORTO, SEED_UUID } from "./helpers.js";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const badThread = (thread: string, v: ApiVersion = "2") => {
  const r = parseThread(thread, v, CC);
  if (r.ok) throw new Error(`expected ${thread} to be rejected`);
  return r.error;
};

describe("v1 threads (protocol.md §3)", () => {
  it.each([
    ["393471111111", MARIO],
    ["+393471111111", MARIO],
    ["00393471111111", MARIO],
    ["3471111111", MARIO],
  ])("%s → %s", (thread, msisdn) => {
    expect(parseThread(thread, "1", CC)).toEqual({ ok: true, value: { form: "v1", msisdn } });
  });

  it.each([["39 347 111 1111"], ["abc"], [EX_H], ["+"], ["1234"], ["++393471111111"]])("%s is not a v1 thread", (thread) => {
    expect(badThread(thread, "1")).toMatchObject({ code: "BAD_REQUEST", field: "thread" });
  });

  it("identity: the sender's own MSISDN in any writing", () => {
    const t = parseThread("+39 347 111 1111".replace(/ /g, ""), "1", CC);
    if (!t.ok) throw new Error("parse");
    expect(checkIdentity(t.value, "393471111111", CC)).toEqual({ ok: true, value: { msisdn: MARIO } });
    expect(checkIdentity(t.value, "3471111111", CC)).toEqual({ ok: true, value: { msisdn: MARIO } });
  });

  it("identity: a v1 thread with another MSISDN → IDENTITY_MISMATCH, without saying whose", () => {
    const t = parseThread(LUCA, "1", CC);
    if (!t.ok) throw new Error("parse");
    const r = checkIdentity(t.value, "393471111111", CC);
    expect(r).toEqual({
      ok: false,
      error: { code: "IDENTITY_MISMATCH", field: "thread", message: "the thread does not belong to the sender" },
    });
    expect(JSON.stringify(r)).not.toContain(LUCA);
  });

  it("a sender whose localpart is not an MSISDN never matches", () => {
    const t = parseThread(MARIO, "1", CC);
    if (!t.ok) throw new Error("parse");
    expect(checkIdentity(t.value, "admin", CC)).toMatchObject({ ok: false, error: { code: "IDENTITY_MISMATCH" } });
  });
});

describe("v2 / v2.1 threads (protocol.md §3)", () => {
  it.each(["2", "2.1"] as const)("client form H and H|$|T (v%s)", (v) => {
    expect(parseThread(EX_H, v, CC)).toEqual({ ok: true, value: { form: "client", hash: EX_HEX } });
    expect(parseThread(`${EX_H}|$|${EX_T}`, v, CC)).toEqual({ ok: true, value: { form: "client", hash: EX_HEX, title: "Supporto" } });
  });

  it("a UTF-8 title", () => {
    expect(parseThread(`${EX_H}|$|QmlnbGlldHRpIPCfjqs=`, "2", CC)).toMatchObject({ ok: true, value: { title: "Biglietti 🎫" } });
  });

  it("uppercase hex inside H, and an uppercase route key and UUID, are normalised to lowercase", () => {
    const upperH = b64(EX_HEX.toUpperCase());
    expect(parseThread(upperH, "2", CC)).toEqual({ ok: true, value: { form: "client", hash: EX_HEX } });
    const t = `${R_SUPPORTO.toUpperCase()}:${upperH}|$|${EX_T}_${SEED_UUID.toUpperCase()}`;
    expect(parseThread(t, "2.1", CC)).toEqual({
      ok: true,
      value: { form: "router", hash: EX_HEX, title: "Supporto", routeKey: R_SUPPORTO, episodeUuid: SEED_UUID },
    });
  });

  it("router form with and without the episode UUID, for v2 and v2.1", () => {
    for (const v of ["2", "2.1"] as const) {
      expect(parseThread(`${R_SUPPORTO}:${MARIO_H}|$|${EX_T}`, v, CC)).toEqual({
        ok: true,
        value: { form: "router", hash: MARIO_HEX, title: "Supporto", routeKey: R_SUPPORTO },
      });
      expect(parseThread(`${R_SUPPORTO}:${MARIO_H}|$|${EX_T}_${SEED_UUID}`, v, CC)).toMatchObject({
        ok: true,
        value: { episodeUuid: SEED_UUID },
      });
    }
  });

  it.each([
    ["", "missing"],
    ["393471111111", "user hash is not canonical base64"],
    ["MjFk", "user hash must be base64 of a 64-character hex SHA-256"],
    [b64("x".repeat(64)), "user hash must be base64 of a 64-character hex SHA-256"],
    [b64(EX_HEX + "0"), "user hash must be base64 of a 64-character hex SHA-256"],
    [EX_H.slice(0, -2), "user hash is not canonical base64"],
    [`${EX_H}|$|`, "empty chat title"],
    [`${EX_H}|$|${b64("   ")}`, "empty chat title"],
    [`${EX_H}|$|U3VwcG9ydG8`, "chat title is not canonical base64 of UTF-8 text"],
    [`${EX_H}|$|/w==`, "chat title is not canonical base64 of UTF-8 text"],
    [`${EX_H}|$|${b64("a\u0000b")}`, "chat title contains control characters"],
    [`${EX_H}|$|${b64("é".repeat(257))}`, "chat title longer than 256 characters"],
    [`${EX_H}|$|${EX_T}|$|${EX_T}`, "more than one |$| separator"],
    [`|$|${EX_T}`, "empty user hash"],
    [`${EX_H}|${EX_T}`, "user hash is not canonical base64"],
    [`${EX_H}|$|${EX_T}_${SEED_UUID}`, "an episode UUID is only valid in a router thread (routeKey:...)"],
    [`${R_SUPPORTO}:${EX_H}`, "router thread must carry a chat title (R:H|$|T)"],
    [`${R_SUPPORTO.slice(1)}:${EX_H}|$|${EX_T}`, "route key must be a 64-character hex SHA-256"],
    [`supporto:${EX_H}|$|${EX_T}`, "route key must be a 64-character hex SHA-256"],
    [`${R_SUPPORTO}:${EX_H}|$|${EX_T}_not-a-uuid`, "episode suffix must be an RFC 4122 UUID"],
    [`${R_SUPPORTO}:${EX_H}|$|${EX_T}_00000000-0000-0000-0000-000000000000`, "episode suffix must be an RFC 4122 UUID"],
    [`${R_SUPPORTO}:${EX_H}|$|${EX_T}_${SEED_UUID}_${SEED_UUID}`, "chat title is not canonical base64 of UTF-8 text"],
    [`${R_SUPPORTO}::${EX_H}|$|${EX_T}`, "user hash is not canonical base64"],
    ["A".repeat(2049), "longer than 2048 characters"],
  ])("%s → BAD_REQUEST: %s", (thread, message) => {
    expect(badThread(thread)).toEqual({ code: "BAD_REQUEST", field: "thread", message });
  });

  it("a 256-character title is fine", () => {
    expect(parseThread(`${EX_H}|$|${b64("é".repeat(256))}`, "2", CC)).toMatchObject({ ok: true });
  });

  it("identity: the sender's own hash", () => {
    const t = parseThread(`${MARIO_H}|$|${EX_T}`, "2", CC);
    if (!t.ok) throw new Error("parse");
    expect(checkIdentity(t.value, "393471111111", CC)).toEqual({ ok: true, value: { msisdn: MARIO } });
    expect(checkIdentity(t.value, "3471111111", CC)).toEqual({ ok: true, value: { msisdn: MARIO } });
  });

  it("identity: another user's hash → IDENTITY_MISMATCH (client and router form), without saying whose", () => {
    for (const thread of [LUCA_H, `${LUCA_H}|$|${EX_T}`, `${R_SUPPORTO}:${LUCA_H}|$|${EX_T}_${SEED_UUID}`]) {
      const t = parseThread(thread, "2.1", CC);
      if (!t.ok) throw new Error("parse");
      const r = checkIdentity(t.value, "393471111111", CC);
      expect(r).toEqual({
        ok: false,
        error: { code: "IDENTITY_MISMATCH", field: "thread", message: "the thread does not belong to the sender" },
      });
      expect(JSON.stringify(r)).not.toContain(LUCA);
    }
  });

  it("route key: a router thread of this channel passes, of another channel is BAD_REQUEST", () => {
    expect(routeKeyOf("supporto")).toBe(R_SUPPORTO);
    expect(routeKeyOf("atm_milano")).toBe(R_ATM_MILANO);
    const t = parseThread(`${R_ATM_MILANO}:${MARIO_H}|$|${EX_T}`, "2.1", CC);
    if (!t.ok) throw new Error("parse");
    expect(checkRouteKey(t.value, "atm_milano")).toEqual({ ok: true, value: t.value });
    expect(checkRouteKey(t.value, "supporto")).toEqual({
      ok: false,
      error: { code: "BAD_REQUEST", field: "thread", message: "the thread belongs to another channel" },
    });
    const client = parseThread(MARIO_H, "2", CC);
    if (!client.ok) throw new Error("parse");
    expect(checkRouteKey(client.value, "supporto")).toEqual({ ok: true, value: client.value });
  });
});

describe("buildRouterThread (protocol.md §3 table)", () => {
  const base = { msisdn: MARIO, channelAddress: "supporto", chatTitle: "Supporto" };
  it("v1 → the MSISDN", () => {
    expect(buildRouterThread({ ...base, apiVersion: "1", episodeUuid: SEED_UUID })).toBe(MARIO);
  });
  it("v2 → R:H|$|T, the UUID is never added", () => {
    const expected = `${R_SUPPORTO}:${MARIO_H}|$|U3VwcG9ydG8=`;
    expect(buildRouterThread({ ...base, apiVersion: "2" })).toBe(expected);
    expect(buildRouterThread({ ...base, apiVersion: "2", episodeUuid: SEED_UUID })).toBe(expected);
  });
  it("v2.1 → R:H|$|T, plus _UUID during an operator episode", () => {
    expect(buildRouterThread({ ...base, apiVersion: "2.1" })).toBe(`${R_SUPPORTO}:${MARIO_H}|$|U3VwcG9ydG8=`);
    expect(buildRouterThread({ ...base, apiVersion: "2.1", episodeUuid: SEED_UUID })).toBe(
      `${R_SUPPORTO}:${MARIO_H}|$|U3VwcG9ydG8=_${SEED_UUID}`,
    );
  });
});
