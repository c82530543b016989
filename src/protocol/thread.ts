// protocol.md §3: conversation threads, by apiVersion.
//   v1:        client and router: the plain MSISDN
//   v2 / v2.1: client  H  or  H|$|T
//              router  R:H|$|T  (v2.1 operator episode: R:H|$|T_UUID)
// R = hexsha256(channel address), H = base64(hexsha256(msisdn)),
// T = base64(UTF-8 chatTitle), UUID per RFC 4122 (https://www.rfc-editor.org/rfc/rfc4122).
// A client may echo a router thread back, so both forms are accepted for any v2+.
import type { ApiVersion } from "../core/model.js";
import { decodeBase64Strict, encodeBase64, hexSha256, msisdnHash, normalizeMsisdn } from "./msisdn.js";
import { memoize } from "./memo.js";
import { fail, ok, type Result } from "./result.js";
import { firstForbidden } from "./xml-chars.js";

export type ParsedThread =
  | { form: "v1"; msisdn: string }
  | { form: "client"; hash: string; title?: string }
  | { form: "router"; hash: string; title: string; routeKey: string; episodeUuid?: string };

export const TITLE_SEPARATOR = "|$|";
/** Longest chat title, in Unicode code points. */
export const MAX_TITLE_LENGTH = 256;
/** A title of 256 four-byte code points with every part of the thread stays well under this. */
export const MAX_THREAD_LENGTH = 2048;

const HEX64 = /^[0-9a-fA-F]{64}$/;
const V1_THREAD = /^(?:\+|00)?\d+$/;
/** RFC 4122 layout, versions 1..8 (RFC 9562 adds 6..8), variant 10xx. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
// C0 and C1 controls and DEL: a title is a human-readable label.
const CONTROL = /\p{Cc}/u;

/** Lowercase hex SHA-256 of the channel address: the R of a router thread. */
export const routeKeyOf: (channelAddress: string) => string = memoize(hexSha256);

function bad(message: string) {
  return fail("BAD_REQUEST", "thread", message);
}

/** H: base64 of a 64-char hex SHA-256; returns the lowercase hex. */
function parseHashPart(h: string): Result<string> {
  if (h === "") return bad("empty user hash");
  const decoded = decodeBase64Strict(h);
  if (decoded === null) return bad("user hash is not canonical base64");
  if (!HEX64.test(decoded)) return bad("user hash must be base64 of a 64-character hex SHA-256");
  return ok(decoded.toLowerCase());
}

function parseTitlePart(t: string): Result<string> {
  if (t === "") return bad("empty chat title");
  const title = decodeBase64Strict(t);
  if (title === null) return bad("chat title is not canonical base64 of UTF-8 text");
  if (title.trim() === "") return bad("empty chat title");
  if ([...title].length > MAX_TITLE_LENGTH) return bad(`chat title longer than ${MAX_TITLE_LENGTH} characters`);
  if (CONTROL.test(title)) return bad("chat title contains control characters");
  // U+FFFE/U+FFFF are valid UTF-8 but not XML: the title goes back in data.chatTitle.
  const forbidden = firstForbidden(title);
  if (forbidden !== undefined) return bad(`chat title holds ${forbidden}, a character XML 1.0 forbids`);
  return ok(title);
}

/** `H` or `H|$|T`. */
function parseClientForm(s: string): Result<{ hash: string; title?: string }> {
  const parts = s.split(TITLE_SEPARATOR);
  if (parts.length > 2) return bad("more than one |$| separator");
  const hash = parseHashPart(parts[0] ?? "");
  if (!hash.ok) return hash;
  if (parts.length === 1) return ok({ hash: hash.value });
  const title = parseTitlePart(parts[1] ?? "");
  if (!title.ok) return title;
  return ok({ hash: hash.value, title: title.value });
}

/**
 * Parses a thread for the message's apiVersion. Never throws. Every failure
 * is BAD_REQUEST on field "thread", with a message saying what is wrong.
 * Hex parts are accepted in either case and returned lowercase; a v1 MSISDN
 * is returned normalised (§1, hence `defaultCountryCode`). Every message of a
 * conversation carries the same thread, so results are kept (memo.ts): the
 * result is shared, never change it.
 */
export function parseThread(thread: string, apiVersion: ApiVersion, defaultCountryCode: string): Result<ParsedThread> {
  return parseKept(`${apiVersion}\u0000${defaultCountryCode}\u0000${thread}`);
}

const parseKept = memoize(
  (key: string) => {
    // apiVersion and country code hold no NUL; the thread (the rest) may hold anything.
    const a = key.indexOf("\u0000");
    const b = key.indexOf("\u0000", a + 1);
    return parseThreadOnce(key.slice(b + 1), key.slice(0, a) as ApiVersion, key.slice(a + 1, b));
  },
  undefined,
  MAX_THREAD_LENGTH / 4,
);

function parseThreadOnce(thread: string, apiVersion: ApiVersion, defaultCountryCode: string): Result<ParsedThread> {
  if (thread === "") return bad("missing");
  if (thread.length > MAX_THREAD_LENGTH) return bad(`longer than ${MAX_THREAD_LENGTH} characters`);

  if (apiVersion === "1") {
    if (!V1_THREAD.test(thread)) return bad("apiVersion 1 thread must be the plain MSISDN (digits, optional + or 00)");
    const msisdn = normalizeMsisdn(thread, defaultCountryCode);
    if (msisdn === null) return bad("apiVersion 1 thread is not a valid MSISDN (11 to 15 digits once normalised)");
    return ok({ form: "v1", msisdn });
  }

  const colon = thread.indexOf(":");
  if (colon < 0) {
    if (thread.includes("_")) return bad("an episode UUID is only valid in a router thread (routeKey:...)");
    const c = parseClientForm(thread);
    if (!c.ok) return c;
    return ok(
      c.value.title === undefined ? { form: "client", hash: c.value.hash } : { form: "client", hash: c.value.hash, title: c.value.title },
    );
  }

  const routeKey = thread.slice(0, colon);
  if (!HEX64.test(routeKey)) return bad("route key must be a 64-character hex SHA-256");
  let rest = thread.slice(colon + 1);
  let episodeUuid: string | undefined;
  // Standard base64 has no "_", so the last "_" can only start the UUID.
  const underscore = rest.lastIndexOf("_");
  if (underscore >= 0) {
    const uuid = rest.slice(underscore + 1);
    if (!UUID.test(uuid)) return bad("episode suffix must be an RFC 4122 UUID");
    episodeUuid = uuid.toLowerCase();
    rest = rest.slice(0, underscore);
  }
  const c = parseClientForm(rest);
  if (!c.ok) return c;
  if (c.value.title === undefined) return bad("router thread must carry a chat title (R:H|$|T)");
  const parsed: ParsedThread = { form: "router", hash: c.value.hash, title: c.value.title, routeKey: routeKey.toLowerCase() };
  if (episodeUuid !== undefined) parsed.episodeUuid = episodeUuid;
  return ok(parsed);
}

/** Equal strings, in time that depends on the length only (both are lowercase hex of one length here). */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * protocol.md §3 identity check: the thread must name the sender. v1 compares
 * normalised MSISDNs, v2+ compares the hash with hexsha256(normalised
 * localpart). A mismatch is IDENTITY_MISMATCH on "thread"; the message never
 * says whose the thread is. On success returns the sender's normalised MSISDN.
 */
export function checkIdentity(parsed: ParsedThread, senderLocalpart: string, defaultCountryCode: string): Result<{ msisdn: string }> {
  const mismatch = fail("IDENTITY_MISMATCH", "thread", "the thread does not belong to the sender");
  const sender = normalizeMsisdn(senderLocalpart, defaultCountryCode);
  if (sender === null) return mismatch;
  if (parsed.form === "v1") return parsed.msisdn === sender ? ok({ msisdn: sender }) : mismatch;
  return sameHex(parsed.hash, msisdnHash(sender)) ? ok({ msisdn: sender }) : mismatch;
}

/** A router thread echoed back must be this channel's (§3); client and v1 threads pass. */
export function checkRouteKey(parsed: ParsedThread, channelAddress: string): Result<ParsedThread> {
  if (parsed.form === "router" && parsed.routeKey !== routeKeyOf(channelAddress)) {
    return bad("the thread belongs to another channel");
  }
  return ok(parsed);
}

/** H and T of a router thread: the same for every message of a conversation. */
const userHashPart = memoize((msisdn: string) => encodeBase64(msisdnHash(msisdn)));
const titlePart = memoize(encodeBase64);

export interface RouterThreadInput {
  apiVersion: ApiVersion;
  /** The user's normalised MSISDN (the JID localpart). */
  msisdn: string;
  channelAddress: string;
  /** The decoded title; the caller defaults it to the channel's info.name. */
  chatTitle: string;
  /** v2.1 only: the open operator episode. Ignored for v1 and v2. */
  episodeUuid?: string;
}

/**
 * The thread of router → client messages (§3 table): v1 the MSISDN,
 * v2 `R:H|$|T`, v2.1 the same plus `_UUID` during an operator episode.
 */
export function buildRouterThread(t: RouterThreadInput): string {
  if (t.apiVersion === "1") return t.msisdn;
  const base = `${routeKeyOf(t.channelAddress)}:${userHashPart(t.msisdn)}${TITLE_SEPARATOR}${titlePart(t.chatTitle)}`;
  return t.apiVersion === "2.1" && t.episodeUuid !== undefined ? `${base}_${t.episodeUuid}` : base;
}
