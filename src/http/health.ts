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
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import type { ConnectionStatus } from "../xmpp/connection.js";
import { LiveResponse, ReadyResponse, TextResponse } from "./schemas.js";

export interface HealthDeps {
  store(): Store | undefined;
  connectionStatus(): ConnectionStatus;
  registry: Registry;
  /** Further reasons not to be ready (e.g. "router: stopping"); empty when there are none. */
  ready?(): readonly string[];
  /** Bound of the database check. */
  dbCheckTimeoutMs: number;
  logger: Logger;
}

/**
 * The database check: `SELECT 1` within `timeoutMs`. Concurrent probes share
 * one query, so a hanging database does not pile up queries. Resolves with
 * the reason it failed, or undefined.
 */
function databaseCheck(deps: HealthDeps): () => Promise<string | undefined> {
  let inFlight: Promise<string | undefined> | undefined;
  let failing = false;
  const check = async (): Promise<string | undefined> => {
    const store = deps.store();
    if (!store) return "database: not open";
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), deps.dbCheckTimeoutMs);
      timer.unref();
    });
    const query = store.db.query("SELECT 1 AS ok").then(
      () => undefined,
      (err: unknown) => err,
    );
    try {
      const outcome = await Promise.race([query, timeout]);
      if (outcome === undefined) {
        if (failing) deps.logger.info("database answers again");
        failing = false;
        return undefined;
      }
      // The detail (host names, SQL states) goes to the log, not to an unauthenticated probe.
      if (!failing)
        deps.logger.warn({ err: outcome === "timeout" ? undefined : outcome, timeoutMs: deps.dbCheckTimeoutMs }, "database check failed");
      failing = true;
      return outcome === "timeout" ? `database: no answer within ${deps.dbCheckTimeoutMs} ms` : "database: query failed";
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    inFlight ??= check().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

export function healthRoutes(app: FastifyInstance, deps: HealthDeps): void {
  const database = databaseCheck(deps);

  app.get("/health/live", { schema: { response: { 200: LiveResponse } } }, async () => ({ status: "live" }));

  app.get("/health/ready", { schema: { response: { 200: ReadyResponse, 503: ReadyResponse } } }, async (_request, reply) => {
    const reasons: string[] = [];
    const db = await database();
    if (db !== undefined) reasons.push(db);
    const xmpp = deps.connectionStatus();
    if (!xmpp.online) reasons.push(`xmpp: ${xmpp.reason ?? "offline"}`);
    reasons.push(...(deps.ready?.() ?? []));
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
