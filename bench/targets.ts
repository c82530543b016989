// What the clients send and how a reply is recognised, per system under test.
// Both send the same v2.1 chat_text stanza (text and id `b<seq>`), so the
// ceiling carries the same bytes as the router.
import type { Element } from "@xmpp/xml";
import { chatText, readError, v2Thread } from "../test/e2e/support/eime.js";
import type { TestClient } from "../test/e2e/harness/client.js";
import type { Conv, Match, Target } from "./load.js";

export const CHANNEL = "supporto";
const DATA = { apiVersion: 2.1, os: "android", appVersion: "0.4.65", premium: false };
const ECHO_PREFIX = "Hai scritto: b";

/** 12-digit MSISDNs 39347000000N (the client usernames). */
export function msisdnOf(i: number): string {
  return `39347${String(i + 1).padStart(7, "0")}`;
}

export function conv(client: TestClient, msisdn: string, index: number, title: string): Conv {
  return { client, index, title, thread: v2Thread(msisdn, title) };
}

function build(domain: string) {
  const to = `${CHANNEL}@${domain}`;
  return (c: Conv, seq: number): Element => chatText(`b${seq}`, DATA, { to, thread: c.thread, id: `b${seq}` });
}

function errorMatch(el: Element): Match {
  const id = el.attrs.id as string | undefined;
  if (!id || id[0] !== "b") return undefined;
  const e = readError(el);
  return { seq: Number(id.slice(1)), error: e ? `${e.condition}/${e.app}: ${e.text}` : el.toString().slice(0, 300) };
}

/** The bare echo component sends the very stanza back (same id). */
export function echoTarget(domain: string): Target {
  return {
    name: "ceiling",
    build: build(domain),
    match(el) {
      if (el.name !== "message") return undefined;
      if (el.attrs.type === "error") return errorMatch(el);
      const id = el.attrs.id as string | undefined;
      return id && id[0] === "b" ? { seq: Number(id.slice(1)) } : undefined;
    },
  };
}

/** The router answers with the sample bot's echo, a chat_text "Hai scritto: b<seq>"; the greeting is not counted. */
export function routerTarget(domain: string, name: string): Target {
  return {
    name,
    build: build(domain),
    match(el) {
      if (el.name !== "message") return undefined;
      if (el.attrs.type === "error") return errorMatch(el);
      const body = el.getChildText("body");
      if (!body || !body.startsWith(ECHO_PREFIX)) return undefined;
      return { seq: Number(body.slice(ECHO_PREFIX.length)) };
    },
  };
}
