// No stanza can break the stream (issue 12 item 4, design.md rule 8). Every
// class of code point (fuzz/arbitraries.ts: C0 controls, NUL, lone surrogates,
// U+FFFE/U+FFFF, astral pairs, markup) goes the way a user's message goes:
// decode → store (PGlite, the same PostgreSQL code that refuses NUL and lone
// surrogates in text and jsonb) → encode the answer that echoes the text and
// the chat title → a strict XML 1.0 parser (saxes). Each input ends either as
// well-formed output or as a protocol error (itself well-formed), never as a
// database error or a thrown exception. Text from a bot goes the same way
// from its side.
import { type Element } from "@xmpp/xml";
import xml from "@xmpp/xml";
import fc from "fast-check";
import { parse } from "ltx";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../../src/errors.js";
import {
  buildRouterThread,
  chatDynamic,
  chatText,
  decodeMessage,
  decodePayload,
  encodeBase64,
  mendElement,
  msisdnHash,
  parseThread,
  protocolErrorReply,
  type ProtocolError,
} from "../../../src/protocol/index.js";
import { openStore, type Store } from "../../../src/store/index.js";
import { allowedString, asciiJson, assertWellFormed, classString } from "../../../fuzz/arbitraries.js";
import { pgliteConfig, silentLogging } from "../../support/db.js";

const NS = "urn:eime:x:0";
const OPTS = { namespace: NS, defaultLang: "it", maxPayloadBytes: 65536 };
const LIMITS = { maxTextLength: 4096, maxListEntries: 500 };
const MSISDN = "393471111111";
const USER = `${MSISDN}@eime.local`;
const CHANNEL = "supporto";
const RUNS = { numRuns: 250 };

/** The message a client would send: the payload JSON either all-ASCII (\u escapes) or raw, the title in the thread. */
function inboundStanza(text: string, key: string, title: string, rawJson: boolean, id: string): Element {
  const payload = { text, data: { apiVersion: "2.1", [key]: text } };
  const thread = `${encodeBase64(msisdnHash(MSISDN))}|$|${encodeBase64(title)}`;
  return xml(
    "message",
    { xmlns: "jabber:client", from: `${USER}/phone`, to: `${CHANNEL}@router.eime.local`, type: "chat", id },
    xml("thread", {}, thread),
    xml(
      "x",
      { xmlns: NS },
      xml("type", {}, "chat_text"),
      xml("action", {}, "chat_text"),
      xml("payload", {}, rawJson ? JSON.stringify(payload) : asciiJson(payload)),
    ),
  );
}

type Decoded = { ok: true; text: string; title: string; payload: Record<string, unknown> } | { ok: false; error: ProtocolError };

function decode(stanza: Element): Decoded {
  const m = decodeMessage(stanza, OPTS);
  if (!m.ok) return m;
  const p = decodePayload(m.value.x, LIMITS);
  if (!p.ok) return p;
  if (p.value.type !== "chat_text") throw new Error("unexpected type");
  const t = parseThread(m.value.thread ?? "", p.value.data.apiVersion, "39");
  if (!t.ok) return t;
  if (t.value.form !== "client" || t.value.title === undefined) throw new Error("unexpected thread");
  return { ok: true, text: p.value.text, title: t.value.title, payload: { text: p.value.text, data: p.value.data } };
}

function expectProtocolError(stanza: Element, error: ProtocolError): void {
  expect(ERROR_CODES).toContain(error.code);
  expect(error.field).not.toBe("");
  assertWellFormed(protocolErrorReply(stanza, error, { namespace: NS }).toString());
}

describe("no stanza can break the stream", () => {
  let store: Store;
  let n = 0;

  beforeAll(async () => {
    store = await openStore(pgliteConfig(), silentLogging());
  });
  afterAll(async () => {
    await store?.close();
  });

  it("a user's text, payload and chat title: well-formed answer or a protocol error, never a database error", async () => {
    // Text, a payload key and the title: from every class, or (as often) only from classes XML allows.
    const fields = fc.oneof(
      fc.tuple(classString(12, 1), classString(4, 1), classString(6, 1)),
      fc.tuple(allowedString(12, 1), allowedString(4, 1), allowedString(6, 1)),
    );
    let answered = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fields, fc.boolean(), async ([text, key, title], rawJson) => {
        const id = `m${++n}`;
        const stanza = inboundStanza(text, key, title, rawJson, id);
        const decoded = decode(stanza);
        if (!decoded.ok) {
          refused++;
          return expectProtocolError(stanza, decoded.error);
        }
        answered++;
        const c = await store.conversations.create({
          userJid: USER,
          msisdn: MSISDN,
          channel: `${CHANNEL}-${n}`, // a conversation of its own: titles repeat across runs
          chatTitle: decoded.title,
          addressing: { kind: "channel" },
          apiVersion: "2.1",
          lang: "it",
        });
        const step = await store.steps.append({
          conversationId: c.id,
          version: c.version,
          inbound: { sender: USER, dedupeKey: id, kind: "chat_text", text: decoded.text, payload: decoded.payload },
          outbound: [{ author: "bot", kind: "chat_text", text: decoded.text, dedupeKey: `out-${id}` }],
          enqueue: [],
          owner: "test",
          lockMs: 30_000,
        });
        expect(step.written).toBe(true);
        const stored = await store.conversations.get(c.id);
        const inbound = (await store.messages.transcript(c.id)).find((m) => m.direction === "in");
        expect(inbound?.text).toBe(decoded.text);
        expect(stored?.chatTitle).toBe(decoded.title);
        // An echo bot: the stored text and title go back to the user.
        const thread = buildRouterThread({ apiVersion: "2.1", msisdn: MSISDN, channelAddress: CHANNEL, chatTitle: stored!.chatTitle });
        const reply = chatText({
          from: `${CHANNEL}@router.eime.local`,
          to: USER,
          id: `r-${id}`,
          thread,
          lang: "it",
          namespace: NS,
          text: inbound!.text!,
          data: { conversationType: "bot", chatTitle: stored!.chatTitle },
        });
        assertWellFormed(reply.toString());
      }),
      RUNS,
    );
    // Both outcomes were exercised (the classes make both likely in every run).
    expect(answered).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it("a bot's text, buttons and extra JSON, however broken, are encoded as well-formed XML", () => {
    fc.assert(
      fc.property(classString(12), classString(4), classString(4), (text, title, key) => {
        const env = { from: `${CHANNEL}@router.eime.local`, to: USER, id: "b1", thread: "t", lang: "it", namespace: NS };
        const data = { conversationType: "bot" as const, chatTitle: title };
        assertWellFormed(chatText({ ...env, text, data }).toString());
        const rich = chatDynamic({ ...env, text, buttons: [{ title, payload: key }], image: key, data, custom: { [key]: [text] } });
        assertWellFormed(rich.toString());
      }),
      RUNS,
    );
  });

  it("the send path's last guard mends any tree, attributes included", () => {
    fc.assert(
      fc.property(classString(8), classString(8), (text, attr) => {
        const stanza = parse(`<message xmlns="jabber:client" to="u@eime.local"><body>x</body></message>`);
        stanza.attrs.id = attr;
        stanza.getChild("body")!.children = [text];
        stanza.c("subject").t(attr);
        mendElement(stanza);
        assertWellFormed(stanza.toString());
      }),
      RUNS,
    );
  });
});
