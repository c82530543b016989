// The effective config as `check-config` prints it: every value, secrets
// replaced by "***" (the component secret, the admin token, an HMAC token
// key, passwords and query strings in URLs), so the output may be pasted
// into a ticket.
import type { Config } from "../config/schema.js";

export const HIDDEN = "***";

/** A URL with its password (and user info, if any password) and query hidden; non-URLs unchanged. */
export function redactUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return value;
  }
  if (u.password) u.password = HIDDEN;
  if (u.search) u.search = `?${HIDDEN}`;
  return u.toString();
}

function redactVerifier(v: string): string {
  if (v.startsWith("hmac:")) return `hmac:${HIDDEN}`;
  if (v.startsWith("http:")) return `http:${redactUrl(v.slice("http:".length))}`;
  return v;
}

export function redactConfig(config: Config): unknown {
  const copy = structuredClone(config) as Config & Record<string, unknown>;
  const out = copy as unknown as {
    xmpp: { secret: string };
    http: { adminToken?: string };
    database: { url?: string };
    tokens: { verifier: string };
    genesys: { url?: string };
    voting: { surveyUrl?: string };
  };
  out.xmpp.secret = HIDDEN;
  if (out.http.adminToken !== undefined) out.http.adminToken = HIDDEN;
  if (out.database.url !== undefined) out.database.url = redactUrl(out.database.url);
  out.tokens.verifier = redactVerifier(out.tokens.verifier);
  if (out.genesys.url !== undefined) out.genesys.url = redactUrl(out.genesys.url);
  if (out.voting.surveyUrl !== undefined) out.voting.surveyUrl = redactUrl(out.voting.surveyUrl);
  return copy;
}
