// The durable outbox (design.md rules 1 and 2): deliveries to bots, clients
// and Genesys wait here until done, retried with backoff, resumed after a
// restart. Claims mark rows taken for a short lease that the delivery
// executor renews while it holds them, so two workers (on any instance)
// never take the same row and a dead worker's rows come back within the
// lease (outbox.takeoverMs). A row that failed for good moves to
// outbox_dead (src/delivery/, docs/delivery.md).
import { run, toSqlError, type RepoContext } from "./sql.js";

export const OUTBOX_CHANNEL = "outbox_enqueued";

export type OutboxTarget = "bot" | "client" | "genesys" | (string & {});

export interface NewOutboxItem {
  target: OutboxTarget;
  conversationId?: string | null;
  payload: Record<string, unknown>;
  /** Enqueueing a key that is already there (or was, until completed) is a no-op while it is there. */
  idempotencyKey: string;
  /** Default: now (the database's clock). */
  nextAttemptAt?: Date;
}

export interface OutboxItem {
  id: string;
  target: OutboxTarget;
  conversationId: string | null;
  payload: Record<string, unknown>;
  idempotencyKey: string;
  /** Times the row was claimed (a claim counts as an attempt, so a row that crashes its worker still counts up). */
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  createdAt: Date;
  /** The stanza of the message the job sends (messages.stanza), as claimed; null otherwise. */
  storedStanza: string | null;
}

/** An enqueued row, and whether the enqueuer holds it (to run it now) or it waits for the worker. */
export type EnqueuedItem = OutboxItem & { mine: boolean };

export interface ClaimOptions {
  /** Who claims (instance and worker id). */
  owner: string;
  limit: number;
  /** How long the rows stay taken; after that another claimer may take them. Default 60 s. */
  lockMs?: number;
  /** Default: the database's clock. */
  now?: Date;
  /** Rows the claimer already holds in memory (their lease may have lapsed while the database was away). */
  exclude?: readonly string[];
}

/** A dead letter as the admin sees it: no payload (it may hold a user's text). */
export interface DeadLetter {
  id: string;
  target: OutboxTarget;
  /** The job's kind (payload.type), e.g. call_bot. */
  type: string | null;
  conversationId: string | null;
  idempotencyKey: string;
  attempts: number;
  lastError: string | null;
  createdAt: Date;
  deadAt: Date;
}

export interface OutboxRepository {
  /**
   * Takes up to `limit` due rows, oldest first, for `owner`. Rows of one
   * (conversation, target) are taken in order: never while an earlier row of
   * theirs is taken by someone or waiting for its retry (design.md rule 3).
   */
  claim(options: ClaimOptions): Promise<OutboxItem[]>;
  /** Delivered: the row is deleted. */
  complete(id: string): Promise<boolean>;
  /** Delivered, several at once; returns how many rows were deleted. */
  completeMany(ids: readonly string[]): Promise<number>;
  /** Failed: due again at `nextAttemptAt`, and free to claim then. */
  retry(id: string, error: string, nextAttemptAt: Date): Promise<boolean>;
  /** Extends the lease of the rows `owner` still holds among `ids` (expired or not); returns those ids. */
  renew(owner: string, ids: readonly string[], lockMs: number): Promise<string[]>;
  /** Moves a row to the dead letters with its last error; false when it is gone. */
  deadLetter(id: string, error: string): Promise<boolean>;
  /** Dead letters, newest first. */
  listDead(options?: { limit?: number; target?: string }): Promise<DeadLetter[]>;
  /** Puts a dead letter back into the outbox, due now with its attempts reset; null when there is none with that id. */
  retryDead(id: string): Promise<OutboxItem | null>;
  /** Dead letters by target (for the metric). */
  deadCounts(): Promise<Record<string, number>>;
  /** Frees every row `owner` holds (at start-up: what this instance held when it stopped is due again). */
  releaseOwner(owner: string): Promise<number>;
  /** Whether the database vacuums the outbox by itself (autovacuum on a server that runs it). */
  autovacuums(): Promise<boolean>;
  /** Removes dead rows now (for databases where no autovacuum runs). */
  vacuum(): Promise<void>;
  /** Rows waiting (due or not, taken or not). */
  depth(): Promise<number>;
  /** Calls `cb` with the target when a row is put back for another instance to run (a dead letter retried), or with null: look at everything. */
  onEnqueued(cb: (target: string | null) => void): Promise<() => Promise<void>>;
}

interface OutboxRow {
  id: string;
  target: string;
  conversation_id: string | null;
  payload: Record<string, unknown>;
  idempotency_key: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  locked_by: string | null;
  locked_until: Date | null;
  created_at: Date;
  stanza?: string | null;
}

const COLUMNS =
  "id::text AS id, target, conversation_id, payload, idempotency_key, attempts, next_attempt_at, last_error, locked_by, locked_until, created_at";

const toItem = (row: OutboxRow): OutboxItem => ({
  id: row.id,
  target: row.target,
  conversationId: row.conversation_id,
  payload: row.payload,
  idempotencyKey: row.idempotency_key,
  attempts: row.attempts,
  nextAttemptAt: row.next_attempt_at,
  lastError: row.last_error,
  lockedBy: row.locked_by,
  lockedUntil: row.locked_until,
  createdAt: row.created_at,
  storedStanza: row.stanza ?? null,
});

interface DeadRow {
  id: string;
  target: string;
  type: string | null;
  conversation_id: string | null;
  idempotency_key: string;
  attempts: number;
  last_error: string | null;
  created_at: Date;
  dead_at: Date;
}

const toDead = (row: DeadRow): DeadLetter => ({
  id: row.id,
  target: row.target,
  type: row.type,
  conversationId: row.conversation_id,
  idempotencyKey: row.idempotency_key,
  attempts: row.attempts,
  lastError: row.last_error,
  createdAt: row.created_at,
  deadAt: row.dead_at,
});

/** Advisory lock serialising claims on PostgreSQL, so the order check sees every committed claim. */
const CLAIM_LOCK_KEY = 0x65696d66;

const ROW_ID = /^[0-9]{1,18}$/;

/** Row ids are bigints as text: compare them as numbers. */
const byId = (a: OutboxItem, b: OutboxItem) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);

const CLAIM = `
WITH due AS (
  SELECT o.id FROM outbox o
  WHERE o.next_attempt_at <= $1::timestamptz
    AND o.id <> ALL($5::bigint[])
    AND (o.locked_until IS NULL OR o.locked_until <= $1::timestamptz)
    AND (o.conversation_id IS NULL OR NOT EXISTS (
      SELECT 1 FROM outbox p
      WHERE p.conversation_id = o.conversation_id AND p.target = o.target AND p.id < o.id
        AND (p.next_attempt_at > $1::timestamptz OR p.locked_until > $1::timestamptz)))
  ORDER BY o.id
  LIMIT $2::int
  FOR UPDATE OF o SKIP LOCKED
)
UPDATE outbox SET locked_by = $3::text,
  locked_until = $1::timestamptz + $4::double precision * interval '1 millisecond',
  attempts = outbox.attempts + 1
FROM due WHERE outbox.id = due.id
RETURNING ${COLUMNS.replace("id::text AS id", "outbox.id::text AS id")},
  (SELECT m.stanza FROM messages m WHERE m.id = outbox.message_id) AS stanza`;

export function outboxRepository(ctx: RepoContext): OutboxRepository {
  return {
    async claim({ owner, limit, lockMs = 60_000, now, exclude }) {
      if (limit <= 0) return [];
      const items = await ctx.atomic("outbox claim", async (q) => {
        if (ctx.db.engine === "pg") await run(q, "outbox claim", "SELECT pg_advisory_xact_lock($1::bigint)", [CLAIM_LOCK_KEY]);
        const { rows: clock } = await run<{ now: Date }>(q, "outbox claim", "SELECT COALESCE($1::timestamptz, clock_timestamp()) AS now", [
          now ?? null,
        ]);
        const { rows } = await run<OutboxRow>(q, "outbox claim", CLAIM, [
          clock[0]?.now ?? now,
          Math.trunc(limit),
          owner,
          lockMs,
          (exclude ?? []).filter((id) => ROW_ID.test(id)),
        ]);
        return rows.map(toItem);
      });
      return items.sort(byId);
    },

    async complete(id) {
      if (!ROW_ID.test(id)) return false;
      const { rowCount } = await run(ctx.q, "outbox complete", "DELETE FROM outbox WHERE id = $1::bigint", [id]);
      return rowCount > 0;
    },

    async completeMany(ids) {
      const valid = ids.filter((id) => ROW_ID.test(id));
      if (valid.length === 0) return 0;
      const { rowCount } = await run(ctx.q, "outbox complete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])", [valid]);
      return rowCount;
    },

    async retry(id, error, nextAttemptAt) {
      if (!ROW_ID.test(id)) return false;
      const { rowCount } = await run(
        ctx.q,
        "outbox retry",
        `UPDATE outbox SET last_error = $2::text, next_attempt_at = $3::timestamptz, locked_by = NULL, locked_until = NULL
         WHERE id = $1::bigint`,
        [id, error, nextAttemptAt],
      );
      return rowCount > 0;
    },

    async renew(owner, ids, lockMs) {
      const valid = ids.filter((id) => ROW_ID.test(id));
      if (valid.length === 0) return [];
      const { rows } = await run<{ id: string }>(
        ctx.q,
        "outbox renew",
        // Rows another transaction has locked (a group commit completing them) are skipped, not waited for:
        // waiting, in whatever order, deadlocked against that commit under load. A skipped row still ours is
        // reported kept (the plain read sees its committed owner) and renewed on the next round.
        `WITH mine AS (
           SELECT id FROM outbox WHERE id = ANY($2::bigint[]) AND locked_by = $1::text FOR UPDATE SKIP LOCKED
         ), renewed AS (
           UPDATE outbox o SET locked_until = clock_timestamp() + $3::double precision * interval '1 millisecond'
           FROM mine WHERE o.id = mine.id
           RETURNING o.id
         )
         SELECT id::text AS id FROM renewed
         UNION
         SELECT id::text AS id FROM outbox WHERE id = ANY($2::bigint[]) AND locked_by = $1::text`,
        [owner, valid, lockMs],
      );
      return rows.map((r) => r.id);
    },

    async deadLetter(id, error) {
      if (!ROW_ID.test(id)) return false;
      const { rowCount } = await run(
        ctx.q,
        "outbox dead letter",
        `WITH gone AS (DELETE FROM outbox WHERE id = $1::bigint RETURNING *)
         INSERT INTO outbox_dead (id, target, conversation_id, payload, idempotency_key, attempts, message_id, last_error, created_at)
         SELECT id, target, conversation_id, payload, idempotency_key, attempts, message_id, $2::text, created_at FROM gone
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [id, error],
      );
      return rowCount > 0;
    },

    async listDead({ limit = 100, target } = {}) {
      const { rows } = await run<DeadRow>(
        ctx.q,
        "outbox dead list",
        `SELECT id::text AS id, target, payload->>'type' AS type, conversation_id, idempotency_key, attempts, last_error, created_at, dead_at
         FROM outbox_dead WHERE $2::text IS NULL OR target = $2::text
         ORDER BY dead_at DESC, id DESC LIMIT $1::int`,
        [Math.max(0, Math.trunc(limit)), target ?? null],
      );
      return rows.map(toDead);
    },

    async retryDead(id) {
      if (!ROW_ID.test(id)) return null;
      return ctx.atomic("outbox dead retry", async (q) => {
        const { rows } = await run<OutboxRow>(
          q,
          "outbox dead retry",
          `WITH back AS (DELETE FROM outbox_dead WHERE id = $1::bigint RETURNING *)
           INSERT INTO outbox (target, conversation_id, payload, idempotency_key, attempts, message_id, last_error, created_at)
           SELECT target, conversation_id, payload, idempotency_key, 0, message_id, last_error, created_at FROM back
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING ${COLUMNS}`,
          [id],
        );
        if (rows[0]) await run(q, "outbox dead retry", "SELECT pg_notify($1::text, $2::text)", [OUTBOX_CHANNEL, rows[0].target]);
        return rows[0] ? toItem(rows[0]) : null;
      });
    },

    async deadCounts() {
      const { rows } = await run<{ target: string; n: number }>(
        ctx.q,
        "outbox dead counts",
        "SELECT target, count(*)::int AS n FROM outbox_dead GROUP BY target",
      );
      return Object.fromEntries(rows.map((r) => [r.target, r.n]));
    },

    async releaseOwner(owner) {
      const { rowCount } = await run(
        ctx.q,
        "outbox release",
        "UPDATE outbox SET locked_by = NULL, locked_until = NULL WHERE locked_by = $1::text",
        [owner],
      );
      return rowCount;
    },

    async autovacuums() {
      if (ctx.db.engine === "pglite") return false; // one process, no autovacuum launcher
      const { rows } = await run<{ on: string }>(ctx.q, "outbox settings", "SELECT current_setting('autovacuum') AS on", []);
      return rows[0]?.on === "on";
    },

    async vacuum() {
      try {
        // One runner at a time across instances (issue 19): another instance's VACUUM holds the
        // table's SHARE UPDATE EXCLUSIVE lock, and SKIP_LOCKED (PostgreSQL 12+) skips instead of queueing.
        await ctx.db.exec("VACUUM (SKIP_LOCKED) outbox");
      } catch (err) {
        throw toSqlError("outbox vacuum", err);
      }
    },

    async depth() {
      const { rows } = await run<{ n: number }>(ctx.q, "outbox depth", "SELECT count(*)::int AS n FROM outbox");
      return rows[0]?.n ?? 0;
    },

    async onEnqueued(cb) {
      try {
        return await ctx.db.listen(OUTBOX_CHANNEL, (payload) => cb(payload === "" ? null : payload));
      } catch (err) {
        throw toSqlError("outbox listen", err);
      }
    },
  };
}
