// The HTTP side (design.md http/; operations.md "HTTP"): health, status,
// metrics and the admin API on one fastify instance (metrics on a listener
// of its own when http.metricsPort is set: metrics-server.ts). buildHttp() does not
// listen: app.ts listens on config.http.host:port once the component is up
// (port 0 in tests) and closes it first on stop; tests use inject().
// Not here: the optional bot callback endpoint of backends.md section 1.
//
// Logging: fastify's own request lines are off; one debug line per request
// with the method, the route pattern (never the raw URL: DELETE
// /admin/users/{msisdn} carries an MSISDN), the status and the time. No
// header is ever logged (Authorization stays out).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Config } from "../config/schema.js";
import type { Logger } from "../log.js";
import { createReadiness, DB_CHECK_TIMEOUT_MS, type Readiness } from "../readiness.js";
import type { Store } from "../store/index.js";
import type { ConnectionStatus } from "../xmpp/connection.js";
import { adminApi } from "./admin.js";
import { attachmentRoutes } from "./attachments.js";
import { HttpError, installErrorHandling } from "./errors.js";
import { healthRoutes, metricsRoute } from "./health.js";
import { openApiRoute, registerOpenApi, VERSION } from "./openapi.js";

export interface HttpDeps {
  config: Config;
  /** The store once the router is started; undefined before (readiness says so, admin calls get 503). */
  store: () => Store | undefined;
  connectionStatus: () => ConnectionStatus;
  /** The router's Prometheus registry (app.metrics.registry). */
  registry: Registry;
  /** Further reasons not to be ready, beyond the database and the component (e.g. stopping). */
  ready?: () => readonly string[];
  /** The router's readiness check, shared with its eime_ready gauge; by default one built from store, connectionStatus and ready. */
  readiness?: Readiness;
  logger: Logger;
  /** Default 10,000. */
  maxUsersPerImport?: number;
  /** Default 8 MiB (the directory and user imports); other routes keep fastify's 1 MiB. */
  adminBodyLimitBytes?: number;
  /** Key of signed attachment URLs (src/attachments/signed-url.ts); unset: no /attachments route. */
  attachmentUrlKey?: Buffer;
  /** Bound of the readiness database check. Default 1000 ms. */
  dbCheckTimeoutMs?: number;
  /** Further routes in their own scope (e.g. the Genesys Cloud webhook, backends.md 2b). */
  plugins?: readonly ((app: FastifyInstance) => Promise<void>)[];
}

export const MAX_USERS_PER_IMPORT = 10_000;

export function buildHttp(deps: HttpDeps): FastifyInstance {
  // Typed as fastify's base logger so the instance is a plain FastifyInstance (not one generic over pino's Logger).
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    logController: new LogController({ disableRequestLogging: true }),
    // close(): idle keep-alive connections are closed at once, requests in flight finish (fastify's default).
  });

  app.addHook("onResponse", async (request, reply) => {
    request.log.debug(
      { method: request.method, route: request.routeOptions.url ?? "(none)", status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      "http request",
    );
  });
  installErrorHandling(app);
  // First: its onRoute hook sees the routes of the plugins registered after it.
  registerOpenApi(app, VERSION);

  void app.register(async (open) => {
    healthRoutes(open, {
      connectionStatus: deps.connectionStatus,
      registry: deps.registry,
      readiness:
        deps.readiness ??
        createReadiness({
          store: deps.store,
          connectionStatus: deps.connectionStatus,
          ...(deps.ready ? { ready: deps.ready } : {}),
          dbCheckTimeoutMs: deps.dbCheckTimeoutMs ?? DB_CHECK_TIMEOUT_MS,
          logger: deps.logger,
        }),
    });
    // With http.metricsPort, /metrics is served by the metrics listener only (metrics-server.ts): 404 here.
    if (deps.config.http.metricsPort === undefined) metricsRoute(open, deps.registry);
    openApiRoute(open);
  });

  if (deps.attachmentUrlKey) attachmentRoutes(app, { store: deps.store, key: deps.attachmentUrlKey });

  void app.register(adminApi, {
    prefix: "/admin",
    config: deps.config,
    store: () => {
      const s = deps.store();
      if (!s) throw new HttpError("SERVICE_UNAVAILABLE", "the router is not started");
      return s;
    },
    maxUsersPerImport: deps.maxUsersPerImport ?? MAX_USERS_PER_IMPORT,
    bodyLimitBytes: deps.adminBodyLimitBytes ?? 8 * 1024 * 1024,
  });

  for (const plugin of deps.plugins ?? []) void app.register(plugin);

  return app;
}

/** The base URL of a listening server, e.g. http://127.0.0.1:41234 (IPv6 in brackets). */
export function baseUrl(app: FastifyInstance): string {
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("the HTTP server is not listening on a TCP port");
  const host = address.address.includes(":") ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
