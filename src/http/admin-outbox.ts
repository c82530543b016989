// Dead letters of the delivery engine (docs/delivery.md, operations.md "HTTP"):
//   GET  /admin/outbox/dead?target=bot|client|genesys&limit=1..1000 (default 100)
//        → 200 {dead: [{id, target, type, conversationId, attempts, lastError, createdAt, deadAt}]}, newest first;
//   POST /admin/outbox/dead/{id}/retry
//        → 200 {job: {id, target, type, conversationId}}: back in the outbox, due now, attempts reset;
//        404 when there is no dead letter with that id.
// No payload is shown: it holds the user's text (design.md rule 6), and the
// idempotency key may too (it is built from the client's message id).
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { DeadLetter } from "../store/index.js";
import type { AdminDeps } from "./admin-deps.js";
import { badRequest, HttpError, zodFields } from "./errors.js";
import { DeadLettersResponse, ERROR_RESPONSES, RetriedResponse } from "./schemas.js";

const LIMIT = "must be an integer from 1 to 1000";

const QuerySchema = z.strictObject({
  target: z.enum(["bot", "client", "genesys"], { error: "must be bot, client or genesys" }).optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, LIMIT)
    .transform(Number)
    .pipe(z.number().int().min(1, LIMIT).max(1000, LIMIT))
    .optional(),
});

const ID = /^[1-9][0-9]{0,17}$/;

const deadView = (d: DeadLetter) => ({
  id: d.id,
  target: d.target,
  type: d.type,
  conversationId: d.conversationId,
  attempts: d.attempts,
  lastError: d.lastError,
  createdAt: d.createdAt.toISOString(),
  deadAt: d.deadAt.toISOString(),
});

export function outboxRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const querystring = {
    type: "object",
    properties: { target: { type: "string", enum: ["bot", "client", "genesys"] }, limit: { type: "string", pattern: "^\\d{1,4}$" } },
  };
  const params = { type: "object", properties: { id: { type: "string" } }, required: ["id"] };
  app.get("/outbox/dead", { schema: { querystring, response: { 200: DeadLettersResponse, ...ERROR_RESPONSES } } }, async (request) => {
    const parsed = QuerySchema.safeParse(request.query ?? {});
    if (!parsed.success) throw badRequest(zodFields(parsed.error, "", "query"));
    const { target, limit } = parsed.data;
    const dead = await deps.store().outbox.listDead({ limit: limit ?? 100, ...(target ? { target } : {}) });
    return { dead: dead.map(deadView) };
  });

  const retry = { schema: { params, response: { 200: RetriedResponse, ...ERROR_RESPONSES } } };
  app.post<{ Params: { id: string } }>("/outbox/dead/:id/retry", retry, async (request) => {
    const { id } = request.params;
    if (!ID.test(id)) throw badRequest([{ field: "id", message: "must be a dead letter id (a positive integer)" }]);
    const job = await deps.store().outbox.retryDead(id);
    if (!job) throw new HttpError("NOT_FOUND", `no dead letter ${id}`);
    return { job: { id: job.id, target: job.target, type: job.payload.type ?? null, conversationId: job.conversationId } };
  });
}
