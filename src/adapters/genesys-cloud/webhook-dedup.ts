// Each webhook message is handled once by (id, channel.time) across
// Genesys's retries and the router's instances (backends.md 2b): a row per
// message in the database (migration genesys_cloud_webhooks). A claim that
// is still `processing` after staleMs (its instance died mid-way) may be taken
// again; a failed handling gives its claim back so the retry can do it.
import type { Queryable } from "../../store/db.js";
import { run } from "../../store/sql.js";

export interface WebhookDedup {
  /**
   * `claimed`: this call handles the message; `done`: it was handled;
   * `busy`: another call is handling it now (answer so that Genesys retries:
   * if that one fails, the retry does it).
   */
  claim(id: string, time: string): Promise<"claimed" | "done" | "busy">;
  done(id: string, time: string): Promise<void>;
  release(id: string, time: string): Promise<void>;
  /** Rows older than this are forgotten (Genesys stops retrying within a minute). */
  prune(olderThanMs: number): Promise<number>;
}

export function webhookDedup(q: Queryable, staleMs = 30_000): WebhookDedup {
  return {
    async claim(id, time) {
      const { rows } = await run(
        q,
        "webhook claim",
        `INSERT INTO gcloud_webhook_messages (message_id, channel_time) VALUES ($1::text, $2::text)
         ON CONFLICT (message_id, channel_time) DO UPDATE SET claimed_at = now()
           WHERE gcloud_webhook_messages.state = 'processing'
             AND gcloud_webhook_messages.claimed_at < now() - $3::double precision * interval '1 millisecond'
         RETURNING 1 AS claimed`,
        [id, time, staleMs],
      );
      if (rows.length > 0) return "claimed";
      const seen = await run<{ state: string }>(
        q,
        "webhook claim",
        `SELECT state FROM gcloud_webhook_messages WHERE message_id = $1::text AND channel_time = $2::text`,
        [id, time],
      );
      // Gone between the two statements (released by a failure): the retry will claim it.
      return seen.rows[0]?.state === "done" ? "done" : "busy";
    },
    async done(id, time) {
      await run(
        q,
        "webhook done",
        `UPDATE gcloud_webhook_messages SET state = 'done' WHERE message_id = $1::text AND channel_time = $2::text`,
        [id, time],
      );
    },
    async release(id, time) {
      await run(
        q,
        "webhook release",
        `DELETE FROM gcloud_webhook_messages WHERE message_id = $1::text AND channel_time = $2::text AND state = 'processing'`,
        [id, time],
      );
    },
    async prune(olderThanMs) {
      const { rows } = await run(
        q,
        "webhook prune",
        `DELETE FROM gcloud_webhook_messages WHERE claimed_at < now() - $1::double precision * interval '1 millisecond' RETURNING 1`,
        [olderThanMs],
      );
      return rows.length;
    },
  };
}
