import { describe, expect, it } from "vitest";
import { decodeMessage } from "../../../src/protocol/message.js";
import {
  chatDynamic,
  chatInteractive,
  chatNotice,
  chatState,
  chatText,
  commandResult,
  flattenRich,
} from "../../../src/protocol/outbound.js";
import { el, NS, OPTS } from "./helpers.js";

const env = {
  from: "supporto@router.eime.local",
  to: "393471111111@eime.local/android-7",
  id: "o1",
  thread: "T",
  lang: "it",
  namespace: NS,
};
const head = `<message from="supporto@router.eime.local" to="393471111111@eime.local/android-7" type="chat" id="o1"><thread>T</thread>`;
const x = (type: string, payload: string, lang = "it") =>
  `<x xmlns="urn:eime:x:0"><type>${type}</type><action>${type}</action><payload>${payload}</payload><lang>${lang}</lang></x>`;
const buttons = [
  { title: "Offerte", payload: "OFFERS" },
  { title: "Parla con un operatore", payload: "HANDOVER" },
];

describe("router → client messages (protocol.md §4)", () => {
  it("chat_text from an operator, v2.1 (chatTitle)", () => {
    const m = chatText({
      ...env,
      text: "Buongiorno, sono Giulia.",
      data: { conversationType: "operator", chatTitle: "Supporto", operator: { nickname: "Giulia" } },
    });
    expect(m.toString()).toBe(
      head +
        x(
          "chat_text",
          `{"text":"Buongiorno, sono Giulia.","data":{"conversationType":"operator","chatTitle":"Supporto","operator":{"nickname":"Giulia"}}}`,
        ) +
        `<body>Buongiorno, sono Giulia.</body></message>`,
    );
  });

  it("chat_dynamic carries buttons, image and custom in data; the body is flattened", () => {
    const m = chatDynamic({
      ...env,
      text: "Cosa ti serve?",
      buttons,
      image: "https://cdn.example/x.png",
      custom: { card: 1 },
      data: { conversationType: "bot" },
    });
    expect(m.toString()).toBe(
      head +
        x(
          "chat_dynamic",
          `{"text":"Cosa ti serve?","data":{"conversationType":"bot","buttons":[{"title":"Offerte","payload":"OFFERS"},{"title":"Parla con un operatore","payload":"HANDOVER"}],"image":"https://cdn.example/x.png","custom":{"card":1}}}`,
        ) +
        `<body>Cosa ti serve?\n1. Offerte\n2. Parla con un operatore\nhttps://cdn.example/x.png</body></message>`,
    );
  });

  it("chat_dynamic without options has a plain data", () => {
    const m = chatDynamic({ ...env, text: "Ciao", data: { conversationType: "bot" } });
    expect(m.getChild("x")?.getChildText("payload")).toBe(`{"text":"Ciao","data":{"conversationType":"bot"}}`);
    expect(m.getChildText("body")).toBe("Ciao");
  });

  it("chat_interactive flattens the options into the text and the body", () => {
    const m = chatInteractive({
      ...env,
      text: "Cosa ti serve?",
      buttons,
      image: "https://cdn.example/x.png",
      data: { conversationType: "bot", chatTitle: "Supporto" },
    });
    const text = "Cosa ti serve?\n1. Offerte\n2. Parla con un operatore\nhttps://cdn.example/x.png";
    expect(m.toString()).toBe(
      head +
        x("chat_interactive", JSON.stringify({ text, data: { conversationType: "bot", chatTitle: "Supporto" } })) +
        `<body>${text}</body></message>`,
    );
    expect(flattenRich({ text: "a" })).toBe("a");
  });

  it("chat_notice: {code, text, data?}, text localised, body = text", () => {
    const m = chatNotice({ ...env, code: "ROUTER_QUEUED#0001", data: { position: 3 } });
    expect(m.toString()).toBe(
      head +
        x("chat_notice", `{"code":"ROUTER_QUEUED#0001","text":"Sei il numero 3 in coda per un operatore.","data":{"position":3}}`) +
        `<body>Sei il numero 3 in coda per un operatore.</body></message>`,
    );
    const en = chatNotice({ ...env, lang: "en", code: "GENESYS#0004" });
    expect(en.toString()).toBe(
      head +
        x("chat_notice", `{"code":"GENESYS#0004","text":"You closed the conversation with the operator."}`, "en") +
        `<body>You closed the conversation with the operator.</body></message>`,
    );
  });

  it("chat_notice with v2.1 chatTitle in data, and a time zone", () => {
    const m = chatNotice({
      ...env,
      lang: "en",
      code: "ROUTER_VOTING_OPEN#0001",
      data: { until: "2025-03-11T08:00:00Z", chatTitle: "Supporto" },
      timeZone: "Europe/Rome",
    });
    expect(m.getChild("x")?.getChildText("payload")).toBe(
      `{"code":"ROUTER_VOTING_OPEN#0001","text":"You can rate this conversation until 11 Mar 2025, 09:00 CET.","data":{"until":"2025-03-11T08:00:00Z","chatTitle":"Supporto"}}`,
    );
  });

  it("what the router sends, the router's own decoder reads", () => {
    const m = chatText({ ...env, text: "a & b < c", data: { conversationType: "bot" } });
    expect(decodeMessage(el(m.toString()), OPTS)).toMatchObject({
      ok: true,
      value: { thread: "T", body: "a & b < c", x: { payload: { text: "a & b < c" } } },
    });
  });
});

describe("commandResult (protocol.md §7)", () => {
  const request = (type?: string, thread = "") =>
    decodeMessage(
      el(
        `<message from="393471111111@eime.local/a" to="router.eime.local" id="q1"${type === undefined ? "" : ` type="${type}"`}>${thread}` +
          `<x xmlns="${NS}"><type>cmd_search_users</type><action>cmd_search_users</action><payload>{"userList":[]}</payload><lang>en</lang></x></message>`,
      ),
      OPTS,
    );

  it("same type/action and id, swapped addresses, the request's message type and thread", () => {
    const r = request("normal", "<thread>cmd-1</thread>");
    if (!r.ok) throw new Error("decode");
    expect(commandResult(r.value, { status: 0, users: [] }, { namespace: NS }).toString()).toBe(
      `<message from="router.eime.local" to="393471111111@eime.local/a" type="normal" id="q1"><thread>cmd-1</thread>` +
        x("cmd_search_users", `{"status":0,"users":[]}`, "en") +
        `<body>Command cmd_search_users done.</body></message>`,
    );
  });

  it("an error without messages", () => {
    const r = request("chat");
    if (!r.ok) throw new Error("decode");
    const m = commandResult(r.value, { status: 1, errorCode: "SQL_ERROR", errorMessages: [] }, { namespace: NS });
    expect(m.attrs["type"]).toBe("chat");
    expect(m.getChild("x")?.getChildText("payload")).toBe(`{"status":1,"errorCode":"SQL_ERROR","errorMessage":[]}`);
    expect(m.getChildText("body")).toBe("Command cmd_search_users failed (SQL_ERROR).");
  });
});

describe("chatState (XEP-0085)", () => {
  it.each(["composing", "paused", "active"] as const)("%s: no body, no x", (state) => {
    expect(chatState({ from: "supporto@router.eime.local", to: "393471111111@eime.local", thread: "T", state }).toString()).toBe(
      `<message from="supporto@router.eime.local" to="393471111111@eime.local" type="chat"><thread>T</thread><${state} xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
  });
  it("with an id, without a thread", () => {
    expect(chatState({ from: "a", to: "b", id: "s1", state: "composing" }).toString()).toBe(
      `<message from="a" to="b" type="chat" id="s1"><composing xmlns="http://jabber.org/protocol/chatstates"/></message>`,
    );
  });
});
