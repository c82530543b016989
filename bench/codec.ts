// Codec benchmark (no pass/fail): one inbound v2.1 chat_text stanza decoded
// the way the router does it (decodeMessage → decodePayload → parseThread →
// checkIdentity) and a reply encoded (buildRouterThread → chatText). Prints
// operations per second of three loops:
//   - the codec: from the parsed stanza to the reply's element;
//   - the round trip: the same, from the stanza's text (parsed as the component
//     connection parses its stream, @xmpp/xml's Parser) to the reply's text
//     (serialised once, as it is stored and sent);
//   - the XML parse and serialisation alone: what every component pays, the
//     echo component of `npm run bench` (the ceiling) too.
import { Parser, type Element } from "@xmpp/xml";
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

/** As the component connection reads its stream: one parser, stanzas as they come. */
const stream = new Parser();
let parsed: Element | undefined;
stream.on("element", (el: Element) => (parsed = el));
stream.write(`<stream:stream xmlns="jabber:component:accept" xmlns:stream="http://etherx.jabber.org/streams" id="bench">`);

function parseStanza(): Element {
  stream.write(STANZA);
  const el = parsed!;
  parsed = undefined;
  return el;
}

function codec(el: Element): Element {
  const msg = decodeMessage(el, protocol);
  if (!msg.ok) throw new Error(msg.error.message);
  const payload = decodePayload(msg.value.x, protocol);
  if (!payload.ok || payload.value.type !== "chat_text") throw new Error("payload");
  const { apiVersion } = payload.value.data;
  const parsedThread = parseThread(msg.value.thread ?? "", apiVersion, protocol.defaultCountryCode);
  if (!parsedThread.ok) throw new Error(parsedThread.error.message);
  const localpart = msg.value.from.slice(0, msg.value.from.indexOf("@"));
  const who = checkIdentity(parsedThread.value, localpart, protocol.defaultCountryCode);
  if (!who.ok) throw new Error(who.error.message);
  const title = parsedThread.value.form === "v1" ? "Supporto" : (parsedThread.value.title ?? "Supporto");
  const replyThread = buildRouterThread({ apiVersion, msisdn: who.value.msisdn, channelAddress: "supporto", chatTitle: title });
  return chatText({
    from: msg.value.to,
    to: msg.value.from,
    id: "r-1",
    thread: replyThread,
    lang: msg.value.x.lang,
    namespace: protocol.namespace,
    text: "Certo! Ecco le informazioni sulla tua offerta.",
    data: { conversationType: "bot", chatTitle: title },
  });
}

const ONE_STANZA = parse(STANZA);
const REPLY = codec(ONE_STANZA);

const loops: Record<string, () => void> = {
  "codec (parsed stanza → reply element)": () => {
    sink += codec(ONE_STANZA).children.length;
  },
  "round trip (stanza text → reply text)": () => {
    sink += codec(parseStanza()).toString().length;
  },
  "XML parse + serialise alone (any component)": () => {
    sink += parseStanza().children.length + REPLY.toString().length;
  },
};

/** Wall time, and CPU time of the process (the machine may be shared: CPU per op is the steadier figure). */
function run(once: () => void, ms: number): { ops: number; elapsed: number; cpuUs: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  let ops = 0;
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 100; i++) once();
    ops += 100;
    now = performance.now();
  }
  const used = process.cpuUsage(cpu);
  return { ops, elapsed: now - start, cpuUs: used.user + used.system };
}

const seconds = Number(process.env["BENCH_CODEC_SECONDS"] ?? 3);
for (const [name, once] of Object.entries(loops)) {
  run(once, 1000); // warm-up
  const { ops, elapsed, cpuUs } = run(once, seconds * 1000);
  const perSec = Math.round((ops / elapsed) * 1000);
  console.log(
    `${name.padEnd(44)} ${perSec.toLocaleString("en-US").padStart(9)} ops/s  ${(1e6 / perSec).toFixed(1).padStart(5)} µs/op  ` +
      `${(cpuUs / ops).toFixed(1).padStart(5)} µs CPU/op  (${ops} ops in ${(elapsed / 1000).toFixed(2)} s)`,
  );
}
console.log(`checksum ${sink % 1000}`);
