// /metrics on a listener of its own (issue 13; docs/configuration.md
// http.metricsPort, http.metricsHost): Prometheus scrapes it without reaching
// the admin listener, which then answers /metrics 404. Nothing else is
// served here; no authentication (like /metrics on the main listener).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Logger } from "../log.js";
import { installErrorHandling } from "./errors.js";
import { metricsRoute } from "./health.js";

export function buildMetricsHttp(deps: { registry: Registry; logger: Logger }): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });
  installErrorHandling(app);
  metricsRoute(app, deps.registry);
  return app;
}
