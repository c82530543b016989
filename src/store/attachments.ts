// Attachments (protocol.md section 10, migration 005): one row per file with
// its conversation, size, type and sha256; the bytes in the row (storage
// "database", the default) or in a file under attachments.directory (storage
// "directory", src/store/attachment-files.ts). Stored once per idempotency
// key, so an event handled twice (a restart, a redelivery) keeps one file.
// Each row says where its bytes are, so switching the setting keeps the files
// stored before readable.
import { randomUUID } from "node:crypto";
import type { AttachmentFiles } from "./attachment-files.js";
import { at, run, type RepoContext } from "./sql.js";

export interface NewAttachment {
  /** The id to store it under (a URL signed before the file is fetched names it); default a new UUID. */
  id?: string;
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
  /** Directory storage: removes files no row names (a crash between writing and inserting, a conversation deleted), older than `before`; returns how many. */
  sweepOrphans(before: Date): Promise<number>;
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

/** Where new attachments' bytes go: in their row, or in files (the rows keep size, type and sha256). */
export type AttachmentStorage = { kind: "database" } | { kind: "directory"; files: AttachmentFiles };

const INSERT = `WITH ins AS (
     INSERT INTO attachments (id, conversation_id, origin, idempotency_key, name, media_type, size, sha256, storage, content, path)
     VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint, $8::text, $9::text, $10::bytea, $11::text)
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING ${COLUMNS}
   )
   SELECT *, true AS inserted FROM ins
   UNION ALL
   SELECT ${COLUMNS}, false AS inserted FROM attachments WHERE idempotency_key = $4::text AND NOT EXISTS (SELECT 1 FROM ins)`;

export function attachmentRepository(ctx: RepoContext, storage: AttachmentStorage = { kind: "database" }): AttachmentRepository {
  const files = storage.kind === "directory" ? storage.files : null;
  /** Deletes the rows `where` selects and then their files. */
  const deleteWhere = async (what: string, where: string, params: unknown[]): Promise<number> => {
    const { rows } = await run<{ path: string | null }>(ctx.q, what, `DELETE FROM attachments WHERE ${where} RETURNING path`, params);
    const paths = rows.map((r) => r.path).filter((p): p is string => p !== null);
    if (paths.length > 0 && files) await files.remove(paths);
    return rows.length;
  };
  return {
    async put(a) {
      const id = a.id ?? randomUUID();
      const existing = await run<Row>(ctx.q, "read attachment", `SELECT ${COLUMNS} FROM attachments WHERE idempotency_key = $1::text`, [
        a.idempotencyKey,
      ]);
      if (existing.rows[0]) return toAttachment(existing.rows[0]);
      // The file first: a row never names bytes that are not there (a crash leaves an orphan file, swept later).
      const path = files ? await files.write(id, a.content) : null;
      const { rows } = await run<Row & { inserted: boolean }>(ctx.q, "store attachment", INSERT, [
        id,
        a.conversationId,
        a.origin,
        a.idempotencyKey,
        a.name,
        a.mediaType,
        a.content.length,
        a.sha256,
        files ? "directory" : "database",
        files ? null : a.content,
        path,
      ]);
      const row = rows[0]!;
      // Another instance stored it meanwhile, under another id: this file is nobody's.
      if (!row.inserted && path && row.id !== id) await files!.remove([path]);
      return toAttachment(row);
    },
    async get(id) {
      const { rows } = await run<Row>(ctx.q, "read attachment", `SELECT ${COLUMNS} FROM attachments WHERE id = $1::text`, [id]);
      return rows[0] ? toAttachment(rows[0]) : null;
    },
    async content(id) {
      const { rows } = await run<{ content: Uint8Array | null; path: string | null }>(
        ctx.q,
        "read attachment",
        `SELECT content, path FROM attachments WHERE id = $1::text`,
        [id],
      );
      const r = rows[0];
      if (!r) return null;
      if (r.content) return Buffer.from(r.content);
      if (r.path === null) return null;
      if (!files) throw new Error(`attachment ${id} is in a file, and attachments.storage is not "directory"`);
      return files.read(r.path);
    },
    deleteForConversation: (conversationId) => deleteWhere("delete attachments", "conversation_id = $1::text", [conversationId]),
    deleteOlderThan: (before) => deleteWhere("expire attachments", "created_at < $1::timestamptz", [at(before)]),
    async totalBytes() {
      const { rows } = await run<{ n: string | number | null }>(ctx.q, "attachment bytes", `SELECT sum(size) AS n FROM attachments`);
      return Number(rows[0]?.n ?? 0);
    },
    async sweepOrphans(before) {
      if (!files) return 0;
      const candidates = await files.listOlderThan(before);
      if (candidates.length === 0) return 0;
      const { rows } = await run<{ path: string }>(ctx.q, "attachment paths", `SELECT path FROM attachments WHERE path = ANY($1::text[])`, [
        candidates,
      ]);
      const named = new Set(rows.map((r) => r.path));
      const orphans = candidates.filter((p) => !named.has(p));
      await files.remove(orphans);
      return orphans.length;
    },
  };
}
