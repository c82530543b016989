// The admin API (operations.md "HTTP"): JSON under /admin, bearer token
// required on every route, also on unknown ones (401 comes before 404, so
// the API's shape is not probed without the token). The token is checked in
// onRequest, before a body is read: an unauthenticated caller cannot make
// the router parse a large body. Failed authentications are throttled per
// client address (auth.ts).
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { bearerAuth } from "./auth.js";
import { conversationRoutes } from "./admin-conversations.js";
import type { AdminDeps } from "./admin-deps.js";
import { directoryRoutes } from "./admin-directory.js";
import { outboxRoutes } from "./admin-outbox.js";
import { userRoutes } from "./admin-users.js";
import { sendError } from "./errors.js";

export async function adminApi(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  // Failed authentications per client address (auth.ts); counted in this process's memory.
  await app.register(rateLimit, { global: false });
  const failures = app.createRateLimit({ max: deps.config.security.adminAuthFailuresPerMinute, timeWindow: 60_000 });
  app.addHook("onRequest", bearerAuth(deps.config.http.adminToken, failures));
  // Bodies are validated by zod in the handlers (field errors of errors.ts); route body schemas only describe them (OpenAPI).
  app.setValidatorCompiler(() => () => true);
  // JSON only: a text/plain body is refused as such, not parsed into a string.
  app.removeContentTypeParser("text/plain");
  app.setNotFoundHandler((request, reply) => sendError(reply, "NOT_FOUND", `no such admin resource: ${request.method}`));
  directoryRoutes(app, deps);
  userRoutes(app, deps);
  conversationRoutes(app, deps);
  outboxRoutes(app, deps);
}
