// The pure parts of the Genesys Cloud adapter (backends.md 2b): the webhook
// signature, the normalized message, and what a conversation state means.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readParticipants, readState } from "../../../src/adapters/genesys-cloud/conversation-state.js";
import { signatureOf, verifySignature } from "../../../src/adapters/genesys-cloud/signature.js";
import { parseWebhookMessage } from "../../../src/adapters/genesys-cloud/webhook-message.js";
import { cloudMediaHosts, onMediaHost, openMediaType } from "../../../src/adapters/genesys-cloud/media.js";

describe("X-Hub-Signature-256", () => {
  const body = Buffer.from('{"id":"1"}');
  const good = "sha256=" + createHmac("sha256", "s3cret").update(body).digest("base64");

  it("accepts sha256= + base64 HMAC-SHA256 of the raw body, nothing else", () => {
    expect(signatureOf(body, "s3cret")).toBe(good);
    expect(verifySignature(body, good, "s3cret")).toBe(true);
    expect(verifySignature(body, good, "other")).toBe(false);
    expect(verifySignature(Buffer.from('{"id":"2"}'), good, "s3cret")).toBe(false);
    expect(verifySignature(body, undefined, "s3cret")).toBe(false);
    expect(verifySignature(body, good.slice(7), "s3cret")).toBe(false);
    expect(verifySignature(body, [good], "s3cret")).toBe(false);
    expect(verifySignature(body, "sha256=" + createHmac("sha256", "s3cret").update(body).digest("hex"), "s3cret")).toBe(false);
  });
});

describe("webhook message", () => {
  const channel = {
    id: "int",
    platform: "Open",
    to: { id: "conv-1" },
    from: { nickname: "Giulia <b>", id: "int", idType: "Opaque" },
    time: "2026-12-02T10:00:00.000Z",
  };

  it("reads agent text (safe HTML), attachments, typing and receipts", () => {
    expect(
      parseWebhookMessage(
        JSON.stringify({ id: "m1", channel, type: "Text", text: "<script>x</script>Ciao <b>tu</b>", direction: "Outbound" }),
      ),
    ).toEqual({
      kind: "text",
      id: "m1",
      time: channel.time,
      conversationId: "conv-1",
      text: "Ciao <b>tu</b>",
      nickname: "Giulia",
      attachments: [],
    });
    const withFile = {
      id: "m2",
      channel,
      type: "Text",
      content: [
        { contentType: "Attachment", attachment: { mediaType: "Image", url: "https://x/a.png", mime: "Image/PNG", filename: "a<b>.png" } },
        { contentType: "Attachment", attachment: { mediaType: "File", url: " https://x/b ", mime: "not a type" } },
        { contentType: "QuickReply", quickReply: { text: "no" } },
      ],
    };
    expect(parseWebhookMessage(JSON.stringify(withFile))).toMatchObject({
      kind: "text",
      text: "",
      attachments: [
        { url: "https://x/a.png", mime: "image/png", filename: "a.png" },
        { url: "https://x/b", mime: null, filename: null },
      ],
    });
    const typing = { id: "m3", channel, type: "Event", events: [{ eventType: "Typing", typing: { type: "On" } }] };
    expect(parseWebhookMessage(JSON.stringify(typing))).toMatchObject({ kind: "typing", conversationId: "conv-1" });
    expect(parseWebhookMessage(JSON.stringify({ id: "m4", channel, type: "Receipt", status: "Delivered" }))).toMatchObject({
      kind: "receipt",
      status: "Delivered",
    });
  });

  it("refuses what is not a message", () => {
    expect(parseWebhookMessage("not json")).toEqual({ invalid: "body is not JSON" });
    expect(parseWebhookMessage(JSON.stringify({ id: "m", type: "Text" }))).toEqual({ invalid: "no channel" });
    expect(parseWebhookMessage(JSON.stringify({ channel, type: "Text" }))).toHaveProperty("invalid");
  });
});

describe("conversation state", () => {
  const p = (purpose: string, state: string, name = "", connectedTime?: string) => ({
    id: `${purpose}-${name}`,
    name,
    purpose,
    state,
    ...(connectedTime ? { connectedTime } : {}),
  });
  const read = (participants: unknown[], position: number) => readState(readParticipants({ participants })!, position, "Operatore");

  it("in the queue: nothing", () => {
    expect(read([p("customer", "connected"), p("acd", "connected")], 1).events).toEqual([]);
  });

  it("an agent connects: joined once (the position counts it)", () => {
    const s = [p("customer", "connected"), p("acd", "disconnected"), p("agent", "connected", "Giulia")];
    expect(read(s, 1)).toMatchObject({ events: [{ kind: "joined", nickname: "Giulia" }], nextPosition: 2 });
    expect(read(s, 2).events).toEqual([]);
  });

  it("a transfer to a second agent is a second join, not a leave", () => {
    const s = [p("customer", "connected"), p("agent", "disconnected", "Giulia", "t"), p("agent", "alerting", "Marco")];
    expect(read(s, 2).events).toEqual([]);
    const s2 = [p("customer", "connected"), p("agent", "disconnected", "Giulia", "t"), p("agent", "connected", "Marco")];
    expect(read(s2, 2)).toMatchObject({ events: [{ kind: "joined", nickname: "Marco" }], nextPosition: 3 });
  });

  it("the last agent left, or back to a queue", () => {
    const left = [p("customer", "connected"), p("agent", "disconnected", "Giulia", "t")];
    expect(read(left, 2).events).toEqual([{ kind: "left", nickname: "Giulia", remaining: 0 }]);
    expect(read([...left, p("acd", "connected")], 2).events).toEqual([]);
  });

  it("the customer or everyone disconnected: ended", () => {
    expect(read([p("customer", "disconnected"), p("agent", "connected", "G")], 2).events).toEqual([{ kind: "ended" }]);
    expect(read([p("customer", "terminated"), p("acd", "disconnected")], 1).events).toEqual([{ kind: "ended" }]);
  });
});

describe("attachments", () => {
  it("media hosts: configured ones, else the API host and the hosts under its region's domain", () => {
    expect(cloudMediaHosts({ apiUrl: "https://api.mypurecloud.de" })).toEqual(["api.mypurecloud.de", "*.mypurecloud.de"]);
    expect(cloudMediaHosts({ apiUrl: "http://127.0.0.1:8123" })).toEqual(["127.0.0.1:8123"]);
    expect(cloudMediaHosts({ apiUrl: "https://api.mypurecloud.de", mediaHosts: ["Media.Example:8443"] })).toEqual(["media.example:8443"]);
    expect(cloudMediaHosts({})).toEqual([]);
    const hosts = ["api.mypurecloud.de", "*.mypurecloud.de", "media.example:8443"];
    expect(onMediaHost(new URL("https://api-downloads.mypurecloud.de/x"), hosts)).toBe(true);
    expect(onMediaHost(new URL("https://mypurecloud.de.evil.example/x"), hosts)).toBe(false);
    expect(onMediaHost(new URL("https://evilmypurecloud.de/x"), hosts)).toBe(false);
    expect(onMediaHost(new URL("https://media.example:8443/x"), hosts)).toBe(true);
    expect(onMediaHost(new URL("https://media.example/x"), hosts)).toBe(false);
  });

  it("an attachment's mediaType (OpenContentAttachment) from its media type", () => {
    expect(["image/png", "video/mp4", "audio/ogg", "application/pdf", "text/plain"].map(openMediaType)).toEqual([
      "Image",
      "Video",
      "Audio",
      "File",
      "File",
    ]);
  });
});
