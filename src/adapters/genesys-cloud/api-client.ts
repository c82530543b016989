// One authenticated request to the Genesys Cloud Platform API (backends.md
// section 2b), under the per-token rate limit:
// - every request first takes a point of a token bucket (rate-limiter-flexible,
//   requestsPerMinute per minute), so the router queues beneath the limit
//   instead of meeting it;
// - a 429 pauses every request of this client for its Retry-After (seconds)
//   and the request is tried again, up to MAX_429 times;
// - a 401 drops the token and the request is tried once more with a new one
//   (a token revoked or expired early).
// Anything else comes back to the caller as {status, body}; a timeout or a
// network failure is a transient CloudError.
import axios, { type AxiosInstance } from "axios";
import { RateLimiterMemory, RateLimiterQueue } from "rate-limiter-flexible";
import type { Logger } from "../../log.js";
import { CloudError, type CloudOp } from "./errors.js";
import type { TokenSource } from "./token.js";

export interface ApiClientOptions {
  apiUrl: string;
  timeoutMs: number;
  requestsPerMinute: number;
  /** Observes each request (metrics). */
  onCall?: (op: CloudOp, status: number | "timeout" | "failed", seconds: number) => void;
}

export interface ApiAnswer {
  status: number;
  /** The parsed JSON body; undefined when there was none or it was not JSON. */
  body: unknown;
}

export interface ApiClient {
  request(op: CloudOp, method: "GET" | "POST" | "PATCH", path: string, body?: unknown): Promise<ApiAnswer>;
}

const MAX_429 = 5;
/** A Retry-After beyond this is not waited inside one call: the call fails transiently and the outbox retries later. */
const MAX_RETRY_AFTER_MS = 60_000;

export function createApiClient(options: ApiClientOptions, tokens: TokenSource, http: AxiosInstance, log: Logger): ApiClient {
  const base = options.apiUrl.replace(/\/+$/, "");
  const bucket = new RateLimiterQueue(new RateLimiterMemory({ points: options.requestsPerMinute, duration: 60 }), {
    maxQueueSize: 10_000,
  });
  let pausedUntil = 0;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function once(op: CloudOp, method: string, path: string, body: unknown, token: string): Promise<ApiAnswer> {
    const wait = pausedUntil - Date.now();
    if (wait > 0) await sleep(wait);
    await bucket.removeTokens(1);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const res = await http.request<string>({
        method,
        url: base + path,
        data: body === undefined ? undefined : JSON.stringify(body),
        timeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json" },
      });
      options.onCall?.(op, res.status, seconds());
      let parsed: unknown;
      try {
        parsed = res.data ? JSON.parse(String(res.data)) : undefined;
      } catch {
        parsed = undefined;
      }
      if (res.status === 429) {
        const header: unknown = res.headers["retry-after"];
        const retryAfterMs = Math.max(0, Number(header ?? 1) * 1000 || 1000);
        pausedUntil = Math.max(pausedUntil, Date.now() + Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
        log.warn({ op, retryAfterMs }, "Genesys Cloud rate limit (429): waiting");
      }
      return { status: res.status, body: parsed };
    } catch (err) {
      const timeout = axios.isCancel(err) || (err instanceof Error && /timeout|aborted|canceled/i.test(err.message));
      options.onCall?.(op, timeout ? "timeout" : "failed", seconds());
      throw new CloudError(`Genesys Cloud ${op}: ${timeout ? `no answer within ${options.timeoutMs} ms` : (err as Error).message}`, {
        op,
        transient: true,
      });
    }
  }

  return {
    async request(op, method, path, body) {
      let renewed = false;
      for (let attempt = 0; ; attempt++) {
        const token = (await tokens.get()).value;
        const answer = await once(op, method, path, body, token);
        if (answer.status === 401 && !renewed) {
          tokens.invalidate(token);
          renewed = true;
          continue;
        }
        if (answer.status === 429 && attempt < MAX_429) continue;
        return answer;
      }
    },
  };
}

/** A plain axios instance: every status comes back, the body as text. */
export function plainHttp(maxBytes = 5 * 1024 * 1024): AxiosInstance {
  return axios.create({
    responseType: "text",
    transformResponse: [(d: unknown) => d],
    maxRedirects: 0,
    validateStatus: () => true,
    maxContentLength: maxBytes,
  });
}
