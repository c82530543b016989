// book_callback (backends.md section 2c): the user accepted the callback
// offered at a full queue; the GMS Callback service books a call to the
// user's MSISDN, read from the conversation now (the job's payload holds
// none, docs/security.md). Never two bookings for one request (design.md
// rule 2): each attempt is recorded before the call (callback_bookings), and
// an attempt that follows one whose outcome is unknown (a crash, a timeout,
// an answer lost) first asks GMS for a booking carrying the request's marker;
// only when GMS has none does it book. Booked: the event callback_booked
// (ROUTER_CALLBACK_REGISTERED#0001) completes the job in the same step.
// Refused, or still failing after the last attempt: ROUTER_CALLBACK_FAILED#0001.
import { createHash } from "node:crypto";
import type { Config } from "../../config/schema.js";
import type { BookedCallback, CallbackPort } from "../../core/ports.js";
import type { Store } from "../../store/index.js";
import type { ConversationSteps } from "../conversation-port.js";
import { doubling, errorText, type Job, type JobHandler, type Outcome } from "../job.js";

const ATTEMPTS = 3;
const BUDGET_MARGIN_MS = 15_000;

export const CALLBACK_JOB_TYPES = ["book_callback"] as const;

interface BookJob {
  type: "book_callback";
  serviceName: string;
  desiredTime: string | null;
}

export interface CallbackBookingDeps {
  callbacks: CallbackPort | null;
  steps: ConversationSteps;
  store: Pick<Store, "callbackBookings">;
  config: Config;
}

/** The marker GMS keeps with the booking: derived from the job key, so every attempt of one request carries the same. */
export const requestIdOf = (idempotencyKey: string) =>
  "eime-" + createHash("sha256").update(`callback:${idempotencyKey}`).digest("base64url").slice(0, 22);

const isFinal = (err: unknown) => (err as { transient?: boolean }).transient === false;

export function callbackBookingHandler(deps: CallbackBookingDeps): JobHandler {
  const { steps, store, config } = deps;
  const policy = {
    attempts: ATTEMPTS,
    backoffMs: doubling(config.outbox.backoffBaseMs, 5_000),
    // A lookup and a booking, each bounded by the request timeout.
    budgetMs: 2 * config.genesys.requestTimeoutMs + BUDGET_MARGIN_MS,
  };

  /**
   * The booking is made (now or before): tell the conversation, completing the
   * job in that step. An immediate callback has no time to tell (GMS gives one
   * for it too: the time it was queued).
   */
  async function booked(job: Job, p: BookJob, b: BookedCallback): Promise<Outcome> {
    const event = { type: "callback_booked", id: b.id, at: p.desiredTime === null ? null : (b.at ?? p.desiredTime) } as const;
    const { jobs } = await steps.apply(job.conversationId!, event, `cb:${job.idempotencyKey}`, { completeJob: job.id });
    return { status: "done", completed: true, jobs };
  }

  /** An earlier attempt's booking, if GMS has one; null when this request was never booked. */
  async function earlier(job: Job, p: BookJob, requestId: string): Promise<BookedCallback | null> {
    const row = await store.callbackBookings.get(job.idempotencyKey);
    if (!row) return null;
    if (row.genesysId) return { id: row.genesysId, at: row.bookedFor };
    return deps.callbacks!.find(p.serviceName, requestId);
  }

  async function attempt(job: Job, p: BookJob, msisdn: string): Promise<Outcome> {
    const requestId = requestIdOf(job.idempotencyKey);
    const found = await earlier(job, p, requestId);
    if (found) {
      await store.callbackBookings.booked(job.idempotencyKey, found.id, found.at);
      return booked(job, p, found);
    }
    // Durable before the call: a crash from here on leaves the row that makes the next attempt look first.
    await store.callbackBookings.attempt({
      idempotencyKey: job.idempotencyKey,
      conversationId: job.conversationId!,
      serviceName: p.serviceName,
      requestId,
    });
    const made = await deps.callbacks!.book(p.serviceName, { customerNumber: msisdn, desiredTime: p.desiredTime, requestId });
    await store.callbackBookings.booked(job.idempotencyKey, made.id, made.at);
    return booked(job, p, made);
  }

  return {
    policy: () => policy,

    async run(job) {
      const p = job.payload as unknown as BookJob;
      const c = await steps.get(job.conversationId!);
      // The request is no longer under way (answered already, or the conversation is gone): nothing to book.
      if (!c || c.callback?.state !== "requested" || c.callback.serviceName !== p.serviceName) return { status: "done" };
      if (!deps.callbacks) return { status: "failed", error: "no GMS is configured to book callbacks" };
      if (!c.msisdn) return { status: "failed", error: "the user has no MSISDN to call back" };
      try {
        return await attempt(job, p, c.msisdn);
      } catch (err) {
        return isFinal(err) ? { status: "failed", error: errorText(err) } : { status: "retry", error: errorText(err) };
      }
    },

    async deadLettered(job, error) {
      const event = { type: "callback_failed", reason: error } as const;
      return (await steps.apply(job.conversationId!, event, `cbfail:${job.idempotencyKey}`)).jobs;
    },
  };
}
