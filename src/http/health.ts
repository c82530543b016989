// Health, status and metrics (operations.md "HTTP"); no authentication.
//   GET /health/live   200 {status:"live"} while the process runs.
//   GET /health/ready  200 {status:"ready"} when the database answers a
//                      `SELECT 1` within a short bound and the component is
//                      online; else 503 {status:"not ready", reasons:[…]}.
//   GET /status        text: ONLINE, or OFFLINE (reason); always 200.
//   GET /metrics       Prometheus text exposition of the router's registry
//                      (here, or on a listener of its own: metrics-server.ts).
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Readiness } from "../readiness.js";
import type { ConnectionStatus } from "../xmpp/connection.js";
import { LiveResponse, ReadyResponse, TextResponse } from "./schemas.js";

export interface HealthDeps {
  connectionStatus(): ConnectionStatus;
  registry: Registry;
  /** Why the router is not ready (shared with the eime_ready gauge). */
  readiness: Readiness;
}

export function healthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  app.get("/health/live", { schema: { response: { 200: LiveResponse } } }, async () => ({ status: "live" }));

  app.get("/health/ready", { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } }, async (_request, reply) => {
    const reasons = await deps.readiness();
    reply.header("cache-control", "no-store");
    if (reasons.length === 0) return { status: "ready" };
    return reply.code(503).send({ status: "not ready", reasons });
  });

  app.get("/status", { schema: { response: { 200: TextResponse } } }, async (_request, reply) => {
    const s = deps.connectionStatus();
    reply.header("cache-control", "no-store").type("text/plain; charset=utf-8");
    return s.online ? "ONLINE" : `OFFLINE (${s.reason ?? "unknown"})`;
  });
}

export function metricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get("/metrics", { schema: { response: { 200: TextResponse } } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.header("cache-control", "no-store").type(registry.contentType).send(text);
  });
}
