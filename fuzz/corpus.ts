// Seed inputs of the fuzzer: valid inputs of every codec, shaped like the
// spec's examples (shared/spec/protocol.md §2, §3, §6, §7). Mutations start
// from these, so most mutants get past the first checks and reach deep code.
import { encodeBase64, msisdnHash, routeKeyOf } from "../src/protocol/index.js";

export const NS = "urn:eime:x:0";
export const MSISDN = "393471111111";
const H = encodeBase64(msisdnHash(MSISDN));
const T = encodeBase64("Supporto");
const R = routeKeyOf("supporto");
const UUID = "14850c10-6093-46fb-a7c4-9abf014b3991";

export const THREADS = [MSISDN, "+39 347 111 1111", H, `${H}|$|${T}`, `${R}:${H}|$|${T}`, `${R}:${H}|$|${T}_${UUID}`];

const data = '{"apiVersion":2.1,"os":"android","appVersion":"0.4.65","premium":false,"useChatDynamic":true,"token":"tok"}';

export const PAYLOADS: Record<string, string[]> = {
  chat_text: [`{"text":"sample text","data":${data}}`, '{"text":"ciao"}', `{"text":"a\\u00e8\\ud83d\\ude00","data":{"apiVersion":"2"}}`],
  chat_notice: [`{"code":"REQUEST_OPERATOR","data":${data}}`, '{"code":"CHAT_CLOSED","data":{"apiVersion":1}}'],
  chat_dynamic: [`{"text":"1","data":${data}}`],
  chat_interactive: [`{"text":"Operatore","data":{"apiVersion":2}}`],
  cmd_add_to_roster: ['{"channelUsers":[{"name":"Luca","address":"+39 347 222 2222"},{"address":"supporto"}]}', '{"channelUsers":[]}'],
  cmd_search_users: ['{"userList":["393472222222","3473333333"]}', `{"userList":["${H}"],"hashed":true}`],
};

const escapeText = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** An inbound EiMe message as the server delivers it (XEP-0114 namespace). */
export function stanzaText(type: string, payload: string, thread: string | undefined, extra = ""): string {
  return (
    `<message xmlns="jabber:component:accept" from="${MSISDN}@eime.local/android-7" to="supporto@router.eime.local" type="chat" id="c2a9">` +
    (thread === undefined ? "" : `<thread>${escapeText(thread)}</thread>`) +
    `<x xmlns="${NS}"><type>${type}</type><action>${type}</action><payload>${escapeText(payload)}</payload><lang>it</lang></x>` +
    `${extra}<body>sample text</body></message>`
  );
}

export const STANZAS: string[] = Object.entries(PAYLOADS).flatMap(([type, payloads]) =>
  payloads.flatMap((p, i) => [
    stanzaText(type, p, THREADS[(i * 2 + 3) % THREADS.length]),
    stanzaText(type, p, undefined, `<origin-id xmlns="urn:xmpp:sid:0" id="o-${i}"/><request xmlns="urn:xmpp:receipts"/>`),
  ]),
);

const info = (name: string) => ({ name, status: `${name} status`, imageUrl: "https://img.example/a.png", thumbUrl: "" });

/** An admin directory tree (protocol.md §6) using every kind of item and route. */
export const DIRECTORY = {
  items: [
    {
      address: "supporto",
      type: "channel",
      mobileIsPublished: true,
      webIsPublished: true,
      info: { ...info("Supporto"), defaultMessage: "Ciao!" },
      route: {
        mode: "bot+operator",
        bot: { url: "https://bot.example/s", timeoutMs: 5000, secret: "x" },
        genesys: { serviceName: "svc", premiumServiceName: "svc-premium" },
      },
    },
    {
      address: "tickets",
      type: "group",
      mobileIsPublished: true,
      webIsPublished: true,
      info: info("Biglietti"),
      items: [
        {
          address: "atm_milano",
          type: "channel",
          serverAddress: "myticket",
          mobileIsPublished: true,
          webIsPublished: false,
          info: info("ATM Milano"),
          route: { mode: "bot", bot: { url: "http://bot.example/hook" } },
        },
        {
          address: "atm_firenze",
          type: "channel",
          mobileIsPublished: false,
          webIsPublished: true,
          info: info("ATAF Firenze"),
          route: { mode: "operator", genesys: { serviceName: "tickets" } },
        },
      ],
    },
    { address: "empty_group", type: "group", mobileIsPublished: true, webIsPublished: true, info: info("Empty") },
  ],
};
