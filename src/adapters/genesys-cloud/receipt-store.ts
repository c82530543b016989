// Where Genesys Cloud receipts for agent messages wait (backends.md 2b,
// migration gcloud_receipts): one row per agent message sent to the user,
// named by the user's bare JID and our stanza id, so the client's XEP-0184
// `<received id>` finds it without hashing anything. Deciding a row (once:
// `status` goes from null to Delivered or Failed) and enqueueing its
// `cloud_receipt` outbox job are one statement, so a receipt is neither lost
// nor posted twice, whichever instance decides it.
import type { Queryable } from "../../store/db.js";
import { ROUTER_SENDER } from "../../store/messages.js";
import { run } from "../../store/sql.js";

export type ReceiptStatus = "Delivered" | "Failed";

export interface ExpectedReceipt {
  userJid: string;
  stanzaId: string;
  /** The router's conversation id (the webhook's channel.to.id). */
  conversationId: string;
  integrationId: string;
  /** Genesys's id of the agent message. */
  messageId: string;
  /** The client job's key (and its message's dedupe key); "" when the message has no stanza to wait for. */
  clientKey: string;
  /** Delivered "when sent" once this long has passed without the client's receipt. */
  timeoutMs: number;
}

export interface ReceiptStore {
  /** Remembers an agent message sent to the user; only when its client message was stored (the step wrote it). Idempotent. */
  expect(r: ExpectedReceipt): Promise<void>;
  /** Decides a waiting receipt of this user's; true when a job was enqueued (false: unknown, or decided already). */
  decide(userJid: string, stanzaId: string, status: ReceiptStatus, reason?: string): Promise<boolean>;
  /**
   * Decides what waited long enough: Failed when the client job is a dead letter,
   * Delivered when it is sent (not in the outbox) and the timeout passed. Returns how many.
   */
  sweep(limit: number): Promise<number>;
  /** Forgets rows older than this. */
  prune(olderThanMs: number): Promise<number>;
}

/** The outbox job of each decided row (handlers/cloud-receipt.ts), keyed by the Genesys message: once per message. */
const ENQUEUE = `
INSERT INTO outbox (target, conversation_id, payload, idempotency_key)
SELECT 'genesys', d.conversation_id,
  jsonb_strip_nulls(jsonb_build_object('type', 'cloud_receipt', 'integrationId', d.integration_id,
    'conversationId', d.conversation_id, 'messageId', d.message_id, 'status', d.status, 'reason', d.reason)),
  'gcrcpt:' || d.integration_id || ':' || d.message_id
FROM decided d
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id`;

const DEAD = `EXISTS (SELECT 1 FROM outbox_dead x WHERE x.idempotency_key = r.client_key)`;

export function receiptStore(q: Queryable): ReceiptStore {
  return {
    async expect(r) {
      await run(
        q,
        "receipt expect",
        `INSERT INTO gcloud_receipts (user_jid, stanza_id, conversation_id, integration_id, message_id, client_key, due_at)
         SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, now() + $7::double precision * interval '1 millisecond'
         WHERE $6::text = '' OR EXISTS (SELECT 1 FROM messages m WHERE m.sender = $8::text AND m.dedupe_key = $6::text)
         ON CONFLICT (user_jid, stanza_id) DO NOTHING`,
        [r.userJid, r.stanzaId, r.conversationId, r.integrationId, r.messageId, r.clientKey, r.timeoutMs, ROUTER_SENDER],
      );
    },

    async decide(userJid, stanzaId, status, reason) {
      const { rows } = await run(
        q,
        "receipt decide",
        `WITH decided AS (
           UPDATE gcloud_receipts SET status = $3::text
           WHERE user_jid = $1::text AND stanza_id = $2::text AND status IS NULL
           RETURNING conversation_id, integration_id, message_id, status, $4::text AS reason)
         ${ENQUEUE}`,
        [userJid, stanzaId, status, reason ?? null],
      );
      return rows.length > 0;
    },

    async sweep(limit) {
      const { rows } = await run(
        q,
        "receipt sweep",
        `WITH ready AS (
           SELECT r.user_jid, r.stanza_id, CASE WHEN ${DEAD} THEN 'Failed' ELSE 'Delivered' END AS status
           FROM gcloud_receipts r
           WHERE r.status IS NULL
             AND (${DEAD} OR (r.due_at <= now() AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = r.client_key)))
           ORDER BY r.due_at
           LIMIT $1::int
           FOR UPDATE OF r SKIP LOCKED),
         decided AS (
           UPDATE gcloud_receipts g SET status = ready.status FROM ready
           WHERE g.user_jid = ready.user_jid AND g.stanza_id = ready.stanza_id AND g.status IS NULL
           RETURNING g.conversation_id, g.integration_id, g.message_id, g.status,
             CASE WHEN g.status = 'Failed' THEN 'the message could not be delivered to the user' END AS reason)
         ${ENQUEUE}`,
        [Math.max(1, Math.trunc(limit))],
      );
      return rows.length;
    },

    async prune(olderThanMs) {
      const { rows } = await run(
        q,
        "receipt prune",
        `DELETE FROM gcloud_receipts WHERE created_at < now() - $1::double precision * interval '1 millisecond' RETURNING 1`,
        [olderThanMs],
      );
      return rows.length;
    },
  };
}
