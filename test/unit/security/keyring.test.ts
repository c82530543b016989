import { createHash, createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { keyRingFrom, secretKeyProblem } from "../../../src/security/keyring.js";

const newKey = () => randomBytes(32).toString("base64");

describe("key ring (EIME_SECRET_KEY)", () => {
  it("seals with AES-256-GCM: no clear text, a fresh IV each time, opens to the same value", () => {
    const ring = keyRingFrom(newKey());
    const a = ring.seal("s3cr3t-bot-token", "channel:supporto");
    const b = ring.seal("s3cr3t-bot-token", "channel:supporto");
    expect(a).not.toContain("s3cr3t");
    expect(Buffer.from(a.split(".")[3]!, "base64url").toString()).not.toContain("s3cr3t");
    expect(a).not.toBe(b);
    expect(ring.open(a, "channel:supporto")).toBe("s3cr3t-bot-token");
  });

  it("refuses a value moved to another place, altered, or sealed under a key it does not hold", () => {
    const ring = keyRingFrom(newKey());
    const sealed = ring.seal("x", "channel:a");
    expect(() => ring.open(sealed, "channel:b")).toThrow();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("y").toString("base64url");
    expect(() => ring.open(parts.join("."), "channel:a")).toThrow();
    expect(() => keyRingFrom(newKey()).open(sealed, "channel:a")).toThrow(/not in EIME_SECRET_KEY/);
  });

  it("rotation: with the new key first, values of the old key stay readable and are no longer current", () => {
    const oldKey = newKey();
    const before = keyRingFrom(oldKey).seal("v", "c");
    const rotated = keyRingFrom(`${newKey()},${oldKey}`);
    expect(rotated.open(before, "c")).toBe("v");
    expect(rotated.isCurrent(before)).toBe(false);
    expect(rotated.isCurrent(rotated.seal("v", "c"))).toBe(true);
  });

  it("keyed hashes: HMAC-SHA256, not the enumerable SHA-256, different per key and per use", () => {
    const key = newKey();
    const ring = keyRingFrom(key);
    const plain = createHash("sha256").update("393471111111").digest("hex");
    expect(ring.backendMsisdnHash("393471111111")).toMatch(/^[0-9a-f]{64}$/);
    expect(ring.backendMsisdnHash("393471111111")).not.toBe(plain);
    expect(ring.backendMsisdnHash("393471111111")).not.toBe(
      createHmac("sha256", Buffer.from(key, "base64")).update("393471111111").digest("hex"),
    );
    expect(ring.backendMsisdnHash("393471111111")).not.toBe(keyRingFrom(newKey()).backendMsisdnHash("393471111111"));
    expect(ring.msisdnTag("393471111111")).toMatch(/^msisdn#[0-9a-f]{12}$/);
    expect(plain).not.toContain(ring.msisdnTag("393471111111").slice(7));
    expect(ring.backendMsisdnHash("393471111111")).not.toContain(ring.msisdnTag("393471111111").slice(7));
  });

  it("without a key: the development key, said so", () => {
    expect(keyRingFrom(undefined).development).toBe(true);
    expect(keyRingFrom(newKey()).development).toBe(false);
  });

  it("accepts only base64 keys of 32 bytes", () => {
    expect(secretKeyProblem(newKey())).toBeNull();
    expect(secretKeyProblem(`${newKey()},${newKey()}`)).toBeNull();
    expect(secretKeyProblem("short")).toMatch(/32 bytes/);
    expect(secretKeyProblem(randomBytes(16).toString("base64"))).toMatch(/32 bytes/);
  });
});

describe("archive ids (XEP-0313 §3: unpredictable)", () => {
  const a = randomBytes(32).toString("base64");
  const b = randomBytes(32).toString("base64");

  it("a message id becomes an opaque 22-character id and back; neighbours look unrelated", () => {
    const ring = keyRingFrom(a);
    const one = ring.archiveId.encode("1");
    const two = ring.archiveId.encode("2");
    expect(one).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The plain id does not show through (a random id may hold a "1", not "123456789").
    expect(ring.archiveId.encode("123456789")).not.toContain("123456789");
    expect(one.slice(0, 8)).not.toBe(two.slice(0, 8));
    expect(ring.archiveId.decode(one)).toBe("1");
    expect(ring.archiveId.decode(ring.archiveId.encode("9223372036854775807"))).toBe("9223372036854775807");
  });

  it("a forged or foreign id decodes to nothing; after a rotation old ids still decode", () => {
    const ring = keyRingFrom(a);
    expect(ring.archiveId.decode("AAAAAAAAAAAAAAAAAAAAAA")).toBeNull();
    expect(ring.archiveId.decode("42")).toBeNull();
    expect(keyRingFrom(b).archiveId.decode(ring.archiveId.encode("7"))).toBeNull();
    expect(keyRingFrom(`${b},${a}`).archiveId.decode(ring.archiveId.encode("7"))).toBe("7");
  });
});
