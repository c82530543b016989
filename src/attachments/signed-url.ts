// protocol.md section 10: the URL of a stored attachment works only for the
// user it was sent to and only until it expires. It is
//   {publicUrl}/attachments/{id}?u={bare JID}&e={expiry, unix s}&s={signature}
// with s = base64url HMAC-SHA256 over "id\nuser\nexpiry" under a key derived
// from security.secretKey. Pure apart from the clock value it is given.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export type SignatureCheck = "ok" | "expired" | "forged";

/** The signing key: derived from EIME_SECRET_KEY's current key (or the public development text when unset). */
export function urlSigningKey(secretKey: string | undefined): Buffer {
  const current = secretKey?.split(",")[0]?.trim() ?? "eime-router development key: not secret";
  return createHash("sha256").update(`eime attachment urls\n${current}`).digest();
}

function signature(key: Buffer, id: string, user: string, expires: number): string {
  return createHmac("sha256", key).update(`${id}\n${user}\n${expires}`).digest("base64url");
}

export interface SignedUrlInput {
  base: string;
  id: string;
  /** The bare JID the URL is for. */
  user: string;
  expiresAt: Date;
}

export function signedAttachmentUrl(key: Buffer, input: SignedUrlInput): string {
  const e = Math.floor(input.expiresAt.getTime() / 1000);
  const url = new URL(`attachments/${encodeURIComponent(input.id)}`, input.base.endsWith("/") ? input.base : `${input.base}/`);
  url.searchParams.set("u", input.user);
  url.searchParams.set("e", String(e));
  url.searchParams.set("s", signature(key, input.id, input.user, e));
  return url.toString();
}

/** A forged or altered signature is `forged` whatever the expiry says; a genuine one past its time is `expired`. */
export function checkSignature(key: Buffer, q: { id: string; u?: string; e?: string; s?: string }, now: Date): SignatureCheck {
  if (!q.u || !q.e || !q.s || !/^\d{1,12}$/.test(q.e)) return "forged";
  const expected = Buffer.from(signature(key, q.id, q.u, Number(q.e)));
  const given = Buffer.from(q.s);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "forged";
  return Number(q.e) * 1000 < now.getTime() ? "expired" : "ok";
}
