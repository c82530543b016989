// Malformed and mutated client stanzas for the "malformed" scenario: what a
// buggy or hostile client can put through Prosody to the router. Each is
// well-formed XML on the client's stream (Prosody would drop the client, not
// the router, otherwise); the harm is in what the router decodes from it:
// JSON escapes of characters XML 1.0 forbids (\u0001, \uFFFE, NUL, lone
// surrogates), such characters in a base64 chat title, broken JSON, wrong
// types, missing or foreign fields, oversize values, random character flips.
// Deterministic: the same seed gives the same stanzas.
import xml, { type Element } from "@xmpp/xml";
import { v2Thread } from "../test/e2e/support/eime.js";

const NS_X = "urn:eime:x:0";
const NS_SID = "urn:xmpp:sid:0";
const NS_RECEIPTS = "urn:xmpp:receipts";
/** Characters XML 1.0 forbids or PostgreSQL refuses, as JSON escapes (the stanza itself stays valid XML). */
const BAD_ESCAPES = ["\\u0001", "\\u0008", "\\u000b", "\\u001f", "\\ufffe", "\\uffff", "\\u0000", "\\ud800", "\\udfff"];
const BAD_CHARS = ["\u0001", "\u0008", "\u000b", "\u001f", "\ufffe", "\uffff", "\u0000"];

export interface MutationContext {
  msisdn: string;
  /** Another user's MSISDN, for identity mismatches. */
  otherMsisdn: string;
  channel: string;
  componentDomain: string;
}

type Random = () => number;

function prng(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

interface Parts {
  to: string;
  type: string;
  thread: string | undefined;
  xType: string | undefined;
  payload: string | undefined;
  originId: string | undefined | null;
  extra: Element[];
}

const DATA = '{"apiVersion":2.1,"os":"android","appVersion":"0.4.65","premium":false}';

/** One mutation: changes the parts of a valid chat_text. */
const MUTATIONS: ((p: Parts, r: Random, c: MutationContext) => void)[] = [
  (p, r) => (p.payload = `{"text":"a${pick(r, BAD_ESCAPES)}b","data":${DATA}}`),
  (p, r) => (p.payload = `{"text":"${pick(r, BAD_ESCAPES)}","data":${DATA}}`),
  (p, r, c) => (p.thread = v2Thread(c.msisdn, `titolo${pick(r, BAD_CHARS)}`)),
  (p, r) => (p.payload = `{"text":"ok","data":{"apiVersion":2.1,"os":"android${pick(r, BAD_ESCAPES)}","appVersion":"1","premium":false}}`),
  (p, r) => (p.payload = (p.payload ?? "").slice(0, Math.floor(r() * (p.payload ?? "").length))),
  (p) => (p.payload = "not json at all"),
  (p) => (p.payload = `{"text":42,"data":${DATA}}`),
  (p) => (p.payload = `{"text":"no data"}`),
  (p) => (p.payload = `{"text":"x","data":{"apiVersion":"9","os":"android"}}`),
  (p) => (p.payload = `[1,2,3]`),
  (p) => (p.payload = `{"text":"${"y".repeat(5000)}","data":${DATA}}`),
  (p) => (p.payload = `{"text":"${"z".repeat(70_000)}","data":${DATA}}`),
  (p) => (p.payload = undefined),
  (p) => (p.xType = undefined),
  (p, r) => (p.xType = pick(r, ["chat_vote", "cmd_search_users", "bogus", "", "chat_notice"])),
  (p) => (p.thread = undefined),
  (p, r) => (p.thread = pick(r, ["", "!!!", "bm90LWEtaGFzaA==", "12345", "|$|", "a|$|b|$|c"])),
  (p, r, c) => (p.thread = v2Thread(c.otherMsisdn, "altro")),
  (p, r, c) => (p.to = `${pick(r, ["nessuno", "x", "a.b.c", "UPPER"])}@${c.componentDomain}`),
  (p, r) => (p.type = pick(r, ["groupchat", "headline", "normal", "bogus"])),
  (p) => (p.originId = null),
  (p) => (p.originId = "o".repeat(3000)),
  (p) => p.extra.push(xml("x", { xmlns: NS_X }, xml("type", {}, "chat_text"))),
  (p, r) => p.extra.push(xml("payload", {}, pick(r, ["{}", "stray"]))),
  // Random character flips in the payload JSON.
  (p, r) => {
    const chars = [...(p.payload ?? "")];
    for (let i = 0; i < 3; i++) chars[Math.floor(r() * chars.length)] = pick(r, ['"', "\\", "{", "}", ",", ":", "\\u", "é", "𝄞"]);
    p.payload = chars.join("");
  },
];

/** `count` mutated stanzas, each with a distinct id `mx-<seed>-<n>` (some ask for a receipt). */
export function* mutatedStanzas(count: number, seed: number, ctx: MutationContext): Generator<Element> {
  const r = prng(seed);
  for (let n = 0; n < count; n++) {
    const p: Parts = {
      to: `${ctx.channel}@${ctx.componentDomain}`,
      type: "chat",
      thread: v2Thread(ctx.msisdn, "mutanti"),
      xType: "chat_text",
      payload: `{"text":"mutante ${n}","data":${DATA}}`,
      originId: `mx-${seed}-${n}`,
      extra: [],
    };
    const times = 1 + Math.floor(r() * 2);
    for (let i = 0; i < times; i++) pick(r, MUTATIONS)(p, r, ctx);
    yield build(p, `mx-${seed}-${n}`, r() < 0.5);
  }
}

function build(p: Parts, id: string, receipt: boolean): Element {
  const children: Element[] = [];
  if (p.thread !== undefined) children.push(xml("thread", {}, p.thread));
  const x: Element[] = [];
  if (p.xType !== undefined) x.push(xml("type", {}, p.xType), xml("action", {}, p.xType));
  if (p.payload !== undefined) x.push(xml("payload", {}, p.payload));
  children.push(xml("x", { xmlns: NS_X }, ...x), ...p.extra);
  if (p.originId === null) children.push(xml("origin-id", { xmlns: NS_SID }));
  else if (p.originId !== undefined) children.push(xml("origin-id", { xmlns: NS_SID, id: p.originId }));
  if (receipt) children.push(xml("request", { xmlns: NS_RECEIPTS }));
  return xml("message", { to: p.to, type: p.type, id }, ...children);
}
