// protocol.md section 10: the router fetches a user's file (from the XMPP
// server's file share) before it uploads it to an operator. Bounded: at most
// `maxBytes` (the connection is dropped past it), within `timeoutMs` from
// connect to last byte, and a redirect only to a host the attachment policy
// allows (each hop checked again, at most MAX_REDIRECTS). The size checked
// here is the real one; the core checked only the claimed one.
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import { mediaTypeOf, urlAllowed, type AttachmentPolicy } from "../core/attachment-policy.js";
import type { Attachment } from "../protocol/attachment.js";

const MAX_REDIRECTS = 3;

/** Why a file could not be fetched, as the refusal reason the user is told (ROUTER_ATTACHMENT_REFUSED#0001). */
export class FetchRefused extends Error {
  constructor(
    readonly reason: "host" | "size" | "fetch",
    message: string,
    /** Worth trying again later (a timeout, a 5xx). */
    readonly transient = false,
  ) {
    super(message);
    this.name = "FetchRefused";
  }
}

export interface FetchedFile {
  name: string;
  mediaType: string;
  content: Buffer;
}

export interface FetchOptions {
  policy: Pick<AttachmentPolicy, "allowedHosts" | "allowHttp">;
  maxBytes: number;
  timeoutMs: number;
  http?: AxiosInstance;
}

const defaultHttp = axios.create({ maxRedirects: 0, validateStatus: () => true, transitional: { clarifyTimeoutError: true } });

/** The name a file goes by: the one given, else the URL's last path segment. */
export function fileNameOf(a: Attachment): string {
  if (a.name) return a.name;
  try {
    const last = new URL(a.url).pathname.split("/").filter(Boolean).pop();
    return last ? decodeURIComponent(last) : "file";
  } catch {
    return "file";
  }
}

export async function fetchUserFile(a: Attachment, opts: FetchOptions): Promise<FetchedFile> {
  const http = opts.http ?? defaultHttp;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let url = a.url;
  for (let hop = 0; ; hop++) {
    const problem = urlAllowed(url, opts.policy);
    if (problem) throw new FetchRefused("host", `not an allowed address (${problem})`);
    let res: AxiosResponse<ArrayBuffer>;
    try {
      res = await http.get<ArrayBuffer>(url, {
        responseType: "arraybuffer",
        maxRedirects: 0,
        maxContentLength: opts.maxBytes,
        timeout: opts.timeoutMs,
        signal,
        validateStatus: () => true,
      });
    } catch (err) {
      if (axios.isAxiosError(err) && /maxContentLength/.test(err.message)) {
        throw new FetchRefused("size", `larger than ${opts.maxBytes} bytes`);
      }
      throw new FetchRefused("fetch", err instanceof Error ? err.message : String(err), true);
    }
    if (res.status >= 300 && res.status < 400) {
      const location: unknown = res.headers["location"];
      if (typeof location !== "string" || hop >= MAX_REDIRECTS) throw new FetchRefused("fetch", `redirect ${res.status} not followed`);
      url = new URL(location, url).toString();
      continue;
    }
    if (res.status < 200 || res.status > 299)
      throw new FetchRefused("fetch", `HTTP ${res.status}`, res.status >= 500 || res.status === 429);
    const content = Buffer.from(res.data);
    if (content.length > opts.maxBytes) throw new FetchRefused("size", `larger than ${opts.maxBytes} bytes`);
    const served = String(res.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim()
      .toLowerCase();
    const claimed = mediaTypeOf(a);
    // The claim (checked against the policy) wins; a share that says more than octet-stream is believed otherwise.
    const mediaType = claimed !== "application/octet-stream" ? claimed : served || claimed;
    return { name: fileNameOf(a), mediaType, content };
  }
}
