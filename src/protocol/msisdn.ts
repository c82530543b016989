// protocol.md §1: MSISDN normalisation, and the hashing and base64 the
// thread codec (§3) builds on. Base64 is RFC 4648 §4 (standard alphabet,
// padded): https://www.rfc-editor.org/rfc/rfc4648#section-4
import { createHash } from "node:crypto";
import { memoize } from "./memo.js";

/** E.164 allows at most 15 digits: https://www.itu.int/rec/T-REC-E.164 */
const MAX_DIGITS = 15;
/**
 * A normalised MSISDN has more than 10 digits: a shorter result would be
 * prefixed again by the next normalisation, so it could never be compared
 * or hashed consistently (see normalizeMsisdn).
 */
const MIN_DIGITS = 11;

/**
 * protocol.md §1: keep digits only; drop a leading `00`; if 10 digits or
 * fewer remain, prepend `defaultCountryCode`. `+39 347 111 1111`,
 * `00393471111111` and `3471111111` all give `393471111111`.
 *
 * Returns null when there is no digit, or when the result is not 11..15
 * digits or starts with `00`. Those bounds make the function idempotent
 * (a result normalises to itself), which every comparison relies on: the
 * JID localpart, already normalised, is normalised again before it is
 * compared with a thread.
 */
export function normalizeMsisdn(raw: string, defaultCountryCode: string): string | null {
  let digits = raw.replace(/\D/g, "");
  if (digits.length === 0) return null;
  if (digits.startsWith("00")) digits = digits.slice(2);
  if (digits.length <= 10) digits = defaultCountryCode.replace(/\D/g, "") + digits;
  if (digits.length < MIN_DIGITS || digits.length > MAX_DIGITS || digits.startsWith("00")) return null;
  return digits;
}

/** Lowercase hex SHA-256 of the UTF-8 bytes of `s`. */
export function hexSha256(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/**
 * protocol.md §3 `hexsha256(msisdn)`: pass an already normalised MSISDN. The
 * wire protocol's unkeyed hash (threads, cmd_search_users `hashed`); what the
 * router writes to logs or sends to back-ends is keyed instead
 * (security/keyring.ts msisdnTag, backendMsisdnHash).
 */
export const msisdnHash: (normalised: string) => string = memoize(hexSha256); // once per user, not per message

/** Standard padded base64 of the UTF-8 bytes of `s`. */
export function encodeBase64(utf8: string): string {
  return Buffer.from(utf8, "utf8").toString("base64");
}

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes canonical base64 into a UTF-8 string, or null: a character outside
 * the standard alphabet (also URL-safe `-`/`_` and whitespace), a length that
 * is not a multiple of 4, missing or extra padding, non-zero padding bits
 * (the re-encoding would differ), or bytes that are not valid UTF-8.
 */
export function decodeBase64Strict(s: string): string | null {
  if (!CANONICAL_BASE64.test(s)) return null;
  const bytes = Buffer.from(s, "base64");
  if (bytes.toString("base64") !== s) return null;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}
