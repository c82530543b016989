// Codec benchmark (no pass/fail): one inbound v2.1 chat_text stanza decoded
// the way the router does it (parse XML → decodeMessage → decodePayload →
// parseThread → checkIdentity) and a reply encoded (buildRouterThread →
// chatText → toString). Prints operations per second.
import { parse } from "ltx";
import { decodeMessage } from "../src/protocol/message.js";
import { encodeBase64, msisdnHash } from "../src/protocol/msisdn.js";
import { chatText } from "../src/protocol/outbound.js";
import { decodePayload } from "../src/protocol/payloads.js";
import { buildRouterThread, checkIdentity, parseThread } from "../src/protocol/thread.js";

const protocol = {
  namespace: "urn:eime:x:0",
  defaultLang: "it",
  defaultCountryCode: "39",
  maxPayloadBytes: 65536,
  maxTextLength: 4096,
  maxListEntries: 500,
};
const thread = `${encodeBase64(msisdnHash("393471111111"))}|$|${encodeBase64("Supporto")}`;
const STANZA =
  `<message xmlns="jabber:component:accept" from="393471111111@eime.local/android-7" to="supporto@router.eime.local" type="chat" id="c2a9" xml:lang="it">` +
  `<thread>${thread}</thread>` +
  `<x xmlns="urn:eime:x:0"><type>chat_text</type><action>chat_text</action>` +
  `<payload>{"text":"Buongiorno, vorrei informazioni sulla mia offerta","data":{"apiVersion":2.1,"os":"android","appVersion":"0.4.65","premium":false,"useChatDynamic":true,"token":"RF1gQhRdSMtq89cn048Zn4Nwfu7amh2wBDdgWqnKnsjz/4Ok+HTXnC7ts6x65AXMOR1LjsKwsbdgBo4KFMavO7P3U+iK8sqZIIioI+FgFPc"}}</payload>` +
  `<lang>it</lang></x><origin-id xmlns="urn:xmpp:sid:0" id="5f1c2e"/><body>Buongiorno, vorrei informazioni sulla mia offerta</body></message>`;

let sink = 0;

function once(): void {
  const el = parse(STANZA);
  const msg = decodeMessage(el, protocol);
  if (!msg.ok) throw new Error(msg.error.message);
  const payload = decodePayload(msg.value.x, protocol);
  if (!payload.ok || payload.value.type !== "chat_text") throw new Error("payload");
  const { apiVersion } = payload.value.data;
  const parsed = parseThread(msg.value.thread ?? "", apiVersion, protocol.defaultCountryCode);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const localpart = msg.value.from.slice(0, msg.value.from.indexOf("@"));
  const who = checkIdentity(parsed.value, localpart, protocol.defaultCountryCode);
  if (!who.ok) throw new Error(who.error.message);
  const title = parsed.value.form === "v1" ? "Supporto" : (parsed.value.title ?? "Supporto");
  const replyThread = buildRouterThread({ apiVersion, msisdn: who.value.msisdn, channelAddress: "supporto", chatTitle: title });
  const reply = chatText({
    from: msg.value.to,
    to: msg.value.from,
    id: "r-1",
    thread: replyThread,
    lang: msg.value.x.lang,
    namespace: protocol.namespace,
    text: "Certo! Ecco le informazioni sulla tua offerta.",
    data: { conversationType: "bot", chatTitle: title },
  });
  sink += reply.toString().length;
}

function run(ms: number): { ops: number; elapsed: number } {
  const start = performance.now();
  let ops = 0;
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 100; i++) once();
    ops += 100;
    now = performance.now();
  }
  return { ops, elapsed: now - start };
}

run(1000); // warm-up
const { ops, elapsed } = run(4000);
const perSec = Math.round((ops / elapsed) * 1000);
console.log(
  `codec round trip (decode v2.1 chat_text + encode reply): ${perSec.toLocaleString("en-US")} ops/s, ${(1e6 / perSec).toFixed(1)} µs/op (${ops} ops in ${(elapsed / 1000).toFixed(2)} s; checksum ${sink % 1000})`,
);
