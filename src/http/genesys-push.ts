// POST /genesys/push (push mode, genesys.push; docs/operations.md "Genesys
// push"): where GMS' custom HTTP notifications arrive, JSON
// {"deviceId": ..., "message": ...} (GMS Push Notification Service, customhttp).
// The device id is the per-chat token the chat was requested with
// (adapters/genesys/gms-push.ts); one the router did not make is refused
// (401) and changes nothing. An accepted push only wakes the episode's poller
// (on whichever instance holds it): its content is never used, so the order
// and once-per-index handling stay in router/operator-poller.ts, and a
// repeated push costs one refresh that finds nothing new. Answered at once,
// without waiting for the refresh; GMS does not resend (503 tells of a wake
// that could not be sent; the keep-alive poll still comes). A refused device
// id is UNAUTHORIZED: the token is the caller's credential.
import type { FastifyInstance } from "fastify";
import type { Logger } from "../log.js";
import { sendError } from "./errors.js";
import { ERROR_RESPONSES } from "./schemas.js";

export interface PushTarget {
  conversationId: string;
  episodeUuid: string;
}

export type PushOutcome = "accepted" | "refused" | "invalid" | "failed";

export interface GenesysPushRouteDeps {
  path: string;
  /** The episode of a pushed device id, null when the router did not make it. */
  readDeviceId: (deviceId: unknown) => PushTarget | null;
  /** Wakes the episode's poller on every instance (router/push-wake.ts). */
  announce: (target: PushTarget) => Promise<void>;
  onPush?: (outcome: PushOutcome) => void;
  log: Logger;
}

/** A push body is small: a device id and a notification text (with the event payload when GMS includes it). */
const BODY_LIMIT_BYTES = 64 * 1024;

export function genesysPushRoutes(deps: GenesysPushRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const schema = { response: { 200: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] }, ...ERROR_RESPONSES } };
    app.post(deps.path, { bodyLimit: BODY_LIMIT_BYTES, schema }, async (req, reply) => {
      const body = req.body as { deviceId?: unknown } | null | undefined;
      const deviceId = typeof body === "object" && body !== null ? body.deviceId : undefined;
      if (typeof deviceId !== "string" || deviceId === "") {
        deps.onPush?.("invalid");
        return sendError(reply, "BAD_REQUEST", "deviceId: required", [{ field: "deviceId", message: "required" }]);
      }
      const target = deps.readDeviceId(deviceId);
      if (!target) {
        deps.onPush?.("refused");
        // debug only: whoever sends them should not fill the log (the metric counts them).
        deps.log.debug("Genesys push with a device id the router did not make: refused");
        return sendError(reply, "UNAUTHORIZED", "deviceId: not one this router made");
      }
      try {
        await deps.announce(target);
      } catch (err) {
        deps.onPush?.("failed");
        deps.log.error({ err, conversationId: target.conversationId }, "Genesys push: could not wake the poller");
        return sendError(reply, "SERVICE_UNAVAILABLE", "could not wake the poller; the keep-alive poll still comes");
      }
      deps.onPush?.("accepted");
      deps.log.debug({ conversationId: target.conversationId }, "Genesys push: poller woken");
      return reply.code(200).send({ ok: true });
    });
  };
}
