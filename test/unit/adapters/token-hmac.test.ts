import { describe, expect, it } from "vitest";
import { createTokenVerifier, issueHmacToken, verifyHmacToken } from "../../../src/adapters/token/verifiers.js";

const now = new Date("2026-11-21T10:00:00Z");
const later = new Date("2026-11-22T10:00:00Z");
const clock = { now: () => now };
const config = { verifier: "hmac:s3cret", cacheTtlSeconds: 60, timeoutMs: 1000 };

describe("hmac tokens", () => {
  it("accepts a token issued for the same MSISDN before it expires", async () => {
    const token = issueHmacToken("s3cret", "393471111111", later);
    expect(verifyHmacToken("s3cret", token, "393471111111", now)).toBe(true);
    await expect(createTokenVerifier(config, clock).verify(token, "393471111111")).resolves.toBe(true);
  });

  it("refuses another MSISDN, another secret, an expired or malformed token, and no token", async () => {
    const token = issueHmacToken("s3cret", "393471111111", later);
    const v = createTokenVerifier(config, clock);
    await expect(v.verify(token, "393472222222")).resolves.toBe(false);
    await expect(v.verify(issueHmacToken("other", "393471111111", later), "393471111111")).resolves.toBe(false);
    await expect(v.verify(issueHmacToken("s3cret", "393471111111", new Date(now.getTime() - 1000)), "393471111111")).resolves.toBe(false);
    await expect(v.verify("garbage", "393471111111")).resolves.toBe(false);
    await expect(
      v.verify(
        token.replace(/.$/, (c) => (c === "0" ? "1" : "0")),
        "393471111111",
      ),
    ).resolves.toBe(false);
    await expect(v.verify(undefined, "393471111111")).resolves.toBe(false);
  });

  it("`none` accepts everything, even no token", async () => {
    await expect(createTokenVerifier({ ...config, verifier: "none" }, clock).verify(undefined, "1")).resolves.toBe(true);
  });
});
