// Characters XML 1.0 forbids (https://www.w3.org/TR/xml/#charsets, production
// [2] Char): C0 controls other than tab, LF and CR; U+FFFE and U+FFFF; and, in
// a JavaScript string, lone surrogates (they encode no code point at all).
// One such character in a stanza and the XMPP server answers not-well-formed
// and drops the whole stream (RFC 6120 section 4.9.3.13), for every user.
// Inbound they are refused (the sender's error, design.md rule 8); text from
// bots and operators, which the user did not write, is mended instead.
// NUL and lone surrogates are also what PostgreSQL refuses in text and jsonb.
import type { Element } from "@xmpp/xml";

/** In `u` mode a lone surrogate is matched by its range; a pair is one code point beyond it. */
/* eslint-disable no-control-regex -- matching the control characters is the point */
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u;
const FORBIDDEN_ALL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/gu;
/* eslint-enable no-control-regex */

/** What forbidden characters become in text the router passes on (U+FFFD REPLACEMENT CHARACTER). */
export const REPLACEMENT = "\uFFFD";

/** True when every character of `s` may appear in an XML 1.0 document. */
export function isXmlSafe(s: string): boolean {
  return !FORBIDDEN.test(s);
}

/** "U+0001" for the first forbidden character of `s`, or undefined. */
export function firstForbidden(s: string): string | undefined {
  const m = FORBIDDEN.exec(s);
  if (m === null) return undefined;
  return "U+" + m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
}

/** `s` with each forbidden character replaced by U+FFFD (`s` itself when there is none). */
export function xmlSafeText(s: string): string {
  return FORBIDDEN.test(s) ? s.replace(FORBIDDEN_ALL, REPLACEMENT) : s;
}

/** JSON escapes that decode to a forbidden character (\uXXXX may, \b and \f do); `\\u` is a false alarm that only costs a closer look. */
const RISKY_ESCAPE = /\\[ubf]/;

/**
 * True when no string or key of this JSON text can hold a forbidden character
 * once parsed (no raw one, no escape that makes one); false means "look
 * closer" (findForbiddenInJson). One scan of the text instead of a walk of
 * the parsed value: what every clean message costs.
 */
export function jsonTextIsXmlSafe(text: string): boolean {
  return !RISKY_ESCAPE.test(text) && isXmlSafe(text);
}

/** Where in a parsed JSON value a string or key holds a forbidden character. */
export interface ForbiddenAt {
  /** Dotted path from the value, e.g. "data.os", "userList.2"; "" for the value itself. */
  path: string;
  /** "U+0001". */
  char: string;
  /** True when it is a key, not a value. */
  key: boolean;
}

const MAX_DEPTH = 64;

/** The first string or key of a JSON value (as JSON.parse gives it) with a forbidden character. */
export function findForbiddenInJson(value: unknown, path = "", depth = 0): ForbiddenAt | undefined {
  if (typeof value === "string") {
    const char = firstForbidden(value);
    return char === undefined ? undefined : { path, char, key: false };
  }
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findForbiddenInJson(value[i], join(path, String(i)), depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const char = firstForbidden(k);
    if (char !== undefined) return { path, char, key: true };
    const found = findForbiddenInJson(v, join(path, k), depth + 1);
    if (found) return found;
  }
  return undefined;
}

function join(path: string, part: string): string {
  return path === "" ? part : `${path}.${part}`;
}

/** A copy of a JSON value with forbidden characters in strings and keys replaced; the value itself when clean. */
export function xmlSafeJson<T>(value: T): T {
  return findForbiddenInJson(value) === undefined ? value : (mend(value, 0) as T);
}

function mend(value: unknown, depth: number): unknown {
  if (typeof value === "string") return xmlSafeText(value);
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => mend(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[xmlSafeText(k)] = mend(v, depth + 1);
  return out;
}

/**
 * The last guard before a stanza is serialised: mends, in place, every text
 * node and attribute value of the tree, and returns how many it changed (0
 * when the codecs did their job, which is the rule; more is a bug to log).
 */
export function mendElement(el: Element): number {
  let changed = 0;
  for (const [name, v] of Object.entries(el.attrs)) {
    if (typeof v === "string" && !isXmlSafe(v)) {
      el.attrs[name] = xmlSafeText(v);
      changed++;
    }
  }
  const children = el.children;
  for (let i = 0; i < children.length; i++) {
    const c = children[i]!;
    if (typeof c === "string") {
      if (!isXmlSafe(c)) {
        children[i] = xmlSafeText(c);
        changed++;
      }
    } else {
      changed += mendElement(c);
    }
  }
  return changed;
}
