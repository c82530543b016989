// XEP-0313 / XEP-0059 codecs: the query read, the results and fin written,
// archived messages made from stored rows (src/protocol/mam-*.ts, archived-message.ts).
import { describe, expect, it } from "vitest";
import { parse } from "ltx";
import { archivedMessage, type ArchivedRow } from "../../../src/protocol/archived-message.js";
import { parseArchiveQuery } from "../../../src/protocol/mam-query.js";
import { archiveFin, archiveForm, archiveResult } from "../../../src/protocol/mam-result.js";

const NS = "urn:eime:x:0";
const opts = { namespace: NS, maxPageSize: 50 };
const el = (s: string) => parse(s);

const query = (fields: string, set = "") =>
  el(
    `<query xmlns="urn:xmpp:mam:2" queryid="f27"><x xmlns="jabber:x:data" type="submit">` +
      `<field var="FORM_TYPE" type="hidden"><value>urn:xmpp:mam:2</value></field>${fields}</x>${set}</query>`,
  );
const field = (name: string, value: string) => `<field var="${name}"><value>${value}</value></field>`;

describe("parseArchiveQuery (XEP-0313 §4.1, XEP-0059 §2)", () => {
  it("an empty query: every message, the default page", () => {
    expect(parseArchiveQuery(el(`<query xmlns="urn:xmpp:mam:2"/>`), opts)).toEqual({ ok: true, value: { page: { max: 50 } } });
  });

  it("reads with, start, end, after-id, before-id, the chat title, queryid and the RSM set", () => {
    const r = parseArchiveQuery(
      query(
        field("with", "393471111111@eime.local") +
          field("start", "2026-01-01T00:00:00Z") +
          field("end", "2026-01-02T01:00:00.5+01:00") +
          field("after-id", "10") +
          field("before-id", "20") +
          field(`{${NS}}chat-title`, "Supporto"),
        `<set xmlns="http://jabber.org/protocol/rsm"><max>2</max><after>12</after></set>`,
      ),
      opts,
    );
    expect(r).toEqual({
      ok: true,
      value: {
        queryId: "f27",
        with: "393471111111@eime.local",
        start: new Date("2026-01-01T00:00:00Z"),
        end: new Date("2026-01-02T00:00:00.500Z"),
        afterId: "10",
        beforeId: "20",
        chatTitle: "Supporto",
        page: { max: 2, after: "12" },
      },
    });
  });

  it("caps max at the archive's page size; an empty <before/> asks for the last page", () => {
    const r = parseArchiveQuery(query("", `<set xmlns="http://jabber.org/protocol/rsm"><max>5000</max><before/></set>`), opts);
    expect(r).toMatchObject({ ok: true, value: { page: { max: 50, before: "" } } });
  });

  it("an unknown field is feature-not-implemented (§4.1.5), naming it", () => {
    expect(parseArchiveQuery(query(field("withtext", "ciao")), opts)).toEqual({
      ok: false,
      error: { code: "ARCHIVE_FIELD_UNKNOWN", field: "withtext", message: "this archive does not support the field" },
    });
    // Another namespace's chat title is not ours.
    expect(parseArchiveQuery(query(field("{urn:other}chat-title", "x")), opts)).toMatchObject({
      ok: false,
      error: { code: "ARCHIVE_FIELD_UNKNOWN" },
    });
  });

  it.each([
    ["start", field("start", "yesterday"), ""],
    ["end", field("end", "2026-13-01"), ""],
    ["start", field("start", "2026-02-01T00:00:00Z") + field("end", "2026-01-01T00:00:00Z"), ""],
    ["with", field("with", "@@"), ""],
    ["FORM_TYPE", `<field var="FORM_TYPE"><value>urn:xmpp:mam:1</value></field>`, ""],
    [`{${NS}}chat-title`, field(`{${NS}}chat-title`, " "), ""],
    ["after-id", `<field var="after-id"/>`, ""],
    ["set/max", "", `<set xmlns="http://jabber.org/protocol/rsm"><max>-1</max></set>`],
    ["set", "", `<set xmlns="http://jabber.org/protocol/rsm"><after>1</after><before>2</before></set>`],
  ])("bad %s is bad-request naming it", (name, fields, set) => {
    expect(parseArchiveQuery(query(fields, set), opts)).toMatchObject({ ok: false, error: { code: "BAD_REQUEST", field: name } });
  });
});

describe("results and fin (XEP-0313 §4.2, §4.3)", () => {
  it("a result wraps the message in forwarded with delay, in the jabber:client namespace", () => {
    const r = archiveResult({
      to: "u@eime.local/ios",
      from: "supporto@router.eime.local",
      queryId: "f27",
      archiveId: "42",
      stamp: new Date("2026-01-01T10:00:00Z"),
      message: el(`<message from="supporto@router.eime.local" to="u@eime.local/ios" type="chat"><body>ciao</body></message>`),
    });
    expect(r.toString()).toBe(
      `<message to="u@eime.local/ios" from="supporto@router.eime.local" id="mam-f27-42">` +
        `<result xmlns="urn:xmpp:mam:2" queryid="f27" id="42"><forwarded xmlns="urn:xmpp:forward:0">` +
        `<delay xmlns="urn:xmpp:delay" stamp="2026-01-01T10:00:00.000Z"/>` +
        `<message from="supporto@router.eime.local" to="u@eime.local/ios" type="chat" xmlns="jabber:client"><body>ciao</body></message>` +
        `</forwarded></result></message>`,
    );
  });

  it("fin: first, last and count; complete only on the last page; an empty page has the count alone", () => {
    expect(archiveFin({ first: "1", last: "2", count: 5, complete: false }).toString()).toBe(
      `<fin xmlns="urn:xmpp:mam:2"><set xmlns="http://jabber.org/protocol/rsm"><first>1</first><last>2</last><count>5</count></set></fin>`,
    );
    expect(archiveFin({ count: 0, complete: true }).toString()).toBe(
      `<fin xmlns="urn:xmpp:mam:2" complete="true"><set xmlns="http://jabber.org/protocol/rsm"><count>0</count></set></fin>`,
    );
  });

  it("the form lists the fields supported, the chat title in Clark notation, none required", () => {
    const form = archiveForm(NS).toString();
    for (const f of ["FORM_TYPE", "with", "start", "end", "before-id", "after-id", `{${NS}}chat-title`])
      expect(form).toContain(`var="${f}"`);
    expect(form).not.toContain("required");
  });
});

describe("archived messages", () => {
  const conversation: ArchivedRow["conversation"] = {
    userJid: "393471111111@eime.local",
    apiVersion: "2.1",
    msisdn: "393471111111",
    channel: "supporto",
    chatTitle: "Supporto",
    plain: false,
    clientThread: null,
    addressing: { kind: "channel" },
    lang: "it",
  };
  const row = (r: Partial<ArchivedRow>): ArchivedRow => ({
    archiveId: "1",
    direction: "in",
    kind: "chat_text",
    text: "ciao",
    payload: { text: "ciao", data: { apiVersion: "2.1", os: "android" } },
    stanza: null,
    dedupeKey: "c2a9",
    createdAt: new Date(0),
    conversation,
    ...r,
  });
  const o = { domain: "router.eime.local", namespace: NS, requester: "393471111111@eime.local/ios-2" };

  it("the router's message is the stanza as sent, to the requesting device", () => {
    const stanza = `<message from="supporto@router.eime.local" to="393471111111@eime.local" type="chat" id="eime-1"><thread>T</thread><body>Hai scritto: ciao</body></message>`;
    const m = archivedMessage(row({ direction: "out", stanza }), o);
    expect(m.toString()).toBe(stanza.replace('to="393471111111@eime.local"', 'to="393471111111@eime.local/ios-2"'));
  });

  it("the user's message: from its bare JID to the channel, the router thread, the x element with the stored payload, the body", () => {
    const m = archivedMessage(row({}), o);
    expect(m.attrs).toMatchObject({ from: "393471111111@eime.local", to: "supporto@router.eime.local", type: "chat", id: "c2a9" });
    expect(m.getChildText("thread")).toMatch(/^[0-9a-f]{64}:.+\|\$\|U3VwcG9ydG8=$/);
    const x = m.getChild("x", NS)!;
    expect(x.getChildText("type")).toBe("chat_text");
    expect(JSON.parse(x.getChildText("payload")!)).toEqual({ text: "ciao", data: { apiVersion: "2.1", os: "android" } });
    expect(m.getChildText("body")).toBe("ciao");
  });

  it("a plain client's message: the body, its thread, its XEP-0066 URLs; no x element", () => {
    const plain = { ...conversation, plain: true, clientThread: "t-1" };
    const m = archivedMessage(
      row({
        conversation: plain,
        payload: { text: "https://up.example/a.png", client: "plain", attachments: [{ url: "https://up.example/a.png" }] },
      }),
      o,
    );
    expect(m.getChild("x", NS)).toBeUndefined();
    expect(m.getChildText("thread")).toBe("t-1");
    expect(m.getChildText("body")).toBe("https://up.example/a.png");
    expect(m.getChild("x", "jabber:x:oob")?.getChildText("url")).toBe("https://up.example/a.png");
  });

  it("at a server-address JID: to that JID, the channel address as thread (protocol.md §1)", () => {
    const server = { ...conversation, addressing: { kind: "server" as const, serverAddress: "myticket" } };
    const m = archivedMessage(row({ conversation: server }), o);
    expect(m.attrs.to).toBe("myticket@router.eime.local");
    expect(m.getChildText("thread")).toBe("supporto");
  });
});
