// protocol.md section 10, a bot's file to the user: sent as it is when the user
// can reach its URL, otherwise the router's copy (fetched on delivery) at a
// signed URL; rendered as XEP-0066 for plain clients, chat_text with
// data.attachment for EiMe clients, data.image for chat_dynamic ones.
import { describe, expect, it } from "vitest";
import { userCanReach } from "../../../src/core/bot-files.js";
import type { ClientMessage } from "../../../src/core/client-message.js";
import { decide, newConversation, type DecideContext } from "../../../src/core/conversation.js";
import type { Conversation } from "../../../src/core/model.js";
import { encodeClientMessage } from "../../../src/router/client-encoder.js";

describe("which bot files the user can reach", () => {
  it("https at a public name or address, or a host users upload to", () => {
    const allowed = ["upload.eime.local", "127.0.0.1:5280"];
    expect(userCanReach("https://cdn.example.com/a.png", allowed)).toBe(true);
    expect(userCanReach("https://93.184.216.34/a.png", allowed)).toBe(true);
    expect(userCanReach("https://upload.eime.local/s/a.png", allowed)).toBe(true);
    expect(userCanReach("http://127.0.0.1:5280/share/a.png", allowed)).toBe(true); // the users' own share
    for (const url of [
      "http://cdn.example.com/a.png", // not https
      "https://rasa/static/a.png", // a single label
      "https://localhost/a.png",
      "https://bot.svc.cluster.local/a.png",
      "https://files.internal/a.png",
      "https://10.1.2.3/a.png",
      "https://[fd00::1]/a.png",
      "http://127.0.0.1:5005/a.png",
      "not a url",
    ]) {
      expect(userCanReach(url, allowed), url).toBe(false);
    }
  });
});

const ctx = (proxy: "private" | "all"): DecideContext => ({
  now: new Date("2026-12-01T10:00:00Z"),
  route: { mode: "bot", bot: { url: "http://10.0.0.5:5005/webhooks/rest/webhook" } },
  operatorsAvailable: false,
  timing: { idleTimeoutMs: 1, queueTimeoutMs: 1, queuedNoticeIntervalMs: 1, votingWindowMs: 1 },
  botFiles: { allowedHosts: ["upload.eime.local"], proxy },
  newUuid: () => "f0000000-0000-4000-8000-000000000001",
});

function conv(over: Partial<Conversation> = {}): Conversation {
  const c = newConversation(
    { userJid: "anna@eime.local", msisdn: "393471111111", channel: "supporto", chatTitle: "Supporto", addressing: { kind: "channel" } },
    { apiVersion: "2", lang: "it", os: null, appVersion: null, premium: false, useChatDynamic: false, plain: false, clientThread: null },
    ctx("private"),
  );
  return { ...c, ...over };
}

const sentFiles = (c: Conversation, image: string, proxy: "private" | "all" = "private") =>
  decide(c, { type: "bot_replied", cause: "message", replies: [{ image }] }, ctx(proxy)).effects.flatMap((e) =>
    e.type === "send_client" && e.message.kind === "attachment" ? [e.message.file.at] : [],
  );

describe("a bot's file in the core", () => {
  it("a public https URL is sent as it is; a private one is the router's copy, fetched from there", () => {
    expect(sentFiles(conv(), "https://cdn.example.com/a.png")).toEqual([{ url: "https://cdn.example.com/a.png" }]);
    expect(sentFiles(conv(), "https://10.0.0.5/static/a.png")).toEqual([
      { stored: "f0000000-0000-4000-8000-000000000001", fetchFrom: "https://10.0.0.5/static/a.png" },
    ]);
  });

  it('attachments.proxyBotFiles "all": every bot file is the router\'s copy', () => {
    expect(sentFiles(conv(), "https://cdn.example.com/a.png", "all")).toEqual([
      { stored: "f0000000-0000-4000-8000-000000000001", fetchFrom: "https://cdn.example.com/a.png" },
    ]);
  });
});

describe("a file rendered for the user", () => {
  const opts = {
    domain: "router.eime.local",
    namespace: "urn:eime:x:0",
    timeZone: "Europe/Rome",
    storedFileUrl: (id: string, user: string) => `https://router.example/attachments/${id}?u=${user}&s=sig`,
  };
  const file = (image: boolean, at: { url: string } | { stored: string }): ClientMessage => ({
    kind: "attachment",
    conversationType: "bot",
    file: { name: "mappa.png", mediaType: "image/png", image, at },
  });
  const signed = "https://router.example/attachments/a1?u=anna@eime.local&s=sig";

  it("plain client: the URL alone as body and as XEP-0066 oob, the name as desc", () => {
    const el = encodeClientMessage(conv({ plain: true }), file(true, { stored: "a1" }), null, "id1", opts);
    expect(el.getChildText("body")).toBe(signed);
    const oob = el.getChild("x", "jabber:x:oob");
    expect(oob?.getChildText("url")).toBe(signed);
    expect(oob?.getChildText("desc")).toBe("mappa.png");
    expect(el.getChild("x", "urn:eime:x:0")).toBeUndefined();
  });

  it("EiMe client: chat_text with data.attachment and the URL as body", () => {
    const el = encodeClientMessage(conv(), file(false, { url: "https://cdn.example.com/m.png" }), null, "id2", opts);
    const x = el.getChild("x", "urn:eime:x:0")!;
    expect(x.getChildText("type")).toBe("chat_text");
    expect(JSON.parse(x.getChildText("payload")!)).toEqual({
      text: "",
      data: { conversationType: "bot", attachment: { url: "https://cdn.example.com/m.png", mediaType: "image/png", name: "mappa.png" } },
    });
    expect(el.getChildText("body")).toBe("https://cdn.example.com/m.png");
  });

  it("chat_dynamic client: a bot's image as data.image (protocol.md section 4), the signed URL when stored", () => {
    const el = encodeClientMessage(conv({ useChatDynamic: true }), file(true, { stored: "a1" }), null, "id3", opts);
    const x = el.getChild("x", "urn:eime:x:0")!;
    expect(x.getChildText("type")).toBe("chat_dynamic");
    expect(JSON.parse(x.getChildText("payload")!)).toMatchObject({ text: "", data: { image: signed } });
  });
});
