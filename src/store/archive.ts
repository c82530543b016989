// The message archive of one user at one JID (XEP-0313, src/xmpp/mam.ts):
// the messages of the user's conversations exchanged with that JID, in the
// order stored, filtered and paged. Only the requester's own conversations
// are read (user_jid is the bare JID the server stamped on the query).
// What is archived: the user's messages (not XEP-0050 command executions,
// which were no messages) and the router's messages as sent (stanza kept),
// without chat states.
import type { ApiVersion } from "../core/model.js";
import type { ArchivedRow } from "../protocol/archived-message.js";
import { run, type RepoContext } from "./sql.js";

export interface ArchiveSelection {
  /** The requester's bare JID. */
  userJid: string;
  /** The JID queried: a channel JID (`channel`) or a server-address JID (`server`), by its localpart. */
  archive: { kind: "channel" | "server"; local: string };
  chatTitle?: string;
  start?: Date;
  end?: Date;
  /** Archive ids (message ids) bounding the result, exclusive. */
  afterId?: string;
  beforeId?: string;
}

export interface ArchivePageRequest {
  max: number;
  /** Paging forward after this id, or (with `backward`) back from `before` (null: from the end). */
  after?: string;
  before?: string | null;
}

export interface ArchivePageResult {
  /** Oldest first. */
  rows: ArchivedRow[];
  /** All matching rows, every page. */
  count: number;
  /** No more rows beyond this page in the direction paged. */
  complete: boolean;
}

export interface ArchiveRepository {
  /** Which of `ids` are not in the user's archive at that JID (item-not-found, XEP-0313 §4.3). */
  unknownIds(selection: Pick<ArchiveSelection, "userJid" | "archive">, ids: readonly string[]): Promise<string[]>;
  page(selection: ArchiveSelection, page: ArchivePageRequest): Promise<ArchivePageResult>;
}

const ID = /^[1-9]\d{0,18}$/;

interface Row {
  id: string;
  direction: "in" | "out";
  kind: string;
  text: string | null;
  payload: Record<string, unknown> | null;
  stanza: string | null;
  dedupe_key: string | null;
  created_at: Date;
  user_jid: string;
  api_version: ApiVersion;
  msisdn: string | null;
  channel: string;
  chat_title: string;
  plain_client: boolean;
  client_thread: string | null;
  addressing_kind: "channel" | "server";
  server_address: string | null;
  lang: string;
}

// $1 user, $2 archive kind, $3 archive local: the requester's conversations with that JID.
const OWN = `c.user_jid = $1::text AND c.addressing_kind = $2::text
  AND (CASE WHEN $2::text = 'server' THEN c.server_address ELSE c.channel END) = $3::text`;
// What is a message of the archive.
const ARCHIVED = `((m.direction = 'in' AND (m.payload->>'via') IS DISTINCT FROM 'xep-0050')
  OR (m.direction = 'out' AND m.stanza IS NOT NULL AND m.kind <> 'chat_state'))`;
// $4 title, $5 start, $6 end, $7 after-id, $8 before-id (each NULL: no bound).
const FILTERS = `($4::text IS NULL OR c.chat_title = $4::text)
  AND ($5::timestamptz IS NULL OR m.created_at >= $5::timestamptz)
  AND ($6::timestamptz IS NULL OR m.created_at <= $6::timestamptz)
  AND ($7::bigint IS NULL OR m.id > $7::bigint)
  AND ($8::bigint IS NULL OR m.id < $8::bigint)`;
const FROM = `FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE ${OWN} AND ${ARCHIVED} AND ${FILTERS}`;

const toRow = (r: Row): ArchivedRow => ({
  archiveId: r.id,
  direction: r.direction,
  kind: r.kind,
  text: r.text,
  payload: r.payload,
  stanza: r.stanza,
  dedupeKey: r.dedupe_key,
  createdAt: r.created_at,
  conversation: {
    userJid: r.user_jid,
    apiVersion: r.api_version,
    msisdn: r.msisdn,
    channel: r.channel,
    chatTitle: r.chat_title,
    plain: r.plain_client,
    clientThread: r.client_thread,
    addressing: r.addressing_kind === "server" ? { kind: "server", serverAddress: r.server_address ?? "" } : { kind: "channel" },
    lang: r.lang,
  },
});

const maxOf = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : BigInt(a) > BigInt(b) ? a : b);
const minOf = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : BigInt(a) < BigInt(b) ? a : b);

export function archiveRepository(ctx: RepoContext): ArchiveRepository {
  return {
    async unknownIds(selection, ids) {
      const wellFormed = ids.filter((id) => ID.test(id));
      const { rows } = await run<{ id: string }>(
        ctx.q,
        "archive ids",
        `SELECT m.id::text AS id FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.id = ANY($4::bigint[]) AND ${OWN} AND ${ARCHIVED}`,
        [selection.userJid, selection.archive.kind, selection.archive.local, wellFormed],
      );
      const found = new Set(rows.map((r) => r.id));
      return ids.filter((id) => !found.has(id));
    },

    async page(selection, page) {
      const base = [
        selection.userJid,
        selection.archive.kind,
        selection.archive.local,
        selection.chatTitle ?? null,
        selection.start ?? null,
        selection.end ?? null,
      ];
      const { rows: counted } = await run<{ n: string }>(ctx.q, "archive count", `SELECT count(*)::text AS n ${FROM}`, [
        ...base,
        selection.afterId ?? null,
        selection.beforeId ?? null,
      ]);
      const count = Number(counted[0]?.n ?? 0);
      const backward = page.before !== undefined;
      const after = maxOf(selection.afterId, page.after);
      const before = minOf(selection.beforeId, page.before ?? undefined);
      const { rows } = await run<Row>(
        ctx.q,
        "archive page",
        `SELECT m.id::text AS id, m.direction, m.kind, m.text, m.payload, m.stanza, m.dedupe_key, m.created_at,
           c.user_jid, c.api_version, c.msisdn, c.channel, c.chat_title, c.plain_client, c.client_thread,
           c.addressing_kind, c.server_address, c.lang
         ${FROM}
         ORDER BY m.id ${backward ? "DESC" : "ASC"} LIMIT $9::int`,
        [...base, after ?? null, before ?? null, page.max + 1],
      );
      const complete = rows.length <= page.max;
      const kept = rows.slice(0, page.max);
      if (backward) kept.reverse();
      return { rows: kept.map(toRow), count, complete };
    },
  };
}
