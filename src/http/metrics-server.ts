// /metrics on a listener of its own (http.metricsPort, configuration.md), so
// Prometheus can scrape an address that does not reach the admin API.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Logger } from "../log.js";
import { metricsRoute } from "./health.js";

export function buildMetricsHttp(registry: Registry, logger: Logger): FastifyInstance {
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({ loggerInstance, logController: new LogController({ disableRequestLogging: true }) });
  metricsRoute(app, registry);
  return app;
}
