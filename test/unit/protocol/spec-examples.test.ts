// Every example of protocol.md and of the seeds 004 and 002, verbatim, XML in
// and XML / JSON out, as a client would see them.
import { describe, expect, it } from "vitest";
import type { DirectoryTree } from "../../../src/core/model.js";
import { descJson, parseDirectoryTree } from "../../../src/protocol/directory.js";
import { decodeMessage } from "../../../src/protocol/message.js";
import { encodeBase64 } from "../../../src/protocol/msisdn.js";
import { chatText, commandResult } from "../../../src/protocol/outbound.js";
import { decodePayload } from "../../../src/protocol/payloads.js";
import { buildRouterThread, checkIdentity, parseThread } from "../../../src/protocol/thread.js";
import { directoryVCard } from "../../../src/protocol/vcard.js";
import { CC, EX_H, EX_HEX, EX_T, LIMITS, MARIO, MARIO_H, NS, OPTS, R_SUPPORTO, SEED_R, SEED_UUID, el } from "./helpers.js";

function decodeAll(xmlText: string) {
  const m = decodeMessage(el(xmlText), OPTS);
  if (!m.ok) throw new Error(`decodeMessage: ${JSON.stringify(m.error)}`);
  const p = decodePayload(m.value.x, LIMITS);
  if (!p.ok) throw new Error(`decodePayload: ${JSON.stringify(p.error)}`);
  return { msg: m.value, payload: p.value };
}

describe("protocol.md §2: the x element example", () => {
  const SPEC_2 = `<message from="393471111111@eime.local/android-7" to="supporto@router.eime.local"
         type="chat" id="c2a9">
  <thread>MjFk…ZA==|$|U3VwcG9ydG8=</thread>
  <x xmlns="urn:eime:x:0">
    <type>chat_text</type>
    <action>chat_text</action>
    <payload>{"text":"sample text","data":{"apiVersion":2,"os":"android","appVersion":"0.4.65","premium":false,"token":"…"}}</payload>
    <lang>it</lang>
  </x>
  <body>sample text</body>
</message>`;

  it("decodes verbatim", () => {
    const { msg, payload } = decodeAll(SPEC_2);
    expect(msg).toEqual({
      id: "c2a9",
      from: "393471111111@eime.local/android-7",
      to: "supporto@router.eime.local",
      messageType: "chat",
      thread: "MjFk…ZA==|$|U3VwcG9ydG8=",
      body: "sample text",
      dedupeKey: "c2a9",
      x: {
        type: "chat_text",
        action: "chat_text",
        lang: "it",
        payload: { text: "sample text", data: { apiVersion: 2, os: "android", appVersion: "0.4.65", premium: false, token: "…" } },
      },
    });
    expect(payload).toEqual({
      type: "chat_text",
      text: "sample text",
      data: { apiVersion: "2", os: "android", appVersion: "0.4.65", premium: false, token: "…" },
    });
  });

  it("the abbreviated thread is not a valid thread; expanded to the §3 worked example it is the client form", () => {
    const abbreviated = parseThread("MjFk…ZA==|$|U3VwcG9ydG8=", "2", CC);
    expect(abbreviated).toEqual({
      ok: false,
      error: { code: "BAD_REQUEST", field: "thread", message: "user hash is not canonical base64" },
    });
    expect(parseThread(`${EX_H}|$|${EX_T}`, "2", CC)).toEqual({ ok: true, value: { form: "client", hash: EX_HEX, title: "Supporto" } });
  });

  it("with Mario's own hash in the thread, the router answers with exactly this stanza", () => {
    const { msg, payload } = decodeAll(SPEC_2.replace("MjFk…ZA==", MARIO_H));
    if (payload.type !== "chat_text") throw new Error(payload.type);
    const parsed = parseThread(msg.thread ?? "", payload.data.apiVersion, CC);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(checkIdentity(parsed.value, "393471111111", CC)).toEqual({ ok: true, value: { msisdn: MARIO } });
    const thread = buildRouterThread({ apiVersion: "2", msisdn: MARIO, channelAddress: "supporto", chatTitle: "Supporto" });
    const reply = chatText({
      from: msg.to,
      to: msg.from,
      id: "r-1",
      thread,
      lang: msg.x.lang,
      namespace: NS,
      text: "Ciao! Come posso aiutarti?",
      data: { conversationType: "bot" },
    });
    expect(reply.toString()).toBe(
      `<message from="supporto@router.eime.local" to="393471111111@eime.local/android-7" type="chat" id="r-1">` +
        `<thread>${R_SUPPORTO}:${MARIO_H}|$|U3VwcG9ydG8=</thread>` +
        `<x xmlns="urn:eime:x:0"><type>chat_text</type><action>chat_text</action>` +
        `<payload>{"text":"Ciao! Come posso aiutarti?","data":{"conversationType":"bot"}}</payload><lang>it</lang></x>` +
        `<body>Ciao! Come posso aiutarti?</body></message>`,
    );
  });

  it("the worked example is what the thread codec encodes", () => {
    expect(encodeBase64(EX_HEX)).toBe(EX_H);
    expect(encodeBase64("Supporto")).toBe(EX_T);
    expect(EX_H).toBe("MjFkNDQzMzQ1NTkyOWE5MTQyYjU2NWU5NDRjN2ExYmU1NzYwNTlkMDk4MjRmMTVmZDJjNDcwNzAxZDU3NDdkZA==");
  });
});

describe("seed 004: apiVersion 1, 2, 2.1", () => {
  const TOKEN = "RF1gQhRdSMtq89cn048Zn4Nwfu7amh2wBDdgWqnKnsjz/4Ok+HTXnC7ts6x65AXMOR1LjsKwsbdgBo4KFMavO7P3U+iK8sqZIIioI+FgFPc";
  const wrap = (thread: string, payload: string) =>
    `<message from="32012345678@eime.local/web-1" to="supporto@router.eime.local" type="chat" id="s1"><thread>${thread}</thread>` +
    `<x xmlns="urn:eime:x:0"><type>chat_text</type><action>chat_text</action><payload>${payload}</payload><lang>it</lang></x></message>`;

  it("v1 request: the plain MSISDN thread", () => {
    const payload = `{
"text": "sample text",
"data": {
"useChatDynamic": true,
"token": "${TOKEN}",
"resetSession": false,
"apiVersion": 1
}
}`;
    const { msg, payload: p } = decodeAll(wrap("32012345678", payload));
    expect(p).toEqual({
      type: "chat_text",
      text: "sample text",
      data: { useChatDynamic: true, token: TOKEN, resetSession: false, apiVersion: "1" },
    });
    const t = parseThread(msg.thread ?? "", "1", CC);
    expect(t).toEqual({ ok: true, value: { form: "v1", msisdn: "32012345678" } });
    if (t.ok) expect(checkIdentity(t.value, "32012345678", CC)).toEqual({ ok: true, value: { msisdn: "32012345678" } });
    expect(buildRouterThread({ apiVersion: "1", msisdn: "32012345678", channelAddress: "supporto", chatTitle: "Supporto" })).toBe(
      "32012345678",
    );
  });

  const v2payload = `{
"text": "sample text",
"data": {
"useChatDynamic": true,
"token": "${TOKEN}",
"thread": "${EX_H}",
"os": "web",
"appVersion": "0.4.65",
"apiVersion": 2,
"premium": false
}
}`;

  it("v2 / v2.1 request: the hash thread; data.thread is an unknown key, kept and ignored", () => {
    const { msg, payload: p } = decodeAll(wrap(EX_H, v2payload));
    expect(p).toEqual({
      type: "chat_text",
      text: "sample text",
      data: { useChatDynamic: true, token: TOKEN, thread: EX_H, os: "web", appVersion: "0.4.65", apiVersion: "2", premium: false },
    });
    expect(parseThread(msg.thread ?? "", "2", CC)).toEqual({ ok: true, value: { form: "client", hash: EX_HEX } });
  });

  it("v2 response thread parses as the router form", () => {
    const thread = `${SEED_R}:${EX_H}|$|${EX_T}`;
    expect(thread).toBe(
      "7ae1cb556a0cc9c29ca3fd36302628df5734e1b9edf1cd07eb0e7335eebd9ee2:MjFkNDQzMzQ1NTkyOWE5MTQyYjU2NWU5NDRjN2ExYmU1NzYwNTlkMDk4MjRmMTVmZDJjNDcwNzAxZDU3NDdkZA==|$|U3VwcG9ydG8=",
    );
    for (const v of ["2", "2.1"] as const) {
      expect(parseThread(thread, v, CC)).toEqual({
        ok: true,
        value: { form: "router", hash: EX_HEX, title: "Supporto", routeKey: SEED_R },
      });
    }
  });

  it("v2.1 response thread with the operator episode UUID parses as the router form", () => {
    const thread =
      "7ae1cb556a0cc9c29ca3fd36302628df5734e1b9edf1cd07eb0e7335eebd9ee2:MjFkNDQzMzQ1NTkyOWE5MTQyYjU2NWU5NDRjN2ExYmU1NzYwNTlkMDk4MjRmMTVmZDJjNDcwNzAxZDU3NDdkZA==|$|U3VwcG9ydG8=_14850c10-6093-46fb-a7c4-9abf014b3991";
    expect(parseThread(thread, "2.1", CC)).toEqual({
      ok: true,
      value: { form: "router", hash: EX_HEX, title: "Supporto", routeKey: SEED_R, episodeUuid: SEED_UUID },
    });
  });

  it("v2.1 response: the router's message carries data.chatTitle and the UUID thread", () => {
    const thread = buildRouterThread({
      apiVersion: "2.1",
      msisdn: MARIO,
      channelAddress: "supporto",
      chatTitle: "Supporto",
      episodeUuid: SEED_UUID,
    });
    expect(thread).toBe(`${R_SUPPORTO}:${MARIO_H}|$|U3VwcG9ydG8=_14850c10-6093-46fb-a7c4-9abf014b3991`);
    const reply = chatText({
      from: "supporto@router.eime.local",
      to: "393471111111@eime.local/web-1",
      id: "s2",
      thread,
      lang: "it",
      namespace: NS,
      text: "sample text",
      data: { conversationType: "bot", chatTitle: "Supporto" },
    });
    expect(reply.getChild("x")?.getChildText("payload")).toBe(
      '{"text":"sample text","data":{"conversationType":"bot","chatTitle":"Supporto"}}',
    );
  });
});

describe("protocol.md §6: DESC JSON", () => {
  // Verbatim from protocol.md §6 (the line breaks are layout between tokens).
  const SPEC_6 = `{"items":[{"address":"mobile_ticketing_group","type":"group","mobileIsPublished":true,
  "webIsPublished":false,"info":{"name":"Mobile Ticketing","status":"…","imageUrl":"…","thumbUrl":"…"},
  "items":[{"address":"atm_milano","type":"channel","serverAddress":"myticket",
    "mobileIsPublished":true,"webIsPublished":false,
    "info":{"name":"ATM Milano","status":"…","imageUrl":"…","thumbUrl":"…","defaultMessage":"…"}}]}]}`;

  // The equivalent admin tree: keys in another order, with a route that must never show.
  const admin: DirectoryTree = {
    items: [
      {
        info: { thumbUrl: "…", imageUrl: "…", status: "…", name: "Mobile Ticketing" },
        webIsPublished: false,
        mobileIsPublished: true,
        type: "group",
        address: "mobile_ticketing_group",
        items: [
          {
            route: { mode: "bot", bot: { url: "http://bot.local/atm", secret: "s" } },
            info: { defaultMessage: "…", name: "ATM Milano", status: "…", imageUrl: "…", thumbUrl: "…" },
            serverAddress: "myticket",
            webIsPublished: false,
            mobileIsPublished: true,
            type: "channel",
            address: "atm_milano",
          },
        ],
      },
    ],
  };

  it("is exactly the spec's JSON, for no platform and for mobile", () => {
    const expected = SPEC_6.replace(/\n\s*/g, "");
    expect(descJson(admin)).toBe(expected);
    expect(descJson(admin, "mobile")).toBe(expected);
  });

  it("a web client gets an empty directory", () => {
    expect(descJson(admin, "web")).toBe('{"items":[]}');
  });

  it("goes verbatim into the vCard DESC with the service name as FN", () => {
    expect(directoryVCard("EiMe", descJson(admin)).toString()).toBe(
      `<vCard xmlns="vcard-temp"><FN>EiMe</FN><DESC>${SPEC_6.replace(/\n\s*/g, "")}</DESC></vCard>`,
    );
  });
});

describe("seed 002: dynamic buddies", () => {
  const withRoutes = (json: string) => {
    const tree = JSON.parse(json) as { items: Record<string, unknown>[] };
    const add = (i: Record<string, unknown>) => {
      if (i["type"] === "channel") i["route"] = { mode: "bot", bot: { url: "https://bot.example/hook" } };
      else (i["items"] as Record<string, unknown>[]).forEach(add);
    };
    tree.items.forEach(add);
    return tree;
  };

  const MOBILE_TICKETING = `{
"items": [
{
"address": "mobile_ticketing_group",
"type": "group",
"mobileIsPublished": true,
"webIsPublished": false,
"info": {
"name": "Mobile Ticketing",
"status": "Acquista qui i tuoi biglietti",
"imageUrl": "http://....",
"thumbUrl": "http://...."
},
"items": [
{
"address": "atm_milano",
"type": "channel",
"serverAddress": "myticket",
"mobileIsPublished": true,
"webIsPublished": false,
"info": {
"name": "ATM Milano",
"status": "Qui i biglietti di Milano",
"imageUrl": "http://....",
"thumbUrl": "http://....",
"defaultMessage": "Ciao qui puoi acquistare i fantastici biglietti di ATM Milano"
}
},
{
"address": "atm_firenze",
"type": "channel",
"serverAddress": "myticket",
"mobileIsPublished": true,
"webIsPublished": false,
"info": {
"name": "ATAF Firenze",
"status": "Qui i biglietti di Firenze",
"imageUrl": "http://....",
"thumbUrl": "http://....",
"defaultMessage": "Ciao qui puoi acquistare i fantastici biglietti di ATAF Firenze"
}
}
]
}
]
}`;

  it("the Mobile Ticketing example: admin tree in, the same JSON out", () => {
    const tree = parseDirectoryTree(withRoutes(MOBILE_TICKETING));
    if (!tree.ok) throw new Error(JSON.stringify(tree.error));
    expect(descJson(tree.value, "mobile")).toBe(JSON.stringify(JSON.parse(MOBILE_TICKETING)));
  });

  it("the simple channel example (address equal to its serverAddress)", () => {
    const LIAM = `{"items":[{"address":"liam","type":"channel","serverAddress":"liam","mobileIsPublished":true,"webIsPublished":false,"info":{"name":"Liam","status":"Life in a monk house","imageUrl":"http://....","thumbUrl":"http://....","defaultMessage":"Ciao qui puoi accedere a tutte le funzionalità della Monk House"}}]}`;
    const tree = parseDirectoryTree(withRoutes(LIAM));
    if (!tree.ok) throw new Error(JSON.stringify(tree.error));
    expect(descJson(tree.value)).toBe(LIAM);
  });

  it("the UUID-address example: the addresses are valid, keys come out in the spec's order, platforms filter", () => {
    const UUIDS = `{"items":[
{"address":"ae72f789-8edc-413e-870a-ec5d23877813","serverAddress":"bot-management","type":"channel","mobileIsPublished":true,"webIsPublished":true,"info":{"name":"bot-for-test-all-possibilities-facebook","status":"","imageUrl":"","thumbUrl":"","defaultMessage":""}},
{"address":"29ed6653-29db-47ff-ba44-344853fcbc61","serverAddress":"bot-management","type":"channel","mobileIsPublished":false,"webIsPublished":true,"info":{"name":"Bot for Test: All possibilities","status":"","imageUrl":"","thumbUrl":"","defaultMessage":""}},
{"address":"ffc2b639-bbc0-47c1-acd3-e9a4e74f865c","serverAddress":"bot-management","type":"channel","mobileIsPublished":true,"webIsPublished":false,"info":{"name":"Fibra Fastweb","status":"Fibra FW Demo","imageUrl":"","thumbUrl":"","defaultMessage":"Ottimo!"}}]}`;
    const tree = parseDirectoryTree(withRoutes(UUIDS));
    if (!tree.ok) throw new Error(JSON.stringify(tree.error));
    const item = (a: string, name: string, status: string, dm: string, m: boolean, w: boolean) =>
      `{"address":"${a}","type":"channel","serverAddress":"bot-management","mobileIsPublished":${m},"webIsPublished":${w},` +
      `"info":{"name":"${name}","status":"${status}","imageUrl":"","thumbUrl":"","defaultMessage":"${dm}"}}`;
    const a = item("ae72f789-8edc-413e-870a-ec5d23877813", "bot-for-test-all-possibilities-facebook", "", "", true, true);
    const b = item("29ed6653-29db-47ff-ba44-344853fcbc61", "Bot for Test: All possibilities", "", "", false, true);
    const c = item("ffc2b639-bbc0-47c1-acd3-e9a4e74f865c", "Fibra Fastweb", "Fibra FW Demo", "Ottimo!", true, false);
    expect(descJson(tree.value)).toBe(`{"items":[${a},${b},${c}]}`);
    expect(descJson(tree.value, "web")).toBe(`{"items":[${a},${b}]}`);
    expect(descJson(tree.value, "mobile")).toBe(`{"items":[${a},${c}]}`);
  });
});

describe("protocol.md §7 and seed 002: commands", () => {
  it("cmd_add_to_roster: the spec request and its answer", () => {
    const { msg, payload } = decodeAll(
      `<message from="393471111111@eime.local/android-7" to="router.eime.local" type="chat" id="cmd1"><x xmlns="urn:eime:x:0">` +
        `<type>cmd_add_to_roster</type><action>cmd_add_to_roster</action>` +
        `<payload>{"channelUsers":[{"name":"Mario Rossi","address":"00393471111111"}]}</payload></x></message>`,
    );
    expect(payload).toEqual({ type: "cmd_add_to_roster", channelUsers: [{ name: "Mario Rossi", address: "00393471111111" }] });
    expect(commandResult(msg, { status: 0, added: ["00393471111111"], unchanged: [] }, { namespace: NS }).toString()).toBe(
      `<message from="router.eime.local" to="393471111111@eime.local/android-7" type="chat" id="cmd1">` +
        `<x xmlns="urn:eime:x:0"><type>cmd_add_to_roster</type><action>cmd_add_to_roster</action>` +
        `<payload>{"status":0,"added":["00393471111111"],"unchanged":[]}</payload><lang>it</lang></x>` +
        `<body>Comando cmd_add_to_roster eseguito.</body></message>`,
    );
  });

  it("cmd_add_to_roster: the seed request (pretty JSON, two users); unknown users are NO_USER_FOUND, the rest still apply", () => {
    const { msg, payload } = decodeAll(
      `<message from="393471111111@eime.local/android-7" to="router.eime.local" id="cmd2"><x xmlns="urn:eime:x:0">` +
        `<type>cmd_add_to_roster</type><action>cmd_add_to_roster</action><payload>{
"channelUsers":[
{
"name": "Mario Rossi",
"address": "00393471111111"
},
{
"name": "Luca Rossi",
"address": "00393472222222"
}
]
}</payload><lang>en</lang></x></message>`,
    );
    expect(payload).toEqual({
      type: "cmd_add_to_roster",
      channelUsers: [
        { name: "Mario Rossi", address: "00393471111111" },
        { name: "Luca Rossi", address: "00393472222222" },
      ],
    });
    const answer = commandResult(
      msg,
      { status: 1, errorCode: "NO_USER_FOUND", errorMessages: ["00393472222222"], added: ["00393471111111"], unchanged: [] },
      { namespace: NS },
    );
    expect(answer.toString()).toBe(
      `<message from="router.eime.local" to="393471111111@eime.local/android-7" type="normal" id="cmd2">` +
        `<x xmlns="urn:eime:x:0"><type>cmd_add_to_roster</type><action>cmd_add_to_roster</action>` +
        `<payload>{"status":1,"errorCode":"NO_USER_FOUND","errorMessage":[{"message":"00393472222222"}],"added":["00393471111111"],"unchanged":[]}</payload>` +
        `<lang>en</lang></x><body>Command cmd_add_to_roster failed (NO_USER_FOUND): 00393472222222</body></message>`,
    );
  });

  it("cmd_search_users: the seed's list, and the §7 answer", () => {
    const list = `["00393296260815","00393333333333","00393490899289","00393494371802","00393497588825"]`;
    const { msg, payload } = decodeAll(
      `<message from="393471111111@eime.local/android-7" to="router.eime.local" type="chat" id="cmd3"><x xmlns="urn:eime:x:0">` +
        `<type>cmd_search_users</type><action>cmd_search_users</action><payload>{"userList":${list}}</payload></x></message>`,
    );
    expect(payload).toEqual({ type: "cmd_search_users", userList: JSON.parse(list) as unknown, hashed: false });
    const answer = commandResult(
      msg,
      {
        status: 0,
        users: [
          { msisdn: "393296260815", jid: "393296260815@eime.local", name: "Anna" },
          { msisdn: "393333333333", jid: "393333333333@eime.local" },
        ],
      },
      { namespace: NS },
    );
    expect(answer.getChild("x")?.getChildText("payload")).toBe(
      '{"status":0,"users":[{"msisdn":"393296260815","jid":"393296260815@eime.local","name":"Anna"},{"msisdn":"393333333333","jid":"393333333333@eime.local"}]}',
    );
  });

  it("cmd_search_users: hashed entries and RATE_LIMITED", () => {
    const { msg, payload } = decodeAll(
      `<message from="393471111111@eime.local/a" to="router.eime.local" id="cmd4"><x xmlns="urn:eime:x:0">` +
        `<type>cmd_search_users</type><action>cmd_search_users</action><payload>{"userList":["${EX_HEX}"],"hashed":true}</payload></x></message>`,
    );
    expect(payload).toEqual({ type: "cmd_search_users", userList: [EX_HEX], hashed: true });
    expect(
      commandResult(msg, { status: 1, errorCode: "RATE_LIMITED", errorMessages: ["too many searches, retry later"] }, { namespace: NS })
        .getChild("x")
        ?.getChildText("payload"),
    ).toBe('{"status":1,"errorCode":"RATE_LIMITED","errorMessage":[{"message":"too many searches, retry later"}]}');
  });
});
