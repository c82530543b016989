// The four codecs under fuzz (issue 12 item 9), each driven the way the router
// drives it, with its input arbitrary (half generated, half mutated seeds).
// A target returns how the input ended: "ok", "refused" (the codec's own
// protocol error: a registered code naming a field) or "unparsable" (text no
// XML parser would hand the router). Anything thrown is a crash, and so is a
// broken invariant: a refusal without code or field, or output the router
// would send that holds a character XML forbids.
import type { Element } from "@xmpp/xml";
import fc from "fast-check";
import { parse } from "ltx";
import type { ApiVersion, DirectoryTree } from "../src/core/model.js";
import { ERROR_CODES } from "../src/errors.js";
import {
  channelsOf,
  channelVCard,
  checkIdentity,
  checkRouteKey,
  commandResult,
  decodeMessage,
  decodePayload,
  descJson,
  directoryDiscoItems,
  encodeBase64,
  encodeX,
  isXmlSafe,
  msisdnHash,
  parseDirectoryTree,
  parseThread,
  routeKeyOf,
  visibleItems,
  X_TYPES,
  type Result,
  type XElement,
} from "../src/protocol/index.js";
import { classString } from "./arbitraries.js";
import { DIRECTORY, MSISDN, NS, PAYLOADS, STANZAS, THREADS } from "./corpus.js";
import { mutatedText, mutatedTree, mutatedValue } from "./mutate.js";

export type Outcome = "ok" | "refused" | "unparsable";

export interface Target<T> {
  name: string;
  /** Generated and mutated inputs, about half each. */
  input: fc.Arbitrary<T>;
  run(input: T): Outcome;
}

const OPTS = { namespace: NS, defaultLang: "it", maxPayloadBytes: 65536 };
const LIMITS = { maxTextLength: 4096, maxListEntries: 500 };
const CC = "39";

/** Fails (a crash) unless a refusal is the codec's own protocol error. */
function judge<T>(r: Result<T>): r is { ok: true; value: T } {
  if (r.ok) return true;
  const { code, field, message } = r.error;
  if (!ERROR_CODES.includes(code) || typeof field !== "string" || field === "" || typeof message !== "string") {
    throw new Error(`invariant: refusal without a registered code and a field: ${JSON.stringify(r.error)}`);
  }
  if (!isXmlSafe(field) || !isXmlSafe(message)) throw new Error(`invariant: error text holds a character XML forbids`);
  return false;
}

function safeOutput(el: Element | string, what: string): void {
  const text = typeof el === "string" ? el : el.toString();
  if (!isXmlSafe(text)) throw new Error(`invariant: ${what} holds a character XML forbids`);
}

// ---- x element (and the message around it)

type XInput = { text: string } | { tree: Element };

const generatedStanza = fc
  .tuple(
    fc.oneof(fc.constantFrom(...X_TYPES), classString(3)),
    fc.oneof(fc.constantFrom(...X_TYPES), classString(3)),
    fc.oneof(fc.constantFrom(...Object.values(PAYLOADS).flat()), fc.json({ maxDepth: 3 }), classString(10)),
    fc.option(fc.oneof(fc.constantFrom(...THREADS), classString(8))),
    fc.option(fc.oneof(fc.constantFrom("it", "en", "", " EN-us "), classString(4))),
  )
  .map(([type, action, payload, thread, lang]) => {
    const root = parse(`<message xmlns="jabber:component:accept" from="${MSISDN}@eime.local/a" to="supporto@router.eime.local" id="i"/>`);
    if (thread !== null) root.c("thread").t(thread);
    const x = root.c("x", { xmlns: NS });
    x.c("type").t(type);
    x.c("action").t(action);
    x.c("payload").t(payload);
    if (lang !== null) x.c("lang").t(lang);
    return root;
  });

const xInput: fc.Arbitrary<XInput> = fc.oneof(
  generatedStanza.map((tree) => ({ tree })),
  mutatedTree(STANZAS).map((tree) => ({ tree })),
  mutatedText(STANZAS).map((text) => ({ text })),
);

function runX(input: XInput): Outcome {
  let el: Element;
  if ("tree" in input) el = input.tree;
  else {
    try {
      el = parse(input.text);
    } catch {
      return "unparsable";
    }
  }
  const m = decodeMessage(el, OPTS);
  if (!judge(m)) return "refused";
  safeOutput(encodeX(m.value.x, NS), "encodeX of a decoded x");
  const p = decodePayload(m.value.x, LIMITS);
  if (!judge(p)) return "refused";
  if (p.value.type === "cmd_search_users" || p.value.type === "cmd_add_to_roster") {
    safeOutput(commandResult(m.value, { status: 1, errorCode: "BAD_REQUEST", errorMessages: ["x"] }, { namespace: NS }), "commandResult");
  }
  return "ok";
}

// ---- payload (the JSON inside <payload>, typed by x type)

type PayloadInput = { type: (typeof X_TYPES)[number]; payload: unknown };

const seedPayloads = Object.entries(PAYLOADS).flatMap(([, ps]) => ps.map((p) => JSON.parse(p) as unknown));

const payloadInput: fc.Arbitrary<PayloadInput> = fc.record({
  type: fc.constantFrom(...X_TYPES),
  payload: fc.oneof(
    fc.dictionary(
      fc.oneof(fc.constantFrom("text", "data", "code", "userList", "channelUsers", "hashed"), fc.string()),
      fc.jsonValue({ maxDepth: 3 }),
    ),
    mutatedValue(seedPayloads),
    mutatedText(Object.values(PAYLOADS).flat()).map((t) => {
      try {
        return JSON.parse(t) as unknown;
      } catch {
        return { text: t };
      }
    }),
  ),
});

function runPayload({ type, payload }: PayloadInput): Outcome {
  // decodeX hands decodePayload an object only.
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) payload = { value: payload };
  const x: XElement = { type, action: type, payload: payload as Record<string, unknown>, lang: "it" };
  return judge(decodePayload(x, LIMITS)) ? "ok" : "refused";
}

// ---- thread (§3), with the identity and route checks

type ThreadInput = { thread: string; apiVersion: ApiVersion; sender: string; channel: string };

const threadPiece = fc.oneof(
  fc.constantFrom("|$|", ":", "_", "=", "+", "/", "00", "+39"),
  fc.stringMatching(/^[0-9a-fA-F]{1,64}$/),
  fc.base64String({ maxLength: 96 }),
  fc.uuid().map(String),
  classString(3),
);

/** Threads built from valid parts (§3: [R:]H[|$|T][_UUID]), each part sometimes replaced by a wrong one. */
const structuredThread = fc
  .tuple(
    fc.oneof(
      fc.constant(""),
      fc.constantFrom("supporto", "atm_milano").map((c) => `${routeKeyOf(c)}:`),
      threadPiece.map((p) => `${p}:`),
    ),
    fc.oneof(
      { arbitrary: fc.constantFrom(MSISDN, "393472222222").map((m) => encodeBase64(msisdnHash(m))), weight: 3 },
      { arbitrary: threadPiece, weight: 1 },
    ),
    fc.option(fc.oneof(classString(6, 1).map(encodeBase64), threadPiece), { freq: 2 }),
    fc.option(fc.oneof(fc.uuid().map(String), threadPiece), { freq: 2 }),
  )
  .map(([r, h, t, u]) => `${r}${h}${t === null ? "" : `|$|${t}`}${u === null ? "" : `_${u}`}`);

const threadInput: fc.Arbitrary<ThreadInput> = fc.record({
  thread: fc.oneof(
    structuredThread,
    fc.stringMatching(/^(\+|00)?\d{8,16}$/), // v1: the plain MSISDN
    fc.array(threadPiece, { maxLength: 8 }).map((p) => p.join("")),
    mutatedText(THREADS),
  ),
  apiVersion: fc.constantFrom<ApiVersion>("1", "2", "2.1"),
  sender: fc.oneof({ arbitrary: fc.constantFrom(MSISDN, "3471111111"), weight: 3 }, { arbitrary: classString(4), weight: 1 }),
  channel: fc.constantFrom("supporto", "atm_milano", ""),
});

function runThread(t: ThreadInput): Outcome {
  const parsed = parseThread(t.thread, t.apiVersion, CC);
  if (!judge(parsed)) return "refused";
  if (!judge(checkIdentity(parsed.value, t.sender, CC))) return "refused";
  return judge(checkRouteKey(parsed.value, t.channel)) ? "ok" : "refused";
}

// ---- directory (§6): the admin tree, and everything rendered from it

const directoryInput: fc.Arbitrary<unknown> = fc.oneof(
  mutatedValue([DIRECTORY], 6),
  mutatedText([JSON.stringify(DIRECTORY)]).map((t) => {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t; // an admin body that is not JSON reaches the codec as whatever it is
    }
  }),
  fc.record({ items: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 4 }) }),
  fc.jsonValue({ maxDepth: 3 }),
);

function runDirectory(input: unknown): Outcome {
  const r = parseDirectoryTree(input);
  if (!judge(r)) return "refused";
  const tree: DirectoryTree = r.value;
  for (const platform of ["web", "mobile", null] as const) {
    visibleItems(tree, platform);
    safeOutput(descJson(tree, platform), "descJson");
  }
  safeOutput(directoryDiscoItems(tree, "router.eime.local"), "disco items");
  for (const c of channelsOf(tree)) safeOutput(channelVCard(c), "channel vCard");
  return "ok";
}

export const TARGETS = [
  { name: "x-element", input: xInput, run: runX } satisfies Target<XInput>,
  { name: "payload", input: payloadInput, run: runPayload } satisfies Target<PayloadInput>,
  { name: "thread", input: threadInput, run: runThread } satisfies Target<ThreadInput>,
  { name: "directory", input: directoryInput, run: runDirectory } satisfies Target<unknown>,
] as const;
