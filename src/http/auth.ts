// Bearer authentication of /admin/* (operations.md "HTTP"): `Authorization:
// Bearer {adminToken}`, compared in constant time (both sides hashed to the
// same length first, then crypto.timingSafeEqual). Without a configured token
// the admin API refuses every call with 401 as well (the registry's
// UNAUTHORIZED; its message says that the API is disabled), so a client sees
// one status for "you cannot get in" whatever the reason.
// RFC 6750 section 3: a 401 carries `WWW-Authenticate: Bearer`.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { HttpError } from "./errors.js";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

export function bearerAuth(adminToken: string | undefined): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = adminToken === undefined ? undefined : digest(adminToken);
  return async (request, reply) => {
    if (expected === undefined) {
      reply.header("www-authenticate", 'Bearer realm="eime-router admin"');
      throw new HttpError("UNAUTHORIZED", "the admin API is disabled: no admin token is configured (EIME_ADMIN_TOKEN)");
    }
    const header = request.headers.authorization;
    const given = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (given === undefined) {
      reply.header("www-authenticate", 'Bearer realm="eime-router admin"');
      throw new HttpError("UNAUTHORIZED", "missing bearer token: send Authorization: Bearer {admin token}");
    }
    if (!timingSafeEqual(digest(given), expected)) {
      reply.header("www-authenticate", 'Bearer realm="eime-router admin", error="invalid_token"');
      throw new HttpError("UNAUTHORIZED", "wrong bearer token");
    }
  };
}
