// Downloads one file, bounded (protocol.md section 10): at most `maxBytes`
// (a larger Content-Length is refused before reading, a body that grows past
// it is cut off), within `timeoutMs` for the whole exchange, following at
// most a few redirects and only to URLs `allowed` accepts (no redirect to a
// host not allowed). Node's own fetch (undici); nothing is kept but the bytes.
import { createHash } from "node:crypto";

/** `type` is a caller's: the bytes arrived, their type is not one it takes. */
export type FetchFailureReason = "host" | "size" | "type" | "timeout" | "http" | "network";

export class FetchFailure extends Error {
  constructor(
    readonly reason: FetchFailureReason,
    message: string,
    /** True when trying again cannot help (too large, refused, 4xx); false for a timeout, a 5xx or the network. */
    readonly final: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "FetchFailure";
  }
}

export interface FetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Whether the router may fetch this URL; false refuses it as `host`. */
  allowed: (url: URL) => boolean | Promise<boolean>;
  /** Whether a redirect may lead there; default `allowed`. */
  allowedRedirect?: (url: URL) => boolean | Promise<boolean>;
  /** Default 3. */
  maxRedirects?: number;
}

export interface FetchedFile {
  content: Buffer;
  /** The response's Content-Type without parameters, lower case; null when it sent none. */
  mediaType: string | null;
  sha256: string;
}

async function readBounded(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new FetchFailure("size", `larger than ${maxBytes} bytes`, true);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, size);
}

function failureOf(err: unknown, signal: AbortSignal, timeoutMs: number): FetchFailure {
  if (err instanceof FetchFailure) return err;
  if (signal.aborted) return new FetchFailure("timeout", `no complete answer within ${timeoutMs} ms`, false, { cause: err });
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return new FetchFailure("network", cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)), false, {
    cause: err,
  });
}

async function fetchOnce(url: URL, opts: FetchOptions, signal: AbortSignal, redirected: boolean): Promise<Response> {
  const allowed = redirected ? (opts.allowedRedirect ?? opts.allowed) : opts.allowed;
  if (!(await allowed(url))) throw new FetchFailure("host", `${url.host} is not a host files may come from`, true);
  return fetch(url, { redirect: "manual", signal, headers: { accept: "*/*" } });
}

export async function fetchBounded(url: string, opts: FetchOptions): Promise<FetchedFile> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    let target = new URL(url);
    let res = await fetchOnce(target, opts, signal, false);
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.has("location"); hops++) {
      await res.body?.cancel().catch(() => undefined);
      if (hops >= (opts.maxRedirects ?? 3)) throw new FetchFailure("http", "too many redirects", true);
      target = new URL(res.headers.get("location")!, target);
      res = await fetchOnce(target, opts, signal, true);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new FetchFailure("http", `HTTP ${res.status}`, res.status < 500 && res.status !== 429);
    }
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (declared > opts.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw new FetchFailure("size", `${declared} bytes, larger than ${opts.maxBytes}`, true);
    }
    const content = await readBounded(res.body, opts.maxBytes);
    const type = res.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
    return { content, mediaType: type || null, sha256: createHash("sha256").update(content).digest("hex") };
  } catch (err) {
    throw failureOf(err, signal, opts.timeoutMs);
  }
}
