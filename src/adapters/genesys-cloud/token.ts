// OAuth client credentials for Genesys Cloud (backends.md section 2b):
// POST {loginUrl}/oauth/token, HTTP Basic clientId:clientSecret,
// grant_type=client_credentials; the answer is {access_token, token_type,
// expires_in (seconds)}. The token is cached and renewed before it expires
// (at 80 % of its life); callers waiting at the same time share one request.
// A 401 from the API drops it (invalidate) so the next call fetches a new one.
import type { AxiosInstance } from "axios";
import { CloudError } from "./errors.js";

export interface TokenSourceOptions {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  now?: () => number;
}

export interface AccessToken {
  value: string;
  /** When it is renewed (ms since epoch): before Genesys says it expires. */
  renewAt: number;
}

export interface TokenSource {
  get(): Promise<AccessToken>;
  /** The API refused this token (401): forget it, unless a newer one is held already. */
  invalidate(value: string): void;
}

const RENEW_AT = 0.8;

export function createTokenSource(options: TokenSourceOptions, http: AxiosInstance): TokenSource {
  const now = options.now ?? Date.now;
  const url = options.loginUrl.replace(/\/+$/, "") + "/oauth/token";
  const basic = Buffer.from(`${options.clientId}:${options.clientSecret}`).toString("base64");
  let current: AccessToken | null = null;
  let pending: Promise<AccessToken> | null = null;

  async function fetchToken(): Promise<AccessToken> {
    const started = now();
    let res;
    try {
      res = await http.post<string>(url, new URLSearchParams({ grant_type: "client_credentials" }).toString(), {
        timeout: options.timeoutMs,
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      });
    } catch (err) {
      throw new CloudError(`Genesys Cloud token: ${err instanceof Error ? err.message : String(err)}`, { op: "token", transient: true });
    }
    if (res.status < 200 || res.status > 299) {
      // 400/401: wrong client id or secret, a retry will not mend it.
      throw new CloudError(`Genesys Cloud token: HTTP ${res.status}`, {
        op: "token",
        transient: res.status >= 500 || res.status === 429,
        httpStatus: res.status,
      });
    }
    let body: { access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(String(res.data)) as typeof body;
    } catch {
      throw new CloudError("Genesys Cloud token: answer is not JSON", { op: "token", transient: true });
    }
    const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 0;
    if (typeof body.access_token !== "string" || !body.access_token || expiresIn === 0) {
      throw new CloudError("Genesys Cloud token: answer without access_token or expires_in", { op: "token", transient: true });
    }
    return { value: body.access_token, renewAt: started + expiresIn * 1000 * RENEW_AT };
  }

  return {
    get() {
      if (current && now() < current.renewAt) return Promise.resolve(current);
      pending ??= fetchToken()
        .then((t) => (current = t))
        .finally(() => (pending = null));
      return pending;
    },
    invalidate(value) {
      if (current?.value === value) current = null;
    },
  };
}
