// Conversations (protocol.md sections 3 and 5): keyed by (user, channel,
// chat title), the operator episode inline, optimistic versioning for saves
// and a lease so one instance polls Genesys for a conversation (design.md rule 4).
import { randomUUID } from "node:crypto";
import type {
  Addressing,
  ApiVersion,
  BotOption,
  CallbackRequest,
  Conversation,
  ConversationState,
  OperatorEpisode,
  Platform,
} from "../core/model.js";
import { CONVERSATION_STATES } from "../core/model.js";
import { RouterError } from "../errors.js";
import { at, json, run, type RepoContext } from "./sql.js";

/** save() found another version than the one it was given: reload and decide again. */
export class ConcurrentUpdateError extends RouterError {
  constructor(
    readonly conversationId: string,
    readonly expectedVersion: number,
    /** Unknown when the write only saw that the version moved. */
    readonly actualVersion?: number,
  ) {
    super(
      "SQL_ERROR",
      `conversation ${conversationId} was updated concurrently (version ${actualVersion ?? "newer"}, expected ${expectedVersion})`,
    );
    this.name = "ConcurrentUpdateError";
  }
}

export function isConcurrentUpdate(err: unknown): err is ConcurrentUpdateError {
  return err instanceof ConcurrentUpdateError;
}

/** What create() needs; the rest has defaults (state "bot", no episode, version 1). */
export interface NewConversation {
  /** Default: a random UUID. */
  id?: string;
  userJid: string;
  msisdn?: string | null;
  channel: string;
  chatTitle: string;
  addressing: Addressing;
  apiVersion: ApiVersion;
  os?: Platform | null;
  appVersion?: string | null;
  premium?: boolean;
  useChatDynamic?: boolean;
  plain?: boolean;
  clientThread?: string | null;
  attachmentsSent?: number;
  lang: string;
  state?: ConversationState;
  botSession?: number;
  botSessionOpen?: boolean;
  botOptions?: BotOption[] | null;
  episode?: OperatorEpisode | null;
  votingUntil?: Date | null;
  callback?: CallbackRequest | null;
  /** createdAt and updatedAt; default: now. */
  now?: Date;
}

export interface ListOptions {
  state?: ConversationState;
  /** Default 100, at most 1000. */
  limit?: number;
}

export interface ConversationRepository {
  findByKey(userJid: string, channel: string, chatTitle: string): Promise<Conversation | null>;
  get(id: string): Promise<Conversation | null>;
  /** Creates the conversation, or returns the one a concurrent create stored first under the same key. */
  create(conversation: NewConversation): Promise<Conversation>;
  /** As create(), telling whether this call created it. */
  createIfAbsent(conversation: NewConversation): Promise<{ conversation: Conversation; created: boolean }>;
  /**
   * As createIfAbsent(), but a conversation is created only while the user has
   * fewer than `maxOpen` open (security.maxOpenConversationsPerUser), counted
   * in the insert's own statement; null when it is not created for that.
   */
  createWithinLimit(conversation: NewConversation, maxOpen: number): Promise<{ conversation: Conversation; created: boolean } | null>;
  /**
   * Stores every field but the key (userJid, channel, chatTitle), if the stored
   * version is still `conversation.version`; returns it with version + 1.
   * @throws ConcurrentUpdateError when the version moved; RouterError NO_CONVERSATION_FOUND when it is gone.
   */
  save(conversation: Conversation, now?: Date): Promise<Conversation>;
  /** Most recently updated first. */
  list(options?: ListOptions): Promise<Conversation[]>;
  /** Conversations queued, with an operator or voting whose episode has Genesys chat ids: the ones to poll. */
  withOpenEpisodes(): Promise<Conversation[]>;
  /**
   * Median seconds from request to agent joined of the episodes of a service
   * requested since `since` (the last episode of each conversation), and how
   * many there were; null median when none joined.
   */
  /** Conversations waiting in the queue of a service (state queued, episode not ended), on every instance. */
  countQueued(serviceName: string): Promise<number>;
  medianWaitSeconds(serviceName: string, since: Date): Promise<{ median: number | null; episodes: number }>;
  /**
   * Takes or extends the lease for `owner` when it is free, expired, or already
   * `owner`'s. Times are the database's clock unless `now` is given.
   */
  acquireLease(id: string, owner: string, ttlMs: number, now?: Date): Promise<boolean>;
  /** Gives the lease up if `owner` holds it. */
  releaseLease(id: string, owner: string): Promise<boolean>;
  countByState(): Promise<Record<ConversationState, number>>;
  /** The user's conversations in any state but `closed` (security.maxOpenConversationsPerUser), over every instance. */
  countOpen(userJid: string): Promise<number>;
  /** The `os` of the user's most recently updated conversation that has one (for the directory's platform filter). */
  latestOs(userJid: string): Promise<Platform | null>;
}

interface ConversationRow {
  id: string;
  user_jid: string;
  msisdn: string | null;
  channel: string;
  chat_title: string;
  addressing_kind: "channel" | "server";
  server_address: string | null;
  api_version: ApiVersion;
  os: Platform | null;
  app_version: string | null;
  premium: boolean;
  use_chat_dynamic: boolean;
  plain_client: boolean;
  client_thread: string | null;
  attachments_sent: number;
  lang: string;
  state: ConversationState;
  bot_session: number;
  bot_session_open: boolean;
  bot_options: BotOption[] | null;
  episode_uuid: string | null;
  episode_service_name: string | null;
  genesys_chat_id: string | null;
  genesys_user_id: string | null;
  genesys_secure_key: string | null;
  genesys_alias: string | null;
  transcript_position: number | null;
  queue_position: number | null;
  notified_queue_position: number | null;
  episode_requested_at: Date | null;
  episode_joined_at: Date | null;
  agent_nickname: string | null;
  episode_last_activity_at: Date | null;
  last_queued_notice_at: Date | null;
  episode_ended_at: Date | null;
  episode_end_code: string | null;
  episode_idle_warned_at?: Date | null;
  callback?: CallbackRequest | null;
  episode_read_position?: number | null;
  episode_nickname?: string | null;
  voting_until: Date | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

type Fields = Omit<Conversation, "id" | "userJid" | "channel" | "chatTitle" | "version" | "createdAt" | "updatedAt">;

/** The columns save() writes: name, SQL type (for the parameter cast), value. */
const MUTABLE: readonly [string, string, (c: Fields) => unknown][] = [
  ["msisdn", "text", (c) => c.msisdn],
  ["addressing_kind", "text", (c) => c.addressing.kind],
  ["server_address", "text", (c) => (c.addressing.kind === "server" ? c.addressing.serverAddress : null)],
  ["api_version", "text", (c) => c.apiVersion],
  ["os", "text", (c) => c.os],
  ["app_version", "text", (c) => c.appVersion],
  ["premium", "bool", (c) => c.premium],
  ["use_chat_dynamic", "bool", (c) => c.useChatDynamic],
  ["lang", "text", (c) => c.lang],
  ["state", "text", (c) => c.state],
  ["bot_session", "int", (c) => c.botSession],
  ["bot_session_open", "bool", (c) => c.botSessionOpen],
  ["bot_options", "jsonb", (c) => json(c.botOptions)],
  ["episode_uuid", "text", (c) => c.episode?.uuid ?? null],
  ["episode_service_name", "text", (c) => c.episode?.serviceName ?? null],
  ["genesys_chat_id", "text", (c) => c.episode?.chat?.chatId ?? null],
  ["genesys_user_id", "text", (c) => c.episode?.chat?.userId ?? null],
  ["genesys_secure_key", "text", (c) => c.episode?.chat?.secureKey ?? null],
  ["genesys_alias", "text", (c) => c.episode?.chat?.alias ?? null],
  ["transcript_position", "int", (c) => c.episode?.transcriptPosition ?? null],
  ["queue_position", "int", (c) => c.episode?.queuePosition ?? null],
  ["notified_queue_position", "int", (c) => c.episode?.notifiedQueuePosition ?? null],
  ["episode_requested_at", "timestamptz", (c) => c.episode?.requestedAt ?? null],
  ["episode_joined_at", "timestamptz", (c) => c.episode?.joinedAt ?? null],
  ["agent_nickname", "text", (c) => c.episode?.agentNickname ?? null],
  ["episode_last_activity_at", "timestamptz", (c) => c.episode?.lastActivityAt ?? null],
  ["last_queued_notice_at", "timestamptz", (c) => c.episode?.lastQueuedNoticeAt ?? null],
  ["episode_ended_at", "timestamptz", (c) => c.episode?.endedAt ?? null],
  ["episode_end_code", "text", (c) => c.episode?.endCode ?? null],
  ["voting_until", "timestamptz", (c) => c.votingUntil],
  // Migration 4 (protocol.md section 9).
  ["plain_client", "bool", (c) => c.plain ?? false],
  ["client_thread", "text", (c) => c.clientThread ?? null],
  ["attachments_sent", "int", (c) => c.attachmentsSent ?? 0],
  // Migration 6 (issue 17: warn, then close for inactivity).
  ["episode_idle_warned_at", "timestamptz", (c) => c.episode?.idleWarnedAt ?? null],
  // Migration 8 (backends.md section 2c: callbacks).
  ["callback", "jsonb", (c) => json(c.callback ?? null)],
  // Migration 9 (issue 17: GMS readReceipt and updateNickname).
  ["episode_read_position", "int", (c) => c.episode?.readPosition ?? null],
  ["episode_nickname", "text", (c) => c.episode?.nickname ?? null],
];

const COLUMNS = `id, user_jid, channel, chat_title, version, created_at, updated_at, ${MUTABLE.map(([n]) => n).join(", ")}`;

/** The insert of a new conversation; with a limit ($LIMIT) only while the user has fewer open (see insertOnce). */
const LIMIT = MUTABLE.length + 7;
const INSERT_SQL = `WITH n AS (
  SELECT CASE WHEN $${LIMIT}::int IS NULL THEN NULL ELSE (SELECT count(*)::int FROM (SELECT 1 FROM conversations
    WHERE user_jid = $2::text AND state <> 'closed' LIMIT $${LIMIT}::int) o) END AS open),
ins AS (
  INSERT INTO conversations (id, user_jid, channel, chat_title, version, created_at, updated_at, ${MUTABLE.map(([m]) => m).join(", ")})
  SELECT $1::text, $2::text, $3::text, $4::text, 1, $5::timestamptz, $6::timestamptz,
    ${MUTABLE.map(([, type], i) => `$${i + 7}::${type}`).join(", ")}
  WHERE $${LIMIT}::int IS NULL OR (SELECT open FROM n) < $${LIMIT}::int
  ON CONFLICT (user_jid, channel, chat_title) DO NOTHING
  RETURNING id)
SELECT (SELECT id FROM ins) AS id, (SELECT open FROM n) AS open`;

/** Every field but the key, if the version is still the one read. */
const SAVE_SQL = `UPDATE conversations SET ${MUTABLE.map(([name, type], i) => `${name} = $${i + 4}::${type}`).join(", ")},
  version = version + 1, updated_at = $3::timestamptz
WHERE id = $1::text AND version = $2::int
RETURNING version, created_at`;

function toEpisode(row: ConversationRow): OperatorEpisode | null {
  if (row.episode_uuid === null) return null;
  const requestedAt = row.episode_requested_at ?? row.created_at;
  return {
    uuid: row.episode_uuid,
    serviceName: row.episode_service_name ?? "",
    chat:
      row.genesys_chat_id !== null
        ? {
            chatId: row.genesys_chat_id,
            userId: row.genesys_user_id ?? "",
            secureKey: row.genesys_secure_key ?? "",
            alias: row.genesys_alias ?? "",
          }
        : null,
    transcriptPosition: row.transcript_position ?? 0,
    queuePosition: row.queue_position,
    notifiedQueuePosition: row.notified_queue_position,
    requestedAt,
    joinedAt: row.episode_joined_at,
    agentNickname: row.agent_nickname,
    lastActivityAt: row.episode_last_activity_at ?? requestedAt,
    lastQueuedNoticeAt: row.last_queued_notice_at,
    ...(row.episode_idle_warned_at ? { idleWarnedAt: row.episode_idle_warned_at } : {}),
    ...(typeof row.episode_read_position === "number" ? { readPosition: row.episode_read_position } : {}),
    ...(typeof row.episode_nickname === "string" ? { nickname: row.episode_nickname } : {}),
    endedAt: row.episode_ended_at,
    endCode: row.episode_end_code,
  };
}

export function toConversation(row: ConversationRow): Conversation {
  return {
    id: row.id,
    userJid: row.user_jid,
    msisdn: row.msisdn,
    channel: row.channel,
    chatTitle: row.chat_title,
    addressing: row.addressing_kind === "server" ? { kind: "server", serverAddress: row.server_address ?? "" } : { kind: "channel" },
    apiVersion: row.api_version,
    os: row.os,
    appVersion: row.app_version,
    premium: row.premium,
    useChatDynamic: row.use_chat_dynamic,
    plain: row.plain_client,
    clientThread: row.client_thread,
    attachmentsSent: row.attachments_sent,
    lang: row.lang,
    state: row.state,
    botSession: row.bot_session,
    botSessionOpen: row.bot_session_open,
    botOptions: row.bot_options,
    episode: toEpisode(row),
    votingUntil: row.voting_until,
    ...(row.callback ? { callback: row.callback } : {}),
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The conversation as its row reads back once `fields` are written: what
 * `RETURNING` every column would give (jsonb keys aside, whose order nothing
 * relies on), without the driver parsing its 45 columns again (issue 14: a
 * new conversation's insert and its first two saves were a tenth of the
 * router's CPU per opening, most of it pg's per-column result set-up).
 */
function asWritten(
  head: Pick<Conversation, "id" | "userJid" | "channel" | "chatTitle" | "version" | "createdAt" | "updatedAt">,
  fields: Fields,
) {
  const row: Record<string, unknown> = {
    id: head.id,
    user_jid: head.userJid,
    channel: head.channel,
    chat_title: head.chatTitle,
    version: head.version,
    created_at: head.createdAt,
    updated_at: head.updatedAt,
  };
  for (const [name, type, value] of MUTABLE) {
    const v = value(fields) ?? null;
    row[name] = type === "jsonb" && typeof v === "string" ? JSON.parse(v) : v;
  }
  return toConversation(row as unknown as ConversationRow);
}

function fieldsOf(c: NewConversation): Fields {
  return {
    msisdn: c.msisdn ?? null,
    addressing: c.addressing,
    apiVersion: c.apiVersion,
    os: c.os ?? null,
    appVersion: c.appVersion ?? null,
    premium: c.premium ?? false,
    useChatDynamic: c.useChatDynamic ?? false,
    plain: c.plain ?? false,
    clientThread: c.clientThread ?? null,
    attachmentsSent: c.attachmentsSent ?? 0,
    lang: c.lang,
    state: c.state ?? "bot",
    botSession: c.botSession ?? 0,
    botSessionOpen: c.botSessionOpen ?? false,
    botOptions: c.botOptions ?? null,
    episode: c.episode ?? null,
    votingUntil: c.votingUntil ?? null,
    callback: c.callback ?? null,
  };
}

const OPEN_EPISODE_STATES: readonly ConversationState[] = ["queued", "operator", "voting"];

export function conversationRepository(ctx: RepoContext): ConversationRepository {
  const findByKey = async (userJid: string, channel: string, chatTitle: string) => {
    const { rows } = await run<ConversationRow>(
      ctx.q,
      "conversation find",
      `SELECT ${COLUMNS} FROM conversations WHERE user_jid = $1::text AND channel = $2::text AND chat_title = $3::text`,
      [userJid, channel, chatTitle],
    );
    return rows[0] ? toConversation(rows[0]) : null;
  };

  const get = async (id: string) => {
    const { rows } = await run<ConversationRow>(ctx.q, "conversation get", `SELECT ${COLUMNS} FROM conversations WHERE id = $1::text`, [
      id,
    ]);
    return rows[0] ? toConversation(rows[0]) : null;
  };

  /**
   * One INSERT of `c`; with `maxOpen`, only while the user has fewer than that
   * many conversations open, counted in the same statement (issue 14: the
   * count of issue 13 rides on the insert, not a round trip of its own).
   */
  const insertOnce = async (c: NewConversation, fields: Fields, maxOpen: number | null) => {
    const now = at(c.now);
    const values = MUTABLE.map(([, , value]) => value(fields));
    const id = c.id ?? randomUUID();
    const { rows } = await run<{ id: string | null; open: number | null }>(ctx.q, "conversation create", INSERT_SQL, [
      id,
      c.userJid,
      c.channel,
      c.chatTitle,
      now,
      now,
      ...values,
      maxOpen,
    ]);
    const row = rows[0];
    if (!row?.id) return { created: null, full: maxOpen !== null && (row?.open ?? 0) >= maxOpen };
    const head = { id, userJid: c.userJid, channel: c.channel, chatTitle: c.chatTitle, version: 1, createdAt: now, updatedAt: now };
    return { created: asWritten(head, fields), full: false };
  };

  /** null: `maxOpen` given, the user has that many open and the key is not stored. */
  const createWithin = async (c: NewConversation, maxOpen: number | null) => {
    const fields = fieldsOf(c);
    for (let attempt = 0; attempt < 3; attempt++) {
      const { created, full } = await insertOnce(c, fields, maxOpen);
      if (created) return { conversation: created, created: true };
      // Another create won the key (or the user is at the limit): its conversation, if it is there.
      const existing = await findByKey(c.userJid, c.channel, c.chatTitle);
      if (existing) return { conversation: existing, created: false };
      if (full) return null;
    }
    throw new RouterError("SQL_ERROR", "conversation create: the conversation key kept changing");
  };

  const createIfAbsent = async (c: NewConversation) => (await createWithin(c, null))!;

  return {
    findByKey,
    get,
    createIfAbsent,
    createWithinLimit: createWithin,

    async create(c) {
      return (await createIfAbsent(c)).conversation;
    },

    async save(c, now) {
      const values = MUTABLE.map(([, , value]) => value(c));
      const updatedAt = at(now);
      const { rows } = await run<{ version: number; created_at: Date }>(ctx.q, "conversation save", SAVE_SQL, [
        c.id,
        c.version,
        updatedAt,
        ...values,
      ]);
      if (rows[0]) return asWritten({ ...c, version: rows[0].version, createdAt: rows[0].created_at, updatedAt }, c);
      const { rows: current } = await run<{ version: number }>(
        ctx.q,
        "conversation save",
        "SELECT version FROM conversations WHERE id = $1::text",
        [c.id],
      );
      if (!current[0]) throw new RouterError("NO_CONVERSATION_FOUND", `conversation ${c.id} does not exist`);
      throw new ConcurrentUpdateError(c.id, c.version, current[0].version);
    },

    async list(options = {}) {
      const limit = Math.min(Math.max(Math.trunc(options.limit ?? 100), 1), 1000);
      const { rows } = await run<ConversationRow>(
        ctx.q,
        "conversation list",
        `SELECT ${COLUMNS} FROM conversations WHERE ($1::text IS NULL OR state = $1::text)
         ORDER BY updated_at DESC, id LIMIT $2::int`,
        [options.state ?? null, limit],
      );
      return rows.map(toConversation);
    },

    async withOpenEpisodes() {
      const { rows } = await run<ConversationRow>(
        ctx.q,
        "conversation open episodes",
        `SELECT ${COLUMNS} FROM conversations WHERE state = ANY($1::text[]) AND genesys_chat_id IS NOT NULL
         ORDER BY updated_at, id`,
        [OPEN_EPISODE_STATES],
      );
      return rows.map(toConversation);
    },

    async countQueued(serviceName) {
      const { rows } = await run<{ n: number | string }>(
        ctx.q,
        "conversation queued count",
        `SELECT count(*) AS n FROM conversations WHERE state = 'queued' AND episode_service_name = $1 AND episode_ended_at IS NULL`,
        [serviceName],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async medianWaitSeconds(serviceName, since) {
      const { rows } = await run<{ median: number | string | null; episodes: number | string }>(
        ctx.q,
        "conversation median wait",
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM episode_joined_at - episode_requested_at)) AS median,
                count(*) AS episodes
           FROM conversations
          WHERE episode_service_name = $1 AND episode_requested_at >= $2 AND episode_joined_at IS NOT NULL`,
        [serviceName, since],
      );
      const row = rows[0];
      const median = row?.median === null || row?.median === undefined ? null : Number(row.median);
      return { median, episodes: Number(row?.episodes ?? 0) };
    },

    async acquireLease(id, owner, ttlMs, now) {
      const { rowCount } = await run(
        ctx.q,
        "conversation lease",
        `UPDATE conversations
         SET lease_owner = $2::text,
             lease_until = COALESCE($4::timestamptz, clock_timestamp()) + $3::double precision * interval '1 millisecond'
         WHERE id = $1::text
           AND (lease_owner IS NULL OR lease_owner = $2::text OR lease_until <= COALESCE($4::timestamptz, clock_timestamp()))`,
        [id, owner, ttlMs, now ?? null],
      );
      return rowCount > 0;
    },

    async releaseLease(id, owner) {
      const { rowCount } = await run(
        ctx.q,
        "conversation lease release",
        "UPDATE conversations SET lease_owner = NULL, lease_until = NULL WHERE id = $1::text AND lease_owner = $2::text",
        [id, owner],
      );
      return rowCount > 0;
    },

    async latestOs(userJid) {
      const { rows } = await run<{ os: Platform }>(
        ctx.q,
        "conversation latest os",
        "SELECT os FROM conversations WHERE user_jid = $1::text AND os IS NOT NULL ORDER BY updated_at DESC LIMIT 1",
        [userJid],
      );
      return rows[0]?.os ?? null;
    },

    async countByState() {
      const { rows } = await run<{ state: ConversationState; n: number }>(
        ctx.q,
        "conversation count",
        "SELECT state, count(*)::int AS n FROM conversations GROUP BY state",
      );
      const counts = Object.fromEntries(CONVERSATION_STATES.map((s) => [s, 0])) as Record<ConversationState, number>;
      for (const row of rows) counts[row.state] = row.n;
      return counts;
    },

    async countOpen(userJid) {
      // The key's unique index leads with user_jid, so this reads only the user's rows.
      const { rows } = await run<{ n: number }>(
        ctx.q,
        "conversation count open",
        "SELECT count(*)::int AS n FROM conversations WHERE user_jid = $1::text AND state <> 'closed'",
        [userJid],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
