// protocol.md section 9: a message from a plain XMPP client — a <body> and
// no `x` element — and the words it may send as commands. Pure.
import type { Element } from "@xmpp/xml";
import { fail, ok, type Result } from "./result.js";
import { MAX_ID_LENGTH } from "./message.js";
import { NS_RECEIPTS, NS_SID } from "./ns.js";

export interface PlainMessage {
  id?: string;
  /** The text of the body, trimmed. */
  text: string;
  /** The client's <thread>, echoed in replies. */
  thread?: string;
  /** The stanza's xml:lang, if it has one. */
  lang?: string;
  /** origin-id (XEP-0359) if present, else the stanza id (protocol.md section 2). */
  dedupeKey?: string;
  /** XEP-0184: the client asked for a receipt. */
  receiptRequested: boolean;
}

/** Children in the stanza's own namespace (jabber:client, jabber:component:accept). */
function own(el: Element, name: string): Element[] {
  const ns = el.getNS();
  return el.getChildren(name).filter((c) => c.getNS() === ns);
}

function attr(el: Element, name: string): string | undefined {
  const v: unknown = el.attrs[name];
  return typeof v === "string" ? v : undefined;
}

/** A message a plain client sent to be read: it has a <body> and no `x` element of `namespace`. */
export function isPlainMessage(el: Element, namespace: string): boolean {
  return el.getName() === "message" && own(el, "body").length > 0 && el.getChild("x", namespace) === undefined;
}

/** The body without xml:lang, else the one in the stanza's language, else the first (RFC 6121 section 5.2.3). */
function bodyText(el: Element): string {
  const bodies = own(el, "body");
  const lang = attr(el, "xml:lang");
  const chosen = bodies.find((b) => attr(b, "xml:lang") === undefined) ?? bodies.find((b) => attr(b, "xml:lang") === lang) ?? bodies[0];
  return chosen?.getText() ?? "";
}

/** Error fields: "id", "origin-id", "thread", "body". */
export function decodePlainMessage(el: Element, opts: { maxTextLength: number }): Result<PlainMessage> {
  const id = attr(el, "id");
  if (id !== undefined && id.length > MAX_ID_LENGTH) return fail("BAD_REQUEST", "id", `longer than ${MAX_ID_LENGTH}`);
  const origin = el.getChildren("origin-id", NS_SID)[0];
  const originId = origin ? attr(origin, "id") : undefined;
  if (origin && (originId === undefined || originId === "")) return fail("BAD_REQUEST", "origin-id", "missing id attribute");
  if (originId !== undefined && originId.length > MAX_ID_LENGTH) return fail("BAD_REQUEST", "origin-id", `longer than ${MAX_ID_LENGTH}`);
  const threads = own(el, "thread");
  if (threads.length > 1) return fail("BAD_REQUEST", "thread", "more than one thread element");
  const thread = threads[0]?.getText().trim();
  if (thread !== undefined && thread.length > MAX_ID_LENGTH) return fail("BAD_REQUEST", "thread", `longer than ${MAX_ID_LENGTH}`);
  const text = bodyText(el).trim();
  if (text === "") return fail("BAD_REQUEST", "body", "the message is empty");
  if ([...text].length > opts.maxTextLength) return fail("PAYLOAD_TOO_LARGE", "body", `longer than ${opts.maxTextLength} characters`);
  const lang = attr(el, "xml:lang");
  const dedupeKey = originId ?? (id === "" ? undefined : id);
  return ok({
    text,
    receiptRequested: el.getChild("request", NS_RECEIPTS) !== undefined,
    ...(id !== undefined && id !== "" ? { id } : {}),
    ...(thread ? { thread } : {}),
    ...(lang ? { lang } : {}),
    ...(dedupeKey !== undefined ? { dedupeKey } : {}),
  });
}

/** protocol.md section 9: the commands of plain clients (also XEP-0050 nodes of the same names). */
export const PLAIN_COMMANDS = ["operator", "close", "reset", "vote", "callback"] as const;
export type PlainCommand = (typeof PLAIN_COMMANDS)[number];

/**
 * The words of one language. "callback" may be left out (a language added
 * before it existed): then that language has no word for it, the others' work.
 */
export type LanguageWords = Record<Exclude<PlainCommand, "callback">, string> & { callback?: string };

/** Config `plain.commands`: per language, the word of each command. */
export type CommandWords = Record<string, LanguageWords>;

/**
 * The command a whole message names, alone or after `!` (not `/`: most
 * clients keep it for their own commands), in any configured language,
 * case-insensitive; null for anything else.
 */
export function parsePlainCommand(text: string, words: CommandWords): PlainCommand | null {
  const t = text.trim().replace(/^!/, "").trim().toLocaleLowerCase();
  if (t === "") return null;
  for (const byCommand of Object.values(words)) {
    for (const command of PLAIN_COMMANDS) if (byCommand[command]?.toLocaleLowerCase() === t) return command;
  }
  return null;
}

/**
 * The word of `command` in the conversation's language (or its primary
 * subtag), else in `fallback`'s, else in any language that has one: every
 * configured language's words are understood, so any of them works.
 */
export function commandWordFor(words: CommandWords, command: PlainCommand, lang: string, fallback: string): string | undefined {
  const of = (w: LanguageWords | undefined) => w?.[command];
  return (
    of(wordsOf(words, lang)) ??
    of(wordsOf(words, fallback)) ??
    Object.values(words)
      .map(of)
      .find((w) => w !== undefined)
  );
}

function wordsOf(words: CommandWords, lang: string): LanguageWords | undefined {
  return words[lang] ?? words[lang.split("-")[0]!.toLowerCase()];
}
