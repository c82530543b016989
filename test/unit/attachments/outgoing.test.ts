// protocol.md section 10, to the user: a stored file as the message an EiMe
// client gets (chat_text with data.attachment) and the one a plain XMPP client
// gets (the URL alone as body, with XEP-0066 jabber:x:oob url and desc).
import { describe, expect, it } from "vitest";
import type { ClientMessage } from "../../../src/core/client-message.js";
import type { Conversation } from "../../../src/core/model.js";
import { encodeClientMessage } from "../../../src/router/client-encoder.js";

const opts = { domain: "router.eime.local", namespace: "urn:eime:x:0", timeZone: "Europe/Rome" };
const URL_ = "https://router.example/attachments/a1?u=393471111111%40eime.local&e=1800000000&s=sig";
const file: ClientMessage = {
  kind: "text",
  text: "bolletta.pdf",
  conversationType: "operator",
  operator: { nickname: "Giulia" },
  attachment: { url: URL_, mediaType: "application/pdf", name: "bolletta.pdf", size: 1234 },
};

function conv(over: Partial<Conversation> = {}): Conversation {
  const now = new Date("2026-11-21T10:00:00Z");
  return {
    id: "c1",
    userJid: "393471111111@eime.local",
    msisdn: "393471111111",
    channel: "supporto",
    chatTitle: "Supporto",
    addressing: { kind: "channel" },
    apiVersion: "2.1",
    os: "android",
    appVersion: "1",
    premium: false,
    useChatDynamic: false,
    lang: "it",
    state: "operator",
    botSession: 0,
    botSessionOpen: true,
    botOptions: null,
    episode: null,
    votingUntil: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    ...over,
  };
}

describe("a file for the user", () => {
  it("EiMe client: chat_text whose data.attachment has the signed URL, type, name and size", () => {
    const el = encodeClientMessage(conv(), file, null, "f1", opts);
    const payload = JSON.parse(el.getChild("x", "urn:eime:x:0")!.getChildText("payload")!) as {
      text: string;
      data: Record<string, unknown>;
    };
    expect(el.getChild("x", "urn:eime:x:0")!.getChildText("type")).toBe("chat_text");
    expect(payload.text).toBe("bolletta.pdf");
    expect(payload.data).toMatchObject({
      conversationType: "operator",
      operator: { nickname: "Giulia" },
      attachment: { url: URL_, mediaType: "application/pdf", name: "bolletta.pdf", size: 1234 },
    });
  });

  it("plain client: the URL alone as body and XEP-0066 oob with url and desc", () => {
    const el = encodeClientMessage(conv({ plain: true }), file, null, "f2", opts);
    expect(el.getChildText("body")).toBe(URL_);
    const oob = el.getChild("x", "jabber:x:oob")!;
    expect(oob.getChildText("url")).toBe(URL_);
    expect(oob.getChildText("desc")).toBe("bolletta.pdf");
  });

  it("a text message without a file carries no attachment", () => {
    const { attachment: _a, ...plainText } = file;
    const el = encodeClientMessage(conv(), plainText, null, "f3", opts);
    expect(el.getChild("x", "urn:eime:x:0")!.getChildText("payload")).not.toContain("attachment");
    expect(encodeClientMessage(conv({ plain: true }), plainText, null, "f4", opts).getChild("x", "jabber:x:oob")).toBeUndefined();
  });
});
