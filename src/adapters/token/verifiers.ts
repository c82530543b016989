// Token verifiers (backends.md section 3): `none`, `hmac:SECRET`, `http:URL`,
// chosen by EIME_TOKEN_VERIFIER. Answers are cached for cacheTtlSeconds
// (node-cache), so a token is checked when a conversation starts and again
// when its cached check expires (protocol.md section 3). Tokens are never logged.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import axios from "axios";
import NodeCache from "node-cache";
import type { Config } from "../../config/schema.js";
import type { Clock, TokenVerifier } from "../../core/ports.js";
import { RouterError } from "../../errors.js";

/**
 * The hmac token form: `{expiresAtUnixSeconds}.{hex HMAC-SHA256(secret, "{msisdn}.{expiresAt}")}`,
 * bound to one normalised MSISDN.
 */
export function issueHmacToken(secret: string, msisdn: string, expiresAt: Date): string {
  const exp = Math.floor(expiresAt.getTime() / 1000);
  return `${exp}.${createHmac("sha256", secret).update(`${msisdn}.${exp}`).digest("hex")}`;
}

export function verifyHmacToken(secret: string, token: string, msisdn: string, now: Date): boolean {
  const m = /^(\d{1,12})\.([0-9a-f]{64})$/.exec(token);
  if (!m) return false;
  const exp = Number(m[1]);
  if (exp * 1000 < now.getTime()) return false;
  const expected = createHmac("sha256", secret).update(`${msisdn}.${exp}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, "hex"));
}

function cached(inner: (token: string, msisdn: string) => Promise<boolean>, ttlSeconds: number): TokenVerifier {
  const cache = new NodeCache({ stdTTL: ttlSeconds, checkperiod: Math.max(60, ttlSeconds), useClones: false });
  return {
    async verify(token, msisdn) {
      if (!token) return false;
      // The key is a hash: the cache must not become a store of live tokens.
      const key = createHash("sha256").update(`${msisdn}\0${token}`).digest("base64");
      const hit = cache.get<boolean>(key);
      if (hit !== undefined) return hit;
      const valid = await inner(token, msisdn);
      cache.set(key, valid, valid ? ttlSeconds : Math.min(ttlSeconds, 30));
      return valid;
    },
  };
}

export function createTokenVerifier(config: Config["tokens"], clock: Clock): TokenVerifier {
  const spec = config.verifier;
  if (spec === "none") return { verify: async () => true };
  if (spec.startsWith("hmac:")) {
    const secret = spec.slice("hmac:".length);
    return cached(async (token, msisdn) => verifyHmacToken(secret, token, msisdn, clock.now()), config.cacheTtlSeconds);
  }
  const url = spec.slice("http:".length);
  return cached(async (token, msisdn) => {
    try {
      const res = await axios.post(url, { token, msisdn }, { timeout: config.timeoutMs, validateStatus: () => true });
      if (res.status === 200) return (res.data as { valid?: unknown } | null)?.valid === true;
      if (res.status === 401 || res.status === 403) return false;
      throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      // Neither valid nor invalid: the client should retry, not be told its token is bad.
      throw new RouterError("SERVICE_UNAVAILABLE", "the token verifier did not answer", { cause: err });
    }
  }, config.cacheTtlSeconds);
}
