// protocol.md section 10: how an attachment travels in a stanza. From a plain
// client: XEP-0066 `<x xmlns="jabber:x:oob"><url>…</url></x>` (after an
// XEP-0363 upload) with the URL as the body; from an EiMe client:
// `chat_text` with `data.attachment: {url, mediaType?, name?, size?}`. Pure.
import type { Element } from "@xmpp/xml";
import { NS_OOB } from "./ns.js";
import { fail, ok, type Result } from "./result.js";

/** An attachment as the user (or a bot) named it; mediaType and size are claims until the file is fetched. */
export interface Attachment {
  url: string;
  mediaType?: string;
  name?: string;
  size?: number;
}

/** Longest attachment URL or name accepted (a URL longer than this is not a file share's). */
export const MAX_ATTACHMENT_URL = 2048;

/** The URLs of every XEP-0066 `jabber:x:oob` child, in order; `<desc>` becomes the name. */
export function readOob(stanza: Element): Attachment[] {
  return stanza
    .getChildren("x", NS_OOB)
    .map((x): Attachment | null => {
      const url = x.getChildText("url")?.trim();
      if (!url || url.length > MAX_ATTACHMENT_URL) return null;
      const desc = x.getChildText("desc")?.trim();
      return desc ? { url, name: desc.slice(0, 256) } : { url };
    })
    .filter((a): a is Attachment => a !== null);
}

/**
 * The text of a plain message once its attachments are taken out: clients
 * (Conversations, Dino) put the URL alone in the body (XEP-0066 section 3.2),
 * which is not text for the bot or the agent.
 */
export function textWithoutUrls(text: string, attachments: readonly Attachment[]): string {
  let out = text;
  for (const a of attachments) out = out.split(a.url).join("");
  return out.trim();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `payload.data.attachment` of an EiMe message; absent is ok(null). Error field: "payload.data.attachment…". */
export function readDataAttachment(data: Record<string, unknown>): Result<Attachment | null> {
  const raw = data["attachment"];
  if (raw === undefined) return ok(null);
  const field = "payload.data.attachment";
  if (!isObject(raw)) return fail("BAD_REQUEST", field, "must be an object {url, mediaType?, name?, size?}");
  const { url, mediaType, name, size } = raw;
  if (typeof url !== "string" || url === "") return fail("BAD_REQUEST", `${field}.url`, "must be a URL");
  if (url.length > MAX_ATTACHMENT_URL) return fail("PAYLOAD_TOO_LARGE", `${field}.url`, `longer than ${MAX_ATTACHMENT_URL}`);
  if (mediaType !== undefined && (typeof mediaType !== "string" || !/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)))
    return fail("BAD_REQUEST", `${field}.mediaType`, "must be a media type such as image/png");
  if (name !== undefined && (typeof name !== "string" || name.length > 256))
    return fail("BAD_REQUEST", `${field}.name`, "must be a string of at most 256 characters");
  if (size !== undefined && (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0))
    return fail("BAD_REQUEST", `${field}.size`, "must be a whole number of bytes");
  return ok({
    url,
    ...(mediaType !== undefined ? { mediaType: mediaType.toLowerCase() } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(size !== undefined ? { size } : {}),
  });
}
