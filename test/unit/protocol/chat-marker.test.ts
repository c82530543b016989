// XEP-0333 (https://xmpp.org/extensions/xep-0333.html) for plain clients:
// reading a displayed marker, asking for one on a GMS operator's text, and
// the disco feature where markers mean something (protocol.md section 9).
import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { channelDiscoInfo, plainEnvelope, readDisplayedMarker, renderPlain } from "../../../src/protocol/index.js";

const NS_MARKERS = "urn:xmpp:chat-markers:0";

describe("XEP-0333 displayed markers", () => {
  it("reads the marked id and the thread; anything else is no marker", () => {
    const marker = (attrs: Record<string, string>, ...more: ReturnType<typeof xml>[]) =>
      xml(
        "message",
        { from: "mario@eime.local/gajim", to: "supporto@r", id: "d1" },
        xml("displayed", { xmlns: NS_MARKERS, ...attrs }),
        ...more,
      );
    expect(readDisplayedMarker(marker({ id: "eime-abc" }))).toEqual({ id: "eime-abc" });
    expect(readDisplayedMarker(marker({ id: "eime-abc" }, xml("thread", {}, " t-1 ")))).toEqual({ id: "eime-abc", thread: "t-1" });
    expect(readDisplayedMarker(marker({}))).toBeNull();
    expect(readDisplayedMarker(marker({ id: "x".repeat(257) }))).toBeNull();
    expect(readDisplayedMarker(xml("message", {}, xml("received", { xmlns: NS_MARKERS, id: "eime-abc" })))).toBeNull();
    expect(readDisplayedMarker(xml("message", {}, xml("displayed", { xmlns: "urn:other", id: "eime-abc" })))).toBeNull();
  });

  it("asks for a marker on a markable text only", () => {
    const env = plainEnvelope(
      { channel: "supporto", addressing: { kind: "channel" }, userJid: "mario@eime.local", clientThread: null, lang: "it" },
      "eime-1",
      { domain: "r", timeZone: "Europe/Rome" },
    );
    const text = { kind: "text", text: "Buongiorno", conversationType: "operator", operator: { nickname: "Anna" } } as const;
    expect(renderPlain(env, { ...text, markable: true }).getChild("markable", NS_MARKERS)).toBeDefined();
    expect(renderPlain(env, text).getChild("markable", NS_MARKERS)).toBeUndefined();
  });

  it("is a disco feature of a channel only when asked (a GMS service answers there)", () => {
    const features = (el: ReturnType<typeof channelDiscoInfo>) => el.getChildren("feature").map((f) => f.attrs.var as string);
    expect(features(channelDiscoInfo("Operatori", "urn:eime:x:0", { chatMarkers: true }))).toContain(NS_MARKERS);
    expect(features(channelDiscoInfo("Supporto", "urn:eime:x:0"))).not.toContain(NS_MARKERS);
  });
});
