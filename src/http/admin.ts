// The admin API (operations.md "HTTP"): JSON under /admin, bearer token
// required on every route, also on unknown ones (401 comes before 404, so
// the API's shape is not probed without the token). The token is checked in
// onRequest, before a body is read: an unauthenticated caller cannot make
// the router parse a large body.
import type { FastifyInstance } from "fastify";
import type { Config } from "../config/schema.js";
import type { Store } from "../store/index.js";
import { bearerAuth } from "./auth.js";
import { conversationRoutes } from "./admin-conversations.js";
import { directoryRoutes } from "./admin-directory.js";
import { userRoutes } from "./admin-users.js";
import { sendError } from "./errors.js";

export interface AdminDeps {
  config: Config;
  /** The open store; throws when the router is not started. */
  store(): Store;
  /** Users per POST /admin/users. */
  maxUsersPerImport: number;
  /** Body limit of the routes that take a whole directory or a user batch. */
  bodyLimitBytes: number;
}

export async function adminApi(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  app.addHook("onRequest", bearerAuth(deps.config.http.adminToken));
  // JSON only: a text/plain body is refused as such, not parsed into a string.
  app.removeContentTypeParser("text/plain");
  app.setNotFoundHandler((request, reply) => sendError(reply, "NOT_FOUND", `no such admin resource: ${request.method}`));
  directoryRoutes(app, deps);
  userRoutes(app, deps);
  conversationRoutes(app, deps);
}
