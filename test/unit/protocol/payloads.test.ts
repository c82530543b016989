import { describe, expect, it } from "vitest";
import { codePointLength, decodePayload } from "../../../src/protocol/payloads.js";
import type { XElement, XType } from "../../../src/protocol/x-element.js";
import { LIMITS } from "./helpers.js";

const x = (type: XType, payload: Record<string, unknown>): XElement => ({ type, action: type, payload, lang: "it" });
const text = (data: unknown) => decodePayload(x("chat_text", data === undefined ? { text: "hi" } : { text: "hi", data }), LIMITS);
const err = (r: ReturnType<typeof decodePayload>) => (r.ok ? null : r.error);

describe("payload.data (protocol.md §3)", () => {
  it.each([
    [undefined, "1"],
    [{}, "1"],
    [{ apiVersion: 1 }, "1"],
    [{ apiVersion: "1" }, "1"],
    [{ apiVersion: 2 }, "2"],
    [{ apiVersion: "2" }, "2"],
    [{ apiVersion: 2.1 }, "2.1"],
    [{ apiVersion: "2.1" }, "2.1"],
  ])("data %j → apiVersion %s", (data, v) => {
    expect(text(data)).toMatchObject({ ok: true, value: { data: { apiVersion: v } } });
  });

  it.each([[3], ["2.2"], [true], [null], ["v2"], [2.0001], [""], [[2]], [{}]])("apiVersion %j → UNSUPPORTED_API_VERSION", (v) => {
    expect(err(text({ apiVersion: v }))).toEqual({
      code: "UNSUPPORTED_API_VERSION",
      field: "payload.data.apiVersion",
      message: "must be 1, 2 or 2.1 (number or string)",
    });
  });

  it.each([["web"], ["android"], ["ios"]])("os %s is accepted", (os) => {
    expect(text({ apiVersion: 2, os })).toMatchObject({ ok: true, value: { data: { os } } });
  });

  it.each([["windows"], ["Android"], [""], [1], [null]])("os %j → BAD_REQUEST payload.data.os", (os) => {
    expect(err(text({ apiVersion: 2, os }))).toEqual({
      code: "BAD_REQUEST",
      field: "payload.data.os",
      message: "must be web, android or ios",
    });
  });

  it.each([
    ["appVersion", 465],
    ["premium", "false"],
    ["token", 42],
    ["useChatDynamic", "yes"],
    ["resetSession", 1],
  ])("%s of the wrong type → BAD_REQUEST payload.data.%s", (key, value) => {
    expect(err(text({ apiVersion: 2, [key]: value }))).toMatchObject({ code: "BAD_REQUEST", field: `payload.data.${key}` });
  });

  it("keeps unknown data keys and all the known ones", () => {
    const data = {
      apiVersion: 2.1,
      os: "ios",
      appVersion: "1.2.3",
      premium: true,
      token: "t",
      useChatDynamic: true,
      resetSession: true,
      future: { x: 1 },
    };
    expect(text(data)).toEqual({ ok: true, value: { type: "chat_text", text: "hi", data: { ...data, apiVersion: "2.1" } } });
  });

  it("data that is not an object → BAD_REQUEST payload.data", () => {
    expect(err(text("v2"))).toMatchObject({ code: "BAD_REQUEST", field: "payload.data" });
    expect(err(text([1]))).toMatchObject({ code: "BAD_REQUEST", field: "payload.data" });
  });

  it("never echoes the token in an error message", () => {
    const e = err(text({ apiVersion: 2, token: { secret: "s3cr3t-token" } }));
    expect(e?.field).toBe("payload.data.token");
    expect(JSON.stringify(e)).not.toContain("s3cr3t");
  });
});

describe("chat_text and the other conversation types (protocol.md §4)", () => {
  it("text of 1..maxTextLength code points", () => {
    expect(decodePayload(x("chat_text", { text: "a".repeat(4096) }), LIMITS).ok).toBe(true);
    // 4096 emoji are 8192 UTF-16 units but 4096 characters.
    expect(decodePayload(x("chat_text", { text: "🎫".repeat(4096) }), LIMITS).ok).toBe(true);
    expect(err(decodePayload(x("chat_text", { text: "a".repeat(4097) }), LIMITS))).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      field: "payload.text",
      message: "4097 characters, at most 4096 allowed",
    });
    expect(err(decodePayload(x("chat_text", { text: "" }), LIMITS))).toEqual({
      code: "BAD_REQUEST",
      field: "payload.text",
      message: "must not be empty",
    });
    expect(err(decodePayload(x("chat_text", {}), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field: "payload.text" });
    expect(err(decodePayload(x("chat_text", { text: 5 }), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field: "payload.text" });
  });

  it("protocol.md §10: a chat_text with data.attachment may have no text", () => {
    const attachment = { url: "https://upload.localhost/a.png" };
    const empty = decodePayload(x("chat_text", { text: "", data: { apiVersion: "2", attachment } }), LIMITS);
    expect(empty.ok && empty.value).toMatchObject({ type: "chat_text", text: "", data: { attachment } });
    const absent = decodePayload(x("chat_text", { data: { apiVersion: "2", attachment } }), LIMITS);
    expect(absent.ok && absent.value).toMatchObject({ type: "chat_text", text: "" });
    expect(err(decodePayload(x("chat_text", { text: "", data: { apiVersion: "2" } }), LIMITS))).toMatchObject({ field: "payload.text" });
  });

  it("the limit is the configured one", () => {
    expect(err(decodePayload(x("chat_text", { text: "abcd" }), { ...LIMITS, maxTextLength: 3 }))?.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("codePointLength counts code points", () => {
    expect(codePointLength("")).toBe(0);
    expect(codePointLength("abc")).toBe(3);
    expect(codePointLength("🎫é")).toBe(2);
    expect(codePointLength("\ud800")).toBe(1);
  });

  it("chat_dynamic and chat_interactive decode like chat_text", () => {
    for (const t of ["chat_dynamic", "chat_interactive"] as const) {
      expect(decodePayload(x(t, { text: "2", data: { apiVersion: 2 } }), LIMITS)).toEqual({
        ok: true,
        value: { type: t, text: "2", data: { apiVersion: "2" } },
      });
    }
  });

  it("chat_notice: the client codes and any other string (the router decides)", () => {
    for (const code of ["GENESYS_CLOSE_BY_USER#0001", "GENESYS_OPEN_FOR_VOTING#0001", "SOMETHING_NEW#0009"]) {
      expect(decodePayload(x("chat_notice", { code, data: { apiVersion: "2.1" } }), LIMITS)).toEqual({
        ok: true,
        value: { type: "chat_notice", code, data: { apiVersion: "2.1" } },
      });
    }
    expect(err(decodePayload(x("chat_notice", { data: {} }), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field: "payload.code" });
    expect(err(decodePayload(x("chat_notice", { code: "" }), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field: "payload.code" });
    expect(err(decodePayload(x("chat_notice", { code: 1 }), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field: "payload.code" });
  });
});

describe("commands (protocol.md §7)", () => {
  const users = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `0039347${String(i).padStart(7, "0")}` }));

  it("cmd_add_to_roster: up to maxListEntries entries, empty is fine, name optional", () => {
    expect(decodePayload(x("cmd_add_to_roster", { channelUsers: [] }), LIMITS)).toEqual({
      ok: true,
      value: { type: "cmd_add_to_roster", channelUsers: [] },
    });
    const r = decodePayload(x("cmd_add_to_roster", { channelUsers: users(500) }), LIMITS);
    expect(r.ok && r.value.type === "cmd_add_to_roster" && r.value.channelUsers.length).toBe(500);
    expect(decodePayload(x("cmd_add_to_roster", { channelUsers: [{ address: "atm_milano", extra: 1 }] }), LIMITS)).toEqual({
      ok: true,
      value: { type: "cmd_add_to_roster", channelUsers: [{ address: "atm_milano" }] },
    });
  });

  it("cmd_add_to_roster: 501 entries → PAYLOAD_TOO_LARGE payload.channelUsers, even with a bad entry", () => {
    expect(err(decodePayload(x("cmd_add_to_roster", { channelUsers: users(501) }), LIMITS))).toEqual({
      code: "PAYLOAD_TOO_LARGE",
      field: "payload.channelUsers",
      message: "more than 500 entries",
    });
    const bad = [{ address: 7 }, ...users(500)];
    expect(err(decodePayload(x("cmd_add_to_roster", { channelUsers: bad }), LIMITS))?.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it.each([
    [{}, "payload.channelUsers"],
    [{ channelUsers: {} }, "payload.channelUsers"],
    [{ channelUsers: [{ name: "x" }] }, "payload.channelUsers.0.address"],
    [{ channelUsers: [{ address: "1" }, { address: "" }] }, "payload.channelUsers.1.address"],
    [{ channelUsers: [{ address: "1", name: 3 }] }, "payload.channelUsers.0.name"],
    [{ channelUsers: ["00393471111111"] }, "payload.channelUsers.0"],
  ])("cmd_add_to_roster %j → BAD_REQUEST %s", (payload, field) => {
    expect(err(decodePayload(x("cmd_add_to_roster", payload), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field });
  });

  it("cmd_search_users: userList and hashed", () => {
    expect(decodePayload(x("cmd_search_users", { userList: ["00393296260815"] }), LIMITS)).toEqual({
      ok: true,
      value: { type: "cmd_search_users", userList: ["00393296260815"], hashed: false },
    });
    expect(decodePayload(x("cmd_search_users", { userList: [], hashed: true }), LIMITS)).toMatchObject({
      ok: true,
      value: { hashed: true },
    });
    expect(err(decodePayload(x("cmd_search_users", { userList: Array(501).fill("1") }), LIMITS))).toMatchObject({
      code: "PAYLOAD_TOO_LARGE",
      field: "payload.userList",
    });
    expect(err(decodePayload(x("cmd_search_users", { userList: [1] }), LIMITS))).toMatchObject({
      code: "BAD_REQUEST",
      field: "payload.userList.0",
    });
    expect(err(decodePayload(x("cmd_search_users", { userList: ["1"], hashed: "yes" }), LIMITS))).toMatchObject({
      code: "BAD_REQUEST",
      field: "payload.hashed",
    });
    expect(err(decodePayload(x("cmd_search_users", {}), LIMITS))).toMatchObject({ code: "BAD_REQUEST", field: "payload.userList" });
  });
});
