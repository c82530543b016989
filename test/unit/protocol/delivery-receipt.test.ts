// XEP-0184 for the router's own messages (protocol/delivery-receipt.ts).
import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { readBounce, readReceived, withReceiptRequest } from "../../../src/protocol/index.js";

const NS = "urn:xmpp:receipts";

describe("XEP-0184 delivery receipts", () => {
  it("adds one request to a message (section 5.1)", () => {
    const m = withReceiptRequest(withReceiptRequest(xml("message", { id: "eime-1", type: "chat" }, xml("body", {}, "ciao"))));
    expect(m.getChildren("request", NS)).toHaveLength(1);
  });

  it("reads the id a receipt acknowledges (section 5.2), nothing else", () => {
    expect(readReceived(xml("message", {}, xml("received", { xmlns: NS, id: "eime-1" })))).toBe("eime-1");
    expect(readReceived(xml("message", {}, xml("received", { xmlns: NS })))).toBeNull();
    expect(readReceived(xml("message", {}, xml("received", { xmlns: "urn:other", id: "eime-1" })))).toBeNull();
    expect(readReceived(xml("message", {}, xml("received", { xmlns: NS, id: "x".repeat(257) })))).toBeNull();
    expect(readReceived(xml("message", { type: "error" }, xml("received", { xmlns: NS, id: "eime-1" })))).toBeNull();
    expect(readReceived(xml("iq", {}, xml("received", { xmlns: NS, id: "eime-1" })))).toBeNull();
  });

  it("reads a bounce: our id and the error's condition (RFC 6120 section 8.3)", () => {
    const bounce = xml(
      "message",
      { type: "error", id: "eime-2" },
      xml("body", {}, "Mi sente?"),
      xml("error", { type: "cancel" }, xml("service-unavailable", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" })),
    );
    expect(readBounce(bounce)).toEqual({ id: "eime-2", condition: "service-unavailable" });
    expect(readBounce(xml("message", { type: "error", id: "eime-3" }))).toEqual({ id: "eime-3", condition: "undefined-condition" });
    expect(readBounce(xml("message", { type: "chat", id: "eime-2" }))).toBeNull();
    expect(readBounce(xml("message", { type: "error" }))).toBeNull();
  });
});
