// Mutations of seed inputs, as fast-check arbitraries (so a crash shrinks to a
// small list of edits): edits of text (insert, delete, replace, duplicate,
// truncate, splice in a token that means something to XML, JSON or threads),
// edits of an XML tree that keep it well-formed (so every mutant reaches the
// codec), and edits of a JSON value (a subtree replaced, dropped or doubled).
import fc from "fast-check";
import { parse } from "ltx";
import type { Element } from "@xmpp/xml";
import { codepointClass } from "./arbitraries.js";

/** Tokens that mean something to one of the codecs. */
export const TOKENS = [
  "<",
  ">",
  "/",
  "</x>",
  '<x xmlns="urn:eime:x:0">',
  "<payload>",
  "</payload>",
  "<thread>",
  "</thread>",
  '"',
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  "null",
  "true",
  "false",
  "1e999",
  "-0",
  "0.1",
  "2.1",
  '"2.1"',
  "\\u0000",
  "\\ud800",
  "\\udc00",
  "\\uffff",
  "\\",
  "|$|",
  "_",
  "=",
  "==",
  "+",
  "00",
  "+39",
  "&amp;",
  "&#0;",
  "&#x1F600;",
  "<![CDATA[",
  "]]>",
  "<!--",
  "-->",
  'xmlns=""',
  'xml:lang="it"',
  "9".repeat(20),
  "a".repeat(300),
  "é".repeat(100),
  "\u{1F600}".repeat(50),
  '"text":',
  '"data":',
  '"apiVersion":',
  '"code":',
  '"userList":',
  '"channelUsers":',
  '"items":',
  '"type":"group"',
  '"type":"channel"',
];

const piece = fc.oneof(codepointClass, fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 }));
const textOp = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat(), fc.nat({ max: 64 }), piece);
type TextOp = [number, number, number, string];

function applyTextOp(s: string, [kind, at, len, p]: TextOp): string {
  const i = at % (s.length + 1);
  switch (kind) {
    case 0:
      return s.slice(0, i) + p + s.slice(i);
    case 1:
      return s.slice(0, i) + s.slice(i + 1 + (len % 16));
    case 2:
      return s.slice(0, i) + p + s.slice(i + p.length);
    case 3:
      return s.slice(0, i) + s.slice(i, i + 1 + len) + s.slice(i);
    case 4:
      return s.slice(0, i);
    default: {
      // Splice in a piece of the string itself from elsewhere.
      const j = len % (s.length + 1);
      return s.slice(0, i) + s.slice(j, j + 1 + (len % 24)) + s.slice(i);
    }
  }
}

/** `seed` with 1 to `maxOps` text edits. */
export function mutatedText(seeds: readonly string[], maxOps = 6): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(textOp, { minLength: 1, maxLength: maxOps }))
    .map(([seed, ops]) => ops.reduce((s, op) => applyTextOp(s, op), seed));
}

const NAMES = ["message", "x", "type", "action", "payload", "lang", "thread", "body", "origin-id", "request", "y"];
const ATTRS = ["from", "to", "id", "type", "xmlns", "xml:lang", "parent"];
const NAMESPACES = ["urn:eime:x:0", "jabber:component:accept", "jabber:client", "urn:xmpp:sid:0", "", "urn:eime:x:1"];

const treeOp = fc.tuple(fc.integer({ min: 0, max: 6 }), fc.nat(), fc.nat(), mutatedText(["", "chat_text", "it", "{}"], 3), piece);
type TreeOp = [number, number, number, string, string];

function elementsOf(el: Element, out: Element[] = []): Element[] {
  out.push(el);
  for (const c of el.children) if (typeof c !== "string") elementsOf(c, out);
  return out;
}

function applyTreeOp(root: Element, [kind, at, n, text, p]: TreeOp): void {
  const all = elementsOf(root);
  const el = all[at % all.length]!;
  const kids = el.children;
  switch (kind) {
    case 0: {
      // Edit the element's text.
      const old = el.getText();
      el.children = kids.filter((c) => typeof c !== "string");
      el.children.push(applyTextOp(old, [n % 6, n, n % 64, p]));
      break;
    }
    case 1:
      el.children = [text];
      break;
    case 2:
      el.attrs[ATTRS[n % ATTRS.length]!] = n % 3 === 0 ? NAMESPACES[n % NAMESPACES.length]! : text + p;
      break;
    case 3:
      if (kids.length > 0) kids.splice(n % kids.length, 1);
      break;
    case 4:
      if (kids.length > 0) {
        const c = kids[n % kids.length]!;
        kids.push(typeof c === "string" ? c : parse(c.toString()));
      }
      break;
    case 5: {
      const child = parse(`<${NAMES[n % NAMES.length]}/>`);
      child.attrs.xmlns = NAMESPACES[(n >> 4) % NAMESPACES.length];
      child.children = [text];
      kids.splice(n % (kids.length + 1), 0, child);
      break;
    }
    default:
      kids.reverse();
  }
}

/** A parsed seed with 1 to `maxOps` tree edits (always an element; any text, attributes and children). */
export function mutatedTree(seeds: readonly string[], maxOps = 5): fc.Arbitrary<Element> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(treeOp, { minLength: 1, maxLength: maxOps })).map(([seed, ops]) => {
    const root = parse(seed);
    for (const op of ops) applyTreeOp(root, op);
    return root;
  });
}

const valueOp = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.nat(), fc.jsonValue({ maxDepth: 2 }), piece);
type ValueOp = [number, number, unknown, string];

/** Every container of a JSON value, with its keys. */
function containers(v: unknown, out: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (typeof v !== "object" || v === null) return out;
  out.push(v as Record<string, unknown>);
  for (const c of Object.values(v)) containers(c, out);
  return out;
}

function applyValueOp(root: unknown, [kind, at, value, p]: ValueOp): void {
  const all = containers(root);
  if (all.length === 0) return;
  const c = all[at % all.length]!;
  const keys = Object.keys(c);
  const key = keys.length === 0 ? p : keys[at % keys.length]!;
  const rec = c as Record<string, unknown>;
  // Only an own value: a generated key may name an inherited one ("toString"), which is no JSON.
  const current = Object.hasOwn(rec, key) ? rec[key] : null;
  switch (kind) {
    case 0:
      rec[key] = value; // a subtree replaced by anything
      break;
    case 1:
      if (Array.isArray(c)) c.splice(at % (c.length + 1), 1);
      else delete rec[key];
      break;
    case 2:
      if (Array.isArray(c)) c.push(structuredClone(c[at % (c.length || 1)]));
      else rec[p] = structuredClone(current);
      break;
    default:
      rec[key] = typeof current === "string" ? applyTextOp(current, [at % 6, at, at % 64, p]) : p;
  }
}

/** A deep copy of a seed value with 1 to `maxOps` edits. */
export function mutatedValue(seeds: readonly unknown[], maxOps = 5): fc.Arbitrary<unknown> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(valueOp, { minLength: 1, maxLength: maxOps })).map(([seed, ops]) => {
    const copy: unknown = structuredClone(seed);
    for (const op of ops) applyValueOp(copy, op);
    return copy;
  });
}
