// Readiness (operations.md "HTTP"): the database answers a `SELECT 1` within a
// short bound, the component is online, and nothing else says no (e.g. the
// router is stopping). One check serves both GET /health/ready and the
// `eime_ready` gauge, so the probe and the dashboard never disagree.
import type { Logger } from "./log.js";
import type { Store } from "./store/index.js";
import type { ConnectionStatus } from "./xmpp/connection.js";

export interface ReadinessDeps {
  store(): Store | undefined;
  connectionStatus(): ConnectionStatus;
  /** Further reasons not to be ready (e.g. "router: stopping"); empty when there are none. */
  ready?(): readonly string[];
  /** Bound of the database check. */
  dbCheckTimeoutMs: number;
  logger: Logger;
}

/** The default bound of the database check (operations.md: 1 s). */
export const DB_CHECK_TIMEOUT_MS = 1000;

/** Resolves with why the router is not ready: empty when it is. */
export type Readiness = () => Promise<string[]>;

export function createReadiness(deps: ReadinessDeps): Readiness {
  const database = databaseCheck(deps);
  return async () => {
    const reasons: string[] = [];
    const db = await database();
    if (db !== undefined) reasons.push(db);
    const xmpp = deps.connectionStatus();
    if (!xmpp.online) reasons.push(`xmpp: ${xmpp.reason ?? "offline"}`);
    reasons.push(...(deps.ready?.() ?? []));
    return reasons;
  };
}

/**
 * The database check: `SELECT 1` within `timeoutMs`. Concurrent probes (and
 * scrapes) share one query, so a hanging database does not pile up queries.
 * Resolves with the reason it failed, or undefined.
 */
function databaseCheck(deps: ReadinessDeps): () => Promise<string | undefined> {
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
