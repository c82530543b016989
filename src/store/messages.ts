// Messages of conversations (design.md rules 1 and 2): written before they are
// acknowledged or routed; a duplicate (same sender, same dedupe key) is
// recognised by the database's unique key and never stored twice.
import type { StoredMessage } from "../core/model.js";
import { RouterError } from "../errors.js";
import type { Queryable } from "./db.js";
import { json, run, type RepoContext } from "./sql.js";

/** The sender of outbound messages unless another is given: their dedupe keys are the router's own ids. */
export const ROUTER_SENDER = "router";

export interface InboundMessage {
  conversationId: string;
  /** The user's bare JID. */
  sender: string;
  /** origin-id, else the stanza id (protocol.md section 2); null: no duplicate detection. */
  dedupeKey: string | null;
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  /** Default: the database's clock. */
  createdAt?: Date;
}

export interface OutboundMessage {
  conversationId: string;
  author: "bot" | "operator" | "router";
  /** A key that makes a retried write a no-op (e.g. the router's message id, or the Genesys chat id and index). */
  dedupeKey?: string | null;
  /** Scope of `dedupeKey`; default {@link ROUTER_SENDER}. */
  sender?: string;
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  createdAt?: Date;
}

export type RecordResult = { duplicate: false; message: StoredMessage } | { duplicate: true; existing: StoredMessage };

export interface MessageRepository {
  /** Stores a user's message, or reports the stored one with the same (sender, dedupeKey). Never throws on a duplicate. */
  recordInbound(message: InboundMessage): Promise<RecordResult>;
  /** Stores a message to the user, idempotently when it has a dedupe key. */
  recordOutbound(message: OutboundMessage): Promise<RecordResult>;
  /** The last `limit` messages of the conversation, oldest first. */
  transcript(conversationId: string, limit?: number): Promise<StoredMessage[]>;
  /**
   * The stanzas sent to the user, oldest first, whose dedupe keys start with one of `keyPrefixes`,
   * stored after the user's message (sender, dedupeKey): what answered that message.
   */
  answers(conversationId: string, inbound: { sender: string; dedupeKey: string }, keyPrefixes: readonly string[]): Promise<string[]>;
}

interface MessageRow {
  id: string;
  conversation_id: string;
  direction: "in" | "out";
  author: StoredMessage["author"];
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  dedupe_key: string | null;
  created_at: Date;
}

const COLUMNS = "id::text AS id, conversation_id, direction, author, kind, text, payload, dedupe_key, created_at";

const toMessage = (row: MessageRow): StoredMessage => ({
  id: row.id,
  conversationId: row.conversation_id,
  direction: row.direction,
  author: row.author,
  kind: row.kind,
  text: row.text,
  payload: row.payload,
  dedupeKey: row.dedupe_key,
  createdAt: row.created_at,
});

interface Insert {
  conversationId: string;
  direction: "in" | "out";
  author: StoredMessage["author"];
  sender: string;
  dedupeKey: string | null;
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  createdAt: Date | null;
}

async function record(q: Queryable, m: Insert): Promise<RecordResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const { rows } = await run<MessageRow>(
      q,
      "message record",
      `INSERT INTO messages (conversation_id, direction, author, kind, text, payload, sender, dedupe_key, created_at)
       VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::jsonb, $7::text, $8::text, COALESCE($9::timestamptz, now()))
       ON CONFLICT (sender, dedupe_key) DO NOTHING
       RETURNING ${COLUMNS}`,
      [m.conversationId, m.direction, m.author, m.kind, m.text, json(m.payload), m.sender, m.dedupeKey, m.createdAt],
    );
    if (rows[0]) return { duplicate: false, message: toMessage(rows[0]) };
    const { rows: existing } = await run<MessageRow>(
      q,
      "message record",
      `SELECT ${COLUMNS} FROM messages WHERE sender = $1::text AND dedupe_key = $2::text`,
      [m.sender, m.dedupeKey],
    );
    if (existing[0]) return { duplicate: true, existing: toMessage(existing[0]) };
  }
  throw new RouterError("SQL_ERROR", "message record: the duplicate kept disappearing");
}

export function messageRepository(ctx: RepoContext): MessageRepository {
  return {
    recordInbound(m) {
      return record(ctx.q, {
        conversationId: m.conversationId,
        direction: "in",
        author: "user",
        sender: m.sender,
        dedupeKey: m.dedupeKey,
        kind: m.kind,
        text: m.text,
        payload: m.payload,
        createdAt: m.createdAt ?? null,
      });
    },

    recordOutbound(m) {
      return record(ctx.q, {
        conversationId: m.conversationId,
        direction: "out",
        author: m.author,
        sender: m.sender ?? ROUTER_SENDER,
        dedupeKey: m.dedupeKey ?? null,
        kind: m.kind,
        text: m.text,
        payload: m.payload,
        createdAt: m.createdAt ?? null,
      });
    },

    async answers(conversationId, inbound, keyPrefixes) {
      const { rows } = await run<{ stanza: string }>(
        ctx.q,
        "message answers",
        `SELECT m.stanza FROM messages m
         WHERE m.conversation_id = $1::text AND m.direction = 'out' AND m.stanza IS NOT NULL
           AND m.id > (SELECT i.id FROM messages i WHERE i.sender = $2::text AND i.dedupe_key = $3::text)
           AND EXISTS (SELECT 1 FROM unnest($4::text[]) AS p(prefix) WHERE starts_with(m.dedupe_key, p.prefix))
         ORDER BY m.id
         LIMIT 100`,
        [conversationId, inbound.sender, inbound.dedupeKey, keyPrefixes],
      );
      return rows.map((r) => r.stanza);
    },

    async transcript(conversationId, limit = 100) {
      const { rows } = await run<MessageRow>(
        ctx.q,
        "message transcript",
        `SELECT * FROM (
           SELECT ${COLUMNS}, id AS seq FROM messages WHERE conversation_id = $1::text ORDER BY id DESC LIMIT $2::int
         ) m ORDER BY seq`,
        [conversationId, Math.max(0, Math.trunc(limit))],
      );
      return rows.map(toMessage);
    },
  };
}
