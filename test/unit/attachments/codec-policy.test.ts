import xml from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { attachmentPolicyOf } from "../../../src/attachments/policy-of.js";
import { checkAttachments, displayName, mediaTypeOf, type AttachmentPolicy } from "../../../src/core/attachment-policy.js";
import { readDataAttachment, readOob, textWithoutUrls } from "../../../src/protocol/attachment.js";
import { noticeText } from "../../../src/protocol/notices.js";

const URL1 = "https://upload.example.org/abc/photo.jpg";

describe("XEP-0066 oob from a plain client", () => {
  it("reads every jabber:x:oob url, desc as the name, and ignores other x elements", () => {
    const stanza = xml(
      "message",
      { xmlns: "jabber:client" },
      xml("body", {}, URL1),
      xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, URL1)),
      xml("x", { xmlns: "jabber:x:oob" }, xml("url", {}, "https://upload.example.org/b.pdf"), xml("desc", {}, "bill")),
      xml("x", { xmlns: "jabber:x:data" }, xml("url", {}, "https://evil.example/x")),
      xml("x", { xmlns: "jabber:x:oob" }),
    );
    expect(readOob(stanza)).toEqual([{ url: URL1 }, { url: "https://upload.example.org/b.pdf", name: "bill" }]);
  });

  it("the URL alone in the body is not text; text beside it is", () => {
    expect(textWithoutUrls(URL1, [{ url: URL1 }])).toBe("");
    expect(textWithoutUrls(`my modem ${URL1}`, [{ url: URL1 }])).toBe("my modem");
  });
});

describe("data.attachment from an EiMe client", () => {
  it("absent is none; a full one is read, mediaType lower-cased", () => {
    expect(readDataAttachment({})).toEqual({ ok: true, value: null });
    expect(readDataAttachment({ attachment: { url: URL1, mediaType: "Image/JPEG", name: "p.jpg", size: 12 } })).toEqual({
      ok: true,
      value: { url: URL1, mediaType: "image/jpeg", name: "p.jpg", size: 12 },
    });
  });

  it.each([
    [{ attachment: "x" }, "payload.data.attachment"],
    [{ attachment: {} }, "payload.data.attachment.url"],
    [{ attachment: { url: URL1, mediaType: "jpeg" } }, "payload.data.attachment.mediaType"],
    [{ attachment: { url: URL1, size: -1 } }, "payload.data.attachment.size"],
    [{ attachment: { url: URL1, size: 1.5 } }, "payload.data.attachment.size"],
    [{ attachment: { url: URL1, name: 7 } }, "payload.data.attachment.name"],
  ])("%j is refused naming %s", (data, field) => {
    const r = readDataAttachment(data);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: "BAD_REQUEST", field });
  });
});

const config = {
  xmpp: { userDomain: "example.org" },
  security: { allowPrivateTargets: false },
  attachments: { maxBytes: 10485760, allowedTypes: ["image/*", "application/pdf", "text/plain"], maxPerEpisode: 5 },
} as Parameters<typeof attachmentPolicyOf>[0];

describe("attachment policy (protocol.md section 10 defaults)", () => {
  const policy: AttachmentPolicy = attachmentPolicyOf(config);

  it("defaults to the user domain's upload host, https only", () => {
    expect(policy.allowedHosts).toEqual(["upload.example.org"]);
    expect(policy.allowHttp).toBe(false);
  });

  it("accepts an image from the share, with its type from the extension", () => {
    expect(checkAttachments([{ url: URL1 }], policy, 0)).toEqual({ accepted: [{ url: URL1, mediaType: "image/jpeg" }], refused: [] });
  });

  it.each([
    ["a host not allowed", { url: "https://evil.example/photo.jpg" }, "host"],
    ["a host that only ends like the share", { url: "https://xupload.example.org/photo.jpg" }, "host"],
    ["http", { url: "http://upload.example.org/photo.jpg" }, "url"],
    ["credentials in the URL", { url: "https://u:p@upload.example.org/photo.jpg" }, "url"],
    ["not a URL", { url: "photo.jpg" }, "url"],
    ["over 10 MiB", { url: URL1, size: 10485761 }, "size"],
    ["an executable", { url: "https://upload.example.org/a/setup.exe" }, "type"],
    ["a claimed type not allowed", { url: URL1, mediaType: "application/zip" }, "type"],
    ["no extension, no type", { url: "https://upload.example.org/a/blob" }, "type"],
  ])("refuses %s", (_what, attachment, reason) => {
    expect(checkAttachments([attachment], policy, 0)).toEqual({ accepted: [], refused: [{ attachment, reason }] });
  });

  it("exactly 10 MiB, a PDF and plain text pass", () => {
    const list = [
      { url: URL1, size: 10485760 },
      { url: "https://upload.example.org/b.pdf" },
      { url: "https://upload.example.org/n", mediaType: "text/plain" },
    ];
    expect(checkAttachments(list, policy, 0).accepted.map((a) => a.mediaType)).toEqual(["image/jpeg", "application/pdf", "text/plain"]);
  });

  it("counts the episode: the sixth is refused, refused ones do not count", () => {
    const list = [{ url: "https://evil.example/a.png" }, { url: URL1 }, { url: "https://upload.example.org/2.png" }];
    const r = checkAttachments(list, policy, 4);
    expect(r.accepted.map((a) => a.url)).toEqual([URL1]);
    expect(r.refused.map((x) => x.reason)).toEqual(["host", "count"]);
  });

  it("configured hosts may name a port; http when private targets are allowed", () => {
    const p = attachmentPolicyOf({
      ...config,
      security: { allowPrivateTargets: true },
      attachments: { ...config.attachments, allowedHosts: ["127.0.0.1:5280"] },
    } as Parameters<typeof attachmentPolicyOf>[0]);
    expect(checkAttachments([{ url: "http://127.0.0.1:5280/share/x/a.png" }], p, 0).refused).toEqual([]);
    expect(checkAttachments([{ url: "http://127.0.0.1:5281/share/x/a.png" }], p, 0).refused[0]?.reason).toBe("host");
  });

  it("type from the name before the URL; display name from the path", () => {
    expect(mediaTypeOf({ url: "https://h/x", name: "bill.pdf" })).toBe("application/pdf");
    expect(displayName({ url: "https://h/a/My%20photo.png" })).toBe("My photo.png");
  });
});

describe("ROUTER_ATTACHMENT_REFUSED#0001 text", () => {
  it("names the file and the reason in both languages", () => {
    expect(noticeText("ROUTER_ATTACHMENT_REFUSED#0001", "en", { reason: "size", name: "a.png" })).toBe(
      "The file a.png was not passed on: it is too large.",
    );
    expect(noticeText("ROUTER_ATTACHMENT_REFUSED#0001", "it", { reason: "type" })).toBe(
      "Il file non è stato inoltrato: è di un tipo non ammesso.",
    );
  });
});
