// Bearer authentication of /admin/* (operations.md "HTTP"): `Authorization:
// Bearer {adminToken}`, compared in constant time (both sides hashed to the
// same length first, then crypto.timingSafeEqual). Without a configured token
// the admin API refuses every call with 401 as well (the registry's
// UNAUTHORIZED; its message says that the API is disabled), so a client sees
// one status for "you cannot get in" whatever the reason.
// RFC 6750 section 3: a 401 carries `WWW-Authenticate: Bearer`.
//
// Throttle (issue 13): only failed authentications count, per client address
// (@fastify/rate-limit's store, read without counting first). Once an address
// has security.adminAuthFailuresPerMinute failures in the window, every admin
// call from it is 429 (RATE_LIMITED, Retry-After) until the window ends, the
// right token included: otherwise a guesser would learn which guess was right
// at an unbounded rate. Other addresses are not affected.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "./errors.js";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/** What @fastify/rate-limit's createRateLimit() returns, as far as the throttle uses it. */
export type FailureLimiter = (
  request: FastifyRequest,
  options?: { increment?: boolean },
) => Promise<{ isAllowed: boolean; remaining?: number; ttlInSeconds?: number }>;

function refuse(reply: FastifyReply, message: string, invalid = false): never {
  reply.header("www-authenticate", `Bearer realm="eime-router admin"${invalid ? ', error="invalid_token"' : ""}`);
  throw new HttpError("UNAUTHORIZED", message);
}

export function bearerAuth(
  adminToken: string | undefined,
  failures?: FailureLimiter,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = adminToken === undefined ? undefined : digest(adminToken);
  return async (request, reply) => {
    if (failures) {
      const status = await failures(request, { increment: false });
      if (!status.isAllowed && status.remaining === 0) {
        const wait = Math.max(1, status.ttlInSeconds ?? 60);
        reply.header("retry-after", String(wait));
        throw new HttpError("RATE_LIMITED", `too many failed authentications from this address: retry in ${wait} s`);
      }
    }
    const failed = async (message: string, invalid = false): Promise<never> => {
      await failures?.(request);
      return refuse(reply, message, invalid);
    };
    if (expected === undefined) {
      return failed("the admin API is disabled: no admin token is configured (EIME_ADMIN_TOKEN)");
    }
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined) return failed("missing bearer token: send Authorization: Bearer {admin token}");
    if (!timingSafeEqual(digest(given), expected)) return failed("wrong bearer token", true);
  };
}
