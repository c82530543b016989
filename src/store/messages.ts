// Messages of conversations (design.md rules 1 and 2), as read back: written
// by conversation steps (steps.ts) before they are acknowledged or routed; a
// duplicate (same sender, same dedupe key) is recognised by the database's
// unique key and never stored twice.
import type { StoredMessage } from "../core/model.js";
import { run, type RepoContext } from "./sql.js";

/** The sender of outbound messages unless another is given: their dedupe keys are the router's own ids. */
export const ROUTER_SENDER = "router";

export interface MessageRepository {
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

export function messageRepository(ctx: RepoContext): MessageRepository {
  return {
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
