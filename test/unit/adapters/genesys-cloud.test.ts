// The pure parts of the Genesys Cloud adapter (backends.md 2b): the webhook
// signature, the normalized message, and what a conversation state means.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { readParticipants, readState } from "../../../src/adapters/genesys-cloud/conversation-state.js";
import { signatureOf, verifySignature } from "../../../src/adapters/genesys-cloud/signature.js";
import { parseWebhookMessage } from "../../../src/adapters/genesys-cloud/webhook-message.js";

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
      attachments: 0,
    });
    const withFile = { id: "m2", channel, type: "Text", content: [{ contentType: "Attachment", attachment: { url: "https://x/a.png" } }] };
    expect(parseWebhookMessage(JSON.stringify(withFile))).toMatchObject({ kind: "text", attachments: 1, text: "" });
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
