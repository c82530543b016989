// X-Hub-Signature-256 of a Genesys Cloud Open Messaging webhook call
// (backends.md 2b): "sha256=" + base64(HMAC-SHA256(secret, raw body)).
// Checked on the raw bytes, before anything parses the body, in constant
// time (crypto.timingSafeEqual on the decoded digests).
import { createHmac, timingSafeEqual } from "node:crypto";

const PREFIX = "sha256=";

export function signatureOf(body: Buffer | string, secret: string): string {
  return PREFIX + createHmac("sha256", secret).update(body).digest("base64");
}

export function verifySignature(body: Buffer, header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== "string" || !header.startsWith(PREFIX)) return false;
  const given = Buffer.from(header.slice(PREFIX.length).trim(), "base64");
  const expected = createHmac("sha256", secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
