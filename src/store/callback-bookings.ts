// Attempts to book a callback (backends.md section 2c, migration 8): the row
// is written before each GMS call, so a job run again (after a crash, a
// timeout) knows an earlier attempt may have booked and looks it up first.
import { run, type RepoContext } from "./sql.js";

export interface CallbackBooking {
  idempotencyKey: string;
  conversationId: string;
  serviceName: string;
  requestId: string;
  attempts: number;
  /** GMS `_id`; null while the outcome of the last attempt is unknown. */
  genesysId: string | null;
  bookedFor: string | null;
}

export interface CallbackBookingRepository {
  get(idempotencyKey: string): Promise<CallbackBooking | null>;
  /** Records that an attempt starts now (the first, or one more). */
  attempt(b: Pick<CallbackBooking, "idempotencyKey" | "conversationId" | "serviceName" | "requestId">): Promise<void>;
  /** The booking GMS confirmed. */
  booked(idempotencyKey: string, genesysId: string, bookedFor: string | null): Promise<void>;
}

interface Row {
  idempotency_key: string;
  conversation_id: string;
  service_name: string;
  request_id: string;
  attempts: number;
  genesys_id: string | null;
  booked_for: string | null;
}

export function callbackBookingRepository(ctx: RepoContext): CallbackBookingRepository {
  return {
    async get(key) {
      const { rows } = await run<Row>(
        ctx.q,
        "callback booking get",
        `SELECT idempotency_key, conversation_id, service_name, request_id, attempts, genesys_id, booked_for
           FROM callback_bookings WHERE idempotency_key = $1::text`,
        [key],
      );
      const r = rows[0];
      return r
        ? {
            idempotencyKey: r.idempotency_key,
            conversationId: r.conversation_id,
            serviceName: r.service_name,
            requestId: r.request_id,
            attempts: r.attempts,
            genesysId: r.genesys_id,
            bookedFor: r.booked_for,
          }
        : null;
    },

    async attempt(b) {
      await run(
        ctx.q,
        "callback booking attempt",
        `INSERT INTO callback_bookings (idempotency_key, conversation_id, service_name, request_id)
         VALUES ($1::text, $2::text, $3::text, $4::text)
         ON CONFLICT (idempotency_key) DO UPDATE SET attempts = callback_bookings.attempts + 1`,
        [b.idempotencyKey, b.conversationId, b.serviceName, b.requestId],
      );
    },

    async booked(key, genesysId, bookedFor) {
      await run(
        ctx.q,
        "callback booking booked",
        `UPDATE callback_bookings SET genesys_id = $2::text, booked_for = $3::text, booked_at = now() WHERE idempotency_key = $1::text`,
        [key, genesysId, bookedFor],
      );
    },
  };
}
