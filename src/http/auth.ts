// Bearer authentication of /admin/* (operations.md "HTTP"): `Authorization:
// Bearer {adminToken}`, compared in constant time (both sides hashed to the
// same length first, then crypto.timingSafeEqual). Without a configured token
// the admin API refuses every call with 401 as well (the registry's
// UNAUTHORIZED; its message says that the API is disabled), so a client sees
// one status for "you cannot get in" whatever the reason.
// RFC 6750 section 3: a 401 carries `WWW-Authenticate: Bearer`.
//
// Guessing is throttled (issue 13): an address with `failures` failed
// authentications within `windowMs` is answered 429 RATE_LIMITED with
// Retry-After (RFC 9110 section 10.2.3) until the window ends, even with the
// right token; other addresses are not affected. Only failures count, so a
// busy admin client with the right token is never throttled.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { RateLimiterMemory } from "rate-limiter-flexible";
import { HttpError } from "./errors.js";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export interface AuthThrottle {
  /** Failed authentications per address and window before it is refused (http.authFailuresPerMinute). */
  failures: number;
  windowMs: number;
}

export function bearerAuth(
  adminToken: string | undefined,
  throttle: AuthThrottle,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = adminToken === undefined ? undefined : digest(adminToken);
  const failures = new RateLimiterMemory({ points: throttle.failures, duration: Math.ceil(throttle.windowMs / 1000) });
  const refuse = async (request: FastifyRequest, reply: FastifyReply, message: string, error = "") => {
    await failures.consume(request.ip).catch(() => undefined);
    reply.header("www-authenticate", `Bearer realm="eime-router admin"${error}`);
    throw new HttpError("UNAUTHORIZED", message);
  };
  return async (request, reply) => {
    const seen = await failures.get(request.ip);
    if (seen !== null && seen.consumedPoints >= throttle.failures) {
      reply.header("retry-after", String(Math.max(1, Math.ceil(seen.msBeforeNext / 1000))));
      throw new HttpError("RATE_LIMITED", "too many failed authentications from this address: try again later");
    }
    if (expected === undefined) return refuse(request, reply, "the admin API is disabled: no admin token is configured (EIME_ADMIN_TOKEN)");
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined) return refuse(request, reply, "missing bearer token: send Authorization: Bearer {admin token}");
    if (!timingSafeEqual(digest(given), expected)) return refuse(request, reply, "wrong bearer token", ', error="invalid_token"');
  };
}
