// Attachments of Genesys Cloud Open Messaging (backends.md 2b, docs/attachments.md
// "Genesys Cloud"): both ways a file is a URL in `content[].attachment`
// (platform API OpenContentAttachment: `mediaType` Image|Video|Audio|File,
// `url`, `mime`, `filename`).
// - An agent's file is downloaded from the URL Genesys gave, bounded
//   (attachments/fetch.ts), only from a media host: genesysCloud.mediaHosts,
//   by default apiUrl's host and the hosts under its region's domain (the
//   public pages name no media host). A redirect is followed only to such a
//   host. No token is sent: the URL is the credential, and a token must not
//   follow a redirect.
// - The user's file goes as the router's signed URL, which Genesys fetches.
import { FetchFailure, fetchBounded, type FetchedFile } from "../../attachments/fetch.js";
import type { Config } from "../../config/schema.js";

export type OpenMediaType = "Image" | "Video" | "Audio" | "File";

/** OpenContentAttachment.mediaType of a media type. */
export function openMediaType(mime: string): OpenMediaType {
  const family = mime.split("/")[0]!.toLowerCase();
  if (family === "image") return "Image";
  if (family === "video") return "Video";
  if (family === "audio") return "Audio";
  return "File";
}

const isAddress = (host: string) => /^[\d.]+$/.test(host) || host.includes(":");

/** genesysCloud.mediaHosts, else apiUrl's host and `*.` its region's domain (api.mypurecloud.de → *.mypurecloud.de). */
export function cloudMediaHosts(g: Pick<Config["genesysCloud"], "apiUrl" | "mediaHosts">): string[] {
  if (g.mediaHosts) return g.mediaHosts.map((h) => h.toLowerCase());
  if (!g.apiUrl) return [];
  const api = new URL(g.apiUrl);
  const labels = api.hostname.toLowerCase().split(".");
  const region = !isAddress(api.hostname) && labels.length >= 3 ? [`*.${labels.slice(1).join(".")}`] : [];
  return [api.host.toLowerCase(), ...region];
}

/** Whether a URL is on one of the hosts (host, host:port, or `*.domain` for any host under domain). */
export function onMediaHost(url: URL, hosts: readonly string[]): boolean {
  const name = url.hostname.toLowerCase();
  const host = url.host.toLowerCase();
  return hosts.some((h) => (h.startsWith("*.") ? name.endsWith(h.slice(1)) : h === name || h === host));
}

export interface MediaFetchOptions {
  hosts: readonly string[];
  maxBytes: number;
  timeoutMs: number;
  /** http: too (security.allowPrivateTargets: tests); otherwise https only. */
  allowHttp: boolean;
}

/** Downloads an agent's attachment; throws FetchFailure (`host` for a URL off the media hosts). */
export async function fetchCloudMedia(url: string, opts: MediaFetchOptions): Promise<FetchedFile> {
  const allowed = (u: URL) =>
    (u.protocol === "https:" || (opts.allowHttp && u.protocol === "http:")) &&
    u.username === "" &&
    u.password === "" &&
    onMediaHost(u, opts.hosts);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FetchFailure("host", "not a URL", true);
  }
  return fetchBounded(parsed.toString(), { maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs, allowed });
}
