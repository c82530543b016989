// protocol.md section 10: which attachments the router passes on. Checked
// before anything is forwarded; a refused one becomes
// ROUTER_ATTACHMENT_REFUSED#0001 with its reason and the message's text still
// goes through. Pure: the size and type here are what the sender claims (or
// the URL's extension says); the fetch checks them again on the bytes.
import mime from "mime-types";
import type { Attachment } from "../protocol/attachment.js";

export interface AttachmentPolicy {
  /** Hosts (host or host:port, lower case) files may come from. */
  allowedHosts: readonly string[];
  maxBytes: number;
  /** Media types, `type/*` for a whole family. */
  allowedTypes: readonly string[];
  /** Attachments one user may send per episode (bot session or operator episode). */
  maxPerEpisode: number;
  /** Accept http:// as well as https:// (tests, a file share on loopback). */
  allowHttp: boolean;
}

export type RefusalReason = "url" | "host" | "size" | "type" | "count";

export interface AttachmentRefusal {
  attachment: Attachment;
  reason: RefusalReason;
}

export interface AttachmentCheck {
  /** With `mediaType` always set (claimed, else from the name or URL). */
  accepted: (Attachment & { mediaType: string })[];
  refused: AttachmentRefusal[];
}

/** The media type a sender claimed, else the one the name's or URL's extension stands for. */
export function mediaTypeOf(a: Attachment): string {
  if (a.mediaType) return a.mediaType;
  const byName = a.name ? mime.lookup(a.name) : false;
  if (byName) return byName;
  try {
    const byPath = mime.lookup(new URL(a.url).pathname);
    if (byPath) return byPath;
  } catch {
    // not a URL: refused for that below
  }
  return "application/octet-stream";
}

export function typeAllowed(mediaType: string, allowed: readonly string[]): boolean {
  const t = mediaType.toLowerCase().split(";")[0]!.trim();
  return allowed.some((a) => (a.endsWith("/*") ? t.startsWith(a.slice(0, -1)) : t === a.toLowerCase()));
}

/** Whether the URL may be fetched at all: http(s), an allowed host, no credentials in it. */
export function urlAllowed(url: string, policy: Pick<AttachmentPolicy, "allowedHosts" | "allowHttp">): RefusalReason | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "url";
  }
  if (u.protocol !== "https:" && !(policy.allowHttp && u.protocol === "http:")) return "url";
  if (u.username !== "" || u.password !== "") return "url";
  const hosts = policy.allowedHosts.map((h) => h.toLowerCase());
  return hosts.includes(u.hostname.toLowerCase()) || hosts.includes(u.host.toLowerCase()) ? null : "host";
}

function reasonFor(a: Attachment, mediaType: string, policy: AttachmentPolicy): RefusalReason | null {
  const byUrl = urlAllowed(a.url, policy);
  if (byUrl) return byUrl;
  if (a.size !== undefined && a.size > policy.maxBytes) return "size";
  if (!typeAllowed(mediaType, policy.allowedTypes)) return "type";
  return null;
}

/** Each attachment accepted or refused with its reason; `sentBefore` counts this episode's accepted ones so far. */
export function checkAttachments(list: readonly Attachment[], policy: AttachmentPolicy, sentBefore: number): AttachmentCheck {
  const out: AttachmentCheck = { accepted: [], refused: [] };
  for (const a of list) {
    const mediaType = mediaTypeOf(a);
    const reason = reasonFor(a, mediaType, policy) ?? (sentBefore + out.accepted.length >= policy.maxPerEpisode ? "count" : null);
    if (reason) out.refused.push({ attachment: a, reason });
    else out.accepted.push({ ...a, mediaType });
  }
  return out;
}

/** The name a refusal notice shows: the given name, else the URL's last path segment. */
export function displayName(a: Attachment): string {
  if (a.name) return a.name;
  try {
    const last = new URL(a.url).pathname.split("/").filter(Boolean).pop();
    return last ? decodeURIComponent(last).slice(0, 100) : a.url.slice(0, 100);
  } catch {
    return a.url.slice(0, 100);
  }
}
