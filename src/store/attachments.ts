// Attachments (protocol.md section 10, migration 005): one row per file with
// its conversation, size, type and sha256; the bytes in the row (storage
// "database", the default). Stored once per idempotency key, so an event
// handled twice (a restart, a redelivery) keeps one file.
import { randomUUID } from "node:crypto";
import { at, run, type RepoContext } from "./sql.js";

export interface NewAttachment {
  conversationId: string;
  origin: "user" | "operator" | "bot";
  idempotencyKey: string;
  name: string | null;
  mediaType: string;
  content: Buffer;
  sha256: string;
}

export interface StoredAttachment {
  id: string;
  conversationId: string;
  origin: "user" | "operator" | "bot";
  name: string | null;
  mediaType: string;
  size: number;
  sha256: string;
  createdAt: Date;
}

export interface AttachmentRepository {
  /** Stores the file, or returns the one already stored under the same idempotency key. */
  put(a: NewAttachment): Promise<StoredAttachment>;
  get(id: string): Promise<StoredAttachment | null>;
  content(id: string): Promise<Buffer | null>;
  /** Deletes a conversation's attachments; returns how many. */
  deleteForConversation(conversationId: string): Promise<number>;
  /** The retention job: deletes attachments stored before `before`; returns how many. */
  deleteOlderThan(before: Date): Promise<number>;
  /** Bytes stored, for the metric. */
  totalBytes(): Promise<number>;
}

interface Row {
  id: string;
  conversation_id: string;
  origin: StoredAttachment["origin"];
  name: string | null;
  media_type: string;
  size: string | number;
  sha256: string;
  created_at: Date;
}

const COLUMNS = "id, conversation_id, origin, name, media_type, size, sha256, created_at";

function toAttachment(r: Row): StoredAttachment {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    origin: r.origin,
    name: r.name,
    mediaType: r.media_type,
    size: Number(r.size),
    sha256: r.sha256,
    createdAt: r.created_at,
  };
}

export function attachmentRepository(ctx: RepoContext): AttachmentRepository {
  return {
    async put(a) {
      const { rows } = await run<Row>(
        ctx.q,
        "store attachment",
        `WITH ins AS (
           INSERT INTO attachments (id, conversation_id, origin, idempotency_key, name, media_type, size, sha256, storage, content)
           VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, 'database', $9::bytea)
           ON CONFLICT (idempotency_key) DO NOTHING
           RETURNING ${COLUMNS}
         )
         SELECT * FROM ins
         UNION ALL
         SELECT ${COLUMNS} FROM attachments WHERE idempotency_key = $4::text AND NOT EXISTS (SELECT 1 FROM ins)`,
        [randomUUID(), a.conversationId, a.origin, a.idempotencyKey, a.name, a.mediaType, a.content.length, a.sha256, a.content],
      );
      return toAttachment(rows[0]!);
    },
    async get(id) {
      const { rows } = await run<Row>(ctx.q, "read attachment", `SELECT ${COLUMNS} FROM attachments WHERE id = $1::text`, [id]);
      return rows[0] ? toAttachment(rows[0]) : null;
    },
    async content(id) {
      const { rows } = await run<{ content: Uint8Array | null }>(
        ctx.q,
        "read attachment",
        `SELECT content FROM attachments WHERE id = $1::text`,
        [id],
      );
      const c = rows[0]?.content;
      return c ? Buffer.from(c) : null;
    },
    async deleteForConversation(conversationId) {
      const r = await run(ctx.q, "delete attachments", `DELETE FROM attachments WHERE conversation_id = $1::text`, [conversationId]);
      return r.rowCount ?? 0;
    },
    async deleteOlderThan(before) {
      const r = await run(ctx.q, "expire attachments", `DELETE FROM attachments WHERE created_at < $1::timestamptz`, [at(before)]);
      return r.rowCount ?? 0;
    },
    async totalBytes() {
      const { rows } = await run<{ n: string | number | null }>(ctx.q, "attachment bytes", `SELECT sum(size) AS n FROM attachments`);
      return Number(rows[0]?.n ?? 0);
    },
  };
}
