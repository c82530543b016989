// One step of a conversation, written in ONE statement (design.md rules 1–3):
// the user's message (its duplicate key decides whether anything of the step
// is written), the messages sent to the user, the outbox job the step
// completes, and the new jobs. Outside a transaction this is one round trip
// and one commit; the conversation row, when it changed, is saved beside it in
// a transaction by the caller.
//
// New jobs are taken by the given owner at once (the caller runs them now)
// unless an earlier row of their (conversation, target) chain is waiting —
// not counting the job this step completes; those wait for the outbox worker.
import type { StoredMessage } from "../core/model.js";
import type { EnqueuedItem, NewOutboxItem } from "./outbox.js";
import { ROUTER_SENDER } from "./messages.js";
import { json, run, type RepoContext } from "./sql.js";

export interface Step {
  conversationId: string;
  /** The conversation version the step was decided on; when the stored one differs nothing is written (`fresh` false). */
  version: number | null;
  /** The user's message; when its (sender, dedupeKey) is already stored, nothing of the step is written. */
  inbound?: { sender: string; dedupeKey: string | null; kind: string; text: string | null; payload: Record<string, unknown> | null };
  /**
   * Messages to the user, for the transcript, with the stanza as sent; a repeated dedupeKey is skipped.
   * A new job with the same key as a message points at it (outbox.message_id) and is sent from it.
   */
  outbound: { author: Exclude<StoredMessage["author"], "user">; kind: string; text: string | null; dedupeKey: string; stanza?: string }[];
  /** An outbox row this step completes (deleted, when the step is written). */
  completeJob?: string;
  /** Rows already delivered, deleted whatever becomes of the step (their deletion rides on this statement). */
  delivered?: readonly string[];
  enqueue: readonly NewOutboxItem[];
  owner: string;
  lockMs: number;
}

export interface StepResult {
  /** False when the conversation moved on since it was read (another instance): nothing was written. */
  fresh: boolean;
  /** False when nothing was written: the user's message was a duplicate, or the step was not fresh. */
  written: boolean;
  /** The rows added, in order; `mine` ones are held by `owner`. */
  jobs: EnqueuedItem[];
}

export interface StepRepository {
  append(step: Step): Promise<StepResult>;
}

const APPEND = `
WITH fresh AS (
  SELECT $19::int IS NULL OR EXISTS (SELECT 1 FROM conversations WHERE id = $1::text AND version = $19::int) AS ok),
inbound AS (
  INSERT INTO messages (conversation_id, direction, author, kind, text, payload, sender, dedupe_key)
  SELECT $1::text, 'in', 'user', $3::text, $4::text, $5::jsonb, $6::text, $7::text WHERE $2::boolean AND (SELECT ok FROM fresh)
  ON CONFLICT (sender, dedupe_key) DO NOTHING
  RETURNING 1),
go AS (SELECT (SELECT ok FROM fresh) AND ((NOT $2::boolean) OR EXISTS (SELECT 1 FROM inbound)) AS ok),
outbound AS (
  INSERT INTO messages (conversation_id, direction, author, kind, text, payload, sender, dedupe_key, stanza)
  SELECT $1::text, 'out', t.author, t.kind, t.text, NULL, $18::text, t.key, t.stanza
  FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $21::text[]) AS t(author, kind, text, key, stanza)
  WHERE (SELECT ok FROM go)
  ON CONFLICT (sender, dedupe_key) DO NOTHING
  RETURNING id, dedupe_key),
-- Two deletes, not one with OR: an OR keeps the (generic) plan off the primary key, and the
-- outbox's churn makes a scan of it cost more with every message.
done AS (DELETE FROM outbox WHERE id = $12::bigint AND (SELECT ok FROM go)),
gone AS (DELETE FROM outbox WHERE id = ANY($20::bigint[])),
jobs AS (
  INSERT INTO outbox (target, conversation_id, payload, idempotency_key, message_id, next_attempt_at, attempts, locked_by, locked_until)
  SELECT t.target, $1::text, t.payload::jsonb, t.key, COALESCE((SELECT m.id FROM outbound m WHERE m.dedupe_key = t.key),
    (SELECT m.id FROM messages m WHERE m.sender = $18::text AND m.dedupe_key = t.key)), now(),
    CASE WHEN t.behind THEN 0 ELSE 1 END,
    CASE WHEN t.behind THEN NULL ELSE $16::text END,
    CASE WHEN t.behind THEN NULL ELSE clock_timestamp() + $17::double precision * interval '1 millisecond' END
  FROM unnest($13::text[], $14::text[], $15::text[]) WITH ORDINALITY AS u(target, payload, key, n)
  -- Looked up once per new row (a column used in three CASEs would be looked up three times).
  CROSS JOIN LATERAL (
    SELECT u.target, u.payload, u.key, u.n,
      EXISTS (SELECT 1 FROM outbox p
              WHERE p.conversation_id = $1::text AND p.target = u.target
                AND p.id IS DISTINCT FROM $12::bigint AND p.id <> ALL($20::bigint[])) AS behind
    OFFSET 0) t
  WHERE (SELECT ok FROM go)
  ORDER BY t.n
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, idempotency_key, attempts, locked_by, locked_until, next_attempt_at, created_at)
-- Only what the caller does not know already: the payloads are not sent back.
SELECT (SELECT ok FROM fresh) AS fresh, (SELECT ok FROM go) AS ok, jobs.id::text AS id, jobs.idempotency_key,
  jobs.attempts, jobs.locked_by, jobs.locked_until, jobs.next_attempt_at, jobs.created_at
FROM (SELECT 1) AS one LEFT JOIN jobs ON true
ORDER BY jobs.id`;

interface Row {
  fresh: boolean;
  ok: boolean;
  id: string | null;
  idempotency_key: string;
  attempts: number;
  locked_by: string | null;
  locked_until: Date | null;
  next_attempt_at: Date;
  created_at: Date;
}

export function stepRepository(ctx: RepoContext): StepRepository {
  return {
    async append(step) {
      const inb = step.inbound;
      const { rows } = await run<Row>(ctx.q, "conversation step", APPEND, [
        step.conversationId,
        !!inb,
        inb?.kind ?? null,
        inb?.text ?? null,
        inb ? json(inb.payload) : null,
        inb?.sender ?? null,
        inb?.dedupeKey ?? null,
        step.outbound.map((m) => m.author),
        step.outbound.map((m) => m.kind),
        step.outbound.map((m) => m.text),
        step.outbound.map((m) => m.dedupeKey),
        step.completeJob ?? null,
        step.enqueue.map((j) => j.target),
        step.enqueue.map((j) => JSON.stringify(j.payload)),
        step.enqueue.map((j) => j.idempotencyKey),
        step.owner,
        step.lockMs,
        ROUTER_SENDER,
        step.version,
        step.delivered ?? [],
        step.outbound.map((m) => m.stanza ?? null),
      ]);
      const written = rows[0]?.ok ?? false;
      const given = new Map(step.enqueue.map((j) => [j.idempotencyKey, j]));
      const jobs = rows
        .filter((r): r is Row & { id: string } => r.id !== null)
        .map((r) => {
          const item = given.get(r.idempotency_key)!;
          return {
            id: r.id,
            target: item.target,
            conversationId: step.conversationId,
            payload: item.payload,
            idempotencyKey: r.idempotency_key,
            attempts: r.attempts,
            nextAttemptAt: r.next_attempt_at,
            lastError: null,
            lockedBy: r.locked_by,
            lockedUntil: r.locked_until,
            createdAt: r.created_at,
            storedStanza: null,
            mine: r.locked_by !== null,
          };
        });
      return { fresh: rows[0]?.fresh ?? false, written, jobs };
    },
  };
}
