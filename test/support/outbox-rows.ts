// Outbox rows written straight into the table, for tests of claiming,
// retries, leases and dead letters. The router itself writes outbox rows only
// inside a conversation step (store/steps.ts); these are the rows no real path
// makes on its own: no conversation, a later due time, many at once.
import type { Store } from "../../src/store/index.js";
import type { OutboxTarget } from "../../src/store/outbox.js";

export interface OutboxRow {
  target: OutboxTarget;
  conversationId?: string | null;
  payload: Record<string, unknown>;
  idempotencyKey: string;
  /** Default: now (the database's clock). */
  nextAttemptAt?: Date;
}

/** Inserts the rows whose key is new, in order; returns how many were inserted. */
export async function insertOutboxRows(store: Store, rows: readonly OutboxRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const { rows: inserted } = await store.db.query<{ id: string }>(
    `INSERT INTO outbox (target, conversation_id, payload, idempotency_key, next_attempt_at)
     SELECT t.target, t.conversation_id, t.payload::jsonb, t.idempotency_key, COALESCE(t.next_attempt_at, now())
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])
       WITH ORDINALITY AS t(target, conversation_id, payload, idempotency_key, next_attempt_at, n)
     ORDER BY t.n
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING id::text AS id`,
    [
      rows.map((r) => r.target),
      rows.map((r) => r.conversationId ?? null),
      rows.map((r) => JSON.stringify(r.payload)),
      rows.map((r) => r.idempotencyKey),
      rows.map((r) => r.nextAttemptAt ?? null),
    ],
  );
  return inserted.length;
}
