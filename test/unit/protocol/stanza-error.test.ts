import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERRORS } from "../../../src/errors.js";
import { decodeMessage } from "../../../src/protocol/message.js";
import { decodePayload } from "../../../src/protocol/payloads.js";
import { canReplyWithError, errorReply, protocolErrorReply } from "../../../src/protocol/stanza-error.js";
import { chatMessage, el, NS, OPTS } from "./helpers.js";

describe("error replies (protocol.md §2, RFC 6120 §8.3)", () => {
  it("a bad payload: swapped addresses, same id, thread kept, condition, text naming the field, app element", () => {
    const original = chatMessage({ thread: "393471111111", payload: '{"text":"hi","data":{"os":"windows"}}' });
    const m = decodeMessage(original, OPTS);
    expect(m.ok).toBe(true);
    const reply = errorReply(original, "BAD_REQUEST", "payload.data.os: must be web, android or ios", { namespace: NS });
    expect(reply.toString()).toBe(
      `<message type="error" from="supporto@router.eime.local" to="393471111111@eime.local/android-7" id="c2a9">` +
        `<thread>393471111111</thread>` +
        `<error type="modify" by="supporto@router.eime.local">` +
        `<bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
        `<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">payload.data.os: must be web, android or ios</text>` +
        `<invalid-payload xmlns="urn:eime:x:0"/>` +
        `</error></message>`,
    );
  });

  it("from a decoder's ProtocolError, the payload (and its token) is not echoed", () => {
    const original = chatMessage({ payload: '{"text":"hi","data":{"apiVersion":3,"token":"s3cr3t"}}' });
    const m = decodeMessage(original, OPTS);
    if (!m.ok) throw new Error("decode");
    const p = decodePayload(m.value.x, { maxTextLength: 4096, maxListEntries: 500 });
    if (p.ok) throw new Error("expected an error");
    const reply = protocolErrorReply(original, p.error, { namespace: NS }).toString();
    expect(reply).toBe(
      `<message type="error" from="supporto@router.eime.local" to="393471111111@eime.local/android-7" id="c2a9">` +
        `<error type="modify" by="supporto@router.eime.local"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
        `<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">payload.data.apiVersion: must be 1, 2 or 2.1 (number or string)</text>` +
        `<unsupported-api-version xmlns="urn:eime:x:0"/></error></message>`,
    );
    expect(reply).not.toContain("s3cr3t");
  });

  it.each(ERROR_CODES)("%s: condition, type and application element from the registry", (code) => {
    const reply = errorReply(el(`<message from="a@b/c" to="d@e" id="1"><thread>t</thread></message>`), code, "x", { namespace: NS });
    const error = reply.getChild("error");
    expect(error?.attrs["type"]).toBe(ERRORS[code].type);
    expect(error?.getChild(ERRORS[code].condition, "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    expect(error?.getChild(ERRORS[code].app, NS)).toBeDefined();
    expect(error?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBe("x");
  });

  it("identity mismatch: not-authorized, type auth", () => {
    const reply = errorReply(
      chatMessage({ thread: "393472222222", payload: "{}" }),
      "IDENTITY_MISMATCH",
      "thread: the thread does not belong to the sender",
      { namespace: NS },
    );
    expect(reply.toString()).toContain(
      `<error type="auth" by="supporto@router.eime.local"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
        `<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">thread: the thread does not belong to the sender</text>` +
        `<identity-mismatch xmlns="urn:eime:x:0"/></error>`,
    );
  });

  it("works for iq and presence (no thread copied), and without from/id", () => {
    const iq = el(`<iq from="393471111111@eime.local/a" to="router.eime.local" type="get" id="v1"><query xmlns="urn:x"/></iq>`);
    expect(errorReply(iq, "SERVICE_UNAVAILABLE", "no handler", { namespace: NS }).toString()).toBe(
      `<iq type="error" from="router.eime.local" to="393471111111@eime.local/a" id="v1"><error type="cancel" by="router.eime.local">` +
        `<service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">no handler</text>` +
        `<service-unavailable xmlns="urn:eime:x:0"/></error></iq>`,
    );
    const presence = el(`<presence from="a@b/c" to="supporto@router.eime.local" type="subscribe"/>`);
    expect(errorReply(presence, "NO_CHANNEL_FOUND", "to: no channel", { namespace: NS }).toString()).toBe(
      `<presence type="error" from="supporto@router.eime.local" to="a@b/c"><error type="cancel" by="supporto@router.eime.local">` +
        `<item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">to: no channel</text>` +
        `<no-channel-found xmlns="urn:eime:x:0"/></error></presence>`,
    );
    expect(errorReply(el(`<message/>`), "BAD_REQUEST", "from: missing", { namespace: NS }).toString()).toBe(
      `<message type="error"><error type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>` +
        `<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">from: missing</text><invalid-payload xmlns="urn:eime:x:0"/></error></message>`,
    );
  });

  it("keeps the thread's parent attribute; an error is never answered with an error", () => {
    const m = el(`<message from="a@b" to="c@d" id="1"><thread parent="p1">t</thread></message>`);
    expect(errorReply(m, "BAD_REQUEST", "x", { namespace: NS }).getChild("thread")?.toString()).toBe(`<thread parent="p1">t</thread>`);
    expect(canReplyWithError(m)).toBe(true);
    expect(canReplyWithError(el(`<message type="error" from="a@b" to="c@d"/>`))).toBe(false);
  });
});
