// POST /genesys-cloud/{integrationId}/webhook on the router's HTTP port
// (backends.md 2b). In its own fastify scope the body is kept as raw bytes:
// the X-Hub-Signature-256 is checked on them before anything is parsed, and
// anything unsigned or wrongly signed is 401. A good call is answered once
// its message is handled (stored, with the user's jobs in the outbox) — well
// within Genesys's 10 s; a failure is 503 so Genesys tries again.
import type { FastifyInstance } from "fastify";
import type { Logger } from "../../log.js";
import { verifySignature } from "./signature.js";
import { parseWebhookMessage, type WebhookMessage } from "./webhook-message.js";

export type WebhookOutcome = "handled" | "duplicate" | "ignored";

export interface WebhookRouteDeps {
  secret: string;
  handle(integrationId: string, message: WebhookMessage): Promise<WebhookOutcome>;
  log: Logger;
}

export function cloudWebhookRoutes(deps: WebhookRouteDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    app.post<{ Params: { integrationId: string } }>("/genesys-cloud/:integrationId/webhook", async (req, reply) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      if (!verifySignature(raw, req.headers["x-hub-signature-256"], deps.secret)) {
        deps.log.warn({ integrationId: req.params.integrationId }, "Genesys Cloud webhook: bad or missing signature, refused");
        return reply.code(401).send({ error: "bad signature" });
      }
      const message = parseWebhookMessage(raw.toString("utf8"));
      if ("invalid" in message) return reply.code(400).send({ error: message.invalid });
      try {
        const outcome = await deps.handle(req.params.integrationId, message);
        return reply.code(200).send({ outcome });
      } catch (err) {
        deps.log.error({ err, id: message.id }, "Genesys Cloud webhook not handled: Genesys will retry");
        return reply.code(503).send({ error: "try again" });
      }
    });
  };
}
