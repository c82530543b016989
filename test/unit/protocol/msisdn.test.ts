import { describe, expect, it } from "vitest";
import { decodeBase64Strict, encodeBase64, hexSha256, msisdnHash, normalizeMsisdn } from "../../../src/protocol/msisdn.js";
import { MARIO_HEX } from "./helpers.js";

describe("normalizeMsisdn (protocol.md §1)", () => {
  it.each([
    ["+39 347 111 1111", "393471111111"],
    ["00393471111111", "393471111111"],
    ["3471111111", "393471111111"],
    ["393471111111", "393471111111"],
    ["(+39) 347-111.1111", "393471111111"],
    ["32012345678", "32012345678"],
    ["0032012345678", "32012345678"],
    ["+32 0 12 34 56 78", "32012345678"],
    ["061234567", "39061234567"],
    ["123456789012345", "123456789012345"],
  ])("%s → %s", (raw, expected) => {
    expect(normalizeMsisdn(raw, "39")).toBe(expected);
  });

  it("uses the configured country code", () => {
    expect(normalizeMsisdn("2025550123", "1")).toBe("12025550123");
  });

  it.each([
    ["", "no digit"],
    ["abc", "no digit"],
    ["+", "no digit"],
    ["1234", "too short once prefixed (391234)"],
    ["00123", "too short"],
    ["1234567890123456", "16 digits"],
    ["000039347111111", "still starts with 00: would change again"],
  ])("%s is not an MSISDN (%s)", (raw) => {
    expect(normalizeMsisdn(raw, "39")).toBeNull();
  });

  it("a result normalises to itself", () => {
    for (const raw of ["+39 347 111 1111", "3471111111", "0032012345678", "061234567"]) {
      const n = normalizeMsisdn(raw, "39");
      expect(n).not.toBeNull();
      expect(normalizeMsisdn(n ?? "", "39")).toBe(n);
    }
  });
});

describe("hashes and base64", () => {
  it("hexSha256 and msisdnHash are the lowercase hex SHA-256", () => {
    expect(hexSha256("393471111111")).toBe(MARIO_HEX);
    expect(msisdnHash("393471111111")).toBe(MARIO_HEX);
    expect(hexSha256("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("encodeBase64 encodes UTF-8", () => {
    expect(encodeBase64("Supporto")).toBe("U3VwcG9ydG8=");
    expect(encodeBase64("Biglietti 🎫")).toBe("QmlnbGlldHRpIPCfjqs=");
    expect(encodeBase64("")).toBe("");
  });

  it("decodeBase64Strict decodes canonical base64", () => {
    expect(decodeBase64Strict("U3VwcG9ydG8=")).toBe("Supporto");
    expect(decodeBase64Strict("QmlnbGlldHRpIPCfjqs=")).toBe("Biglietti 🎫");
    expect(decodeBase64Strict("")).toBe("");
  });

  it.each([
    ["U3VwcG9ydG8", "missing padding (length % 4)"],
    ["U3VwcG9ydG8==", "extra padding"],
    ["U3VwcG9ydG9=", "non-zero padding bits: re-encodes differently"],
    ["U3Vw cG9ydG8=", "whitespace"],
    ["U3VwcG9y\nZG8=", "newline"],
    ["U3VwcG9ydG8-", "URL-safe alphabet"],
    ["U3VwcG9_dG8=", "URL-safe alphabet"],
    ["=U3VwcG9ydG8", "padding first"],
    ["U3=wcG9ydG8=", "padding inside"],
    ["Zm9v!", "outside the alphabet"],
    ["/w==", "not UTF-8 (0xff)"],
    ["7aCA", "not UTF-8 (an encoded surrogate)"],
  ])("rejects %s (%s)", (s) => {
    expect(decodeBase64Strict(s)).toBeNull();
  });
});
