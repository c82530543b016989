// Migration 1: the first schema. Applied by migrate() in one transaction with
// its row in schema_version. Never edit a released migration: add the next one.
import type { Migration } from "./migration.js";

export const migration001: Migration = {
  version: 1,
  name: "initial",
  sql: /* sql */ `
-- Channel directory (protocol.md section 6, operations.md admin API): a tree
-- ordered by (parent_address, position); route is admin-only.
CREATE TABLE directory_items (
  address             text PRIMARY KEY,
  type                text NOT NULL CHECK (type IN ('group', 'channel')),
  parent_address      text REFERENCES directory_items (address) ON DELETE CASCADE,
  position            integer NOT NULL,
  server_address      text,
  mobile_is_published boolean NOT NULL,
  web_is_published    boolean NOT NULL,
  name                text NOT NULL,
  status              text NOT NULL,
  image_url           text NOT NULL,
  thumb_url           text NOT NULL,
  default_message     text,
  route               json, -- json, not jsonb: the admin gets its keys back in the order given
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (parent_address IS DISTINCT FROM address)
);
CREATE INDEX directory_items_parent_idx ON directory_items (parent_address, position);

-- Registered users (admin import) and each user's address book (cmd_search_users).
CREATE TABLE users (
  msisdn     text PRIMARY KEY,
  hash       text NOT NULL UNIQUE,
  name       text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE address_book (
  owner_msisdn text NOT NULL,
  msisdn       text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (owner_msisdn, msisdn)
);

-- Conversations keyed by (user, channel, chat title), with the operator
-- episode inline, an optimistic version and the Genesys poller's lease.
CREATE TABLE conversations (
  id                       text PRIMARY KEY,
  user_jid                 text NOT NULL,
  msisdn                   text,
  channel                  text NOT NULL,
  chat_title               text NOT NULL,
  addressing_kind          text NOT NULL CHECK (addressing_kind IN ('channel', 'server')),
  server_address           text,
  api_version              text NOT NULL CHECK (api_version IN ('1', '2', '2.1')),
  os                       text CHECK (os IN ('web', 'android', 'ios')),
  app_version              text,
  premium                  boolean NOT NULL DEFAULT false,
  use_chat_dynamic         boolean NOT NULL DEFAULT false,
  lang                     text NOT NULL,
  state                    text NOT NULL CHECK (state IN ('bot', 'queued', 'operator', 'closed', 'voting')),
  bot_session              integer NOT NULL DEFAULT 0,
  bot_session_open         boolean NOT NULL DEFAULT false,
  bot_options              jsonb,
  episode_uuid             text,
  episode_service_name     text,
  genesys_chat_id          text,
  genesys_user_id          text,
  genesys_secure_key       text,
  genesys_alias            text,
  transcript_position      integer,
  queue_position           integer,
  notified_queue_position  integer,
  episode_requested_at     timestamptz,
  episode_joined_at        timestamptz,
  agent_nickname           text,
  episode_last_activity_at timestamptz,
  last_queued_notice_at    timestamptz,
  episode_ended_at         timestamptz,
  episode_end_code         text,
  voting_until             timestamptz,
  version                  integer NOT NULL DEFAULT 1,
  lease_owner              text,
  lease_until              timestamptz,
  created_at               timestamptz NOT NULL,
  updated_at               timestamptz NOT NULL,
  CONSTRAINT conversations_key UNIQUE (user_jid, channel, chat_title),
  CHECK ((addressing_kind = 'server') = (server_address IS NOT NULL)),
  CHECK (episode_uuid IS NOT NULL OR genesys_chat_id IS NULL)
);
CREATE INDEX conversations_updated_idx ON conversations (updated_at DESC);
CREATE INDEX conversations_state_updated_idx ON conversations (state, updated_at DESC);
CREATE INDEX conversations_open_episodes_idx ON conversations (state) WHERE genesys_chat_id IS NOT NULL;

-- Every message of a conversation (design.md rule 1); dedupe_key is unique per sender (rule 2).
CREATE TABLE messages (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  direction       text NOT NULL CHECK (direction IN ('in', 'out')),
  author          text NOT NULL CHECK (author IN ('user', 'bot', 'operator', 'router')),
  kind            text NOT NULL,
  text            text,
  payload         jsonb,
  sender          text NOT NULL,
  dedupe_key      text,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_dedupe UNIQUE (sender, dedupe_key)
);
CREATE INDEX messages_conversation_idx ON messages (conversation_id, id);

-- Durable outbox of deliveries to bots, clients and Genesys, with retry and claim locks.
CREATE TABLE outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  target          text NOT NULL,
  conversation_id text,
  payload         jsonb NOT NULL,
  idempotency_key text NOT NULL UNIQUE,
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error      text,
  locked_by       text,
  locked_until    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id);
CREATE INDEX outbox_order_idx ON outbox (conversation_id, target, id) WHERE conversation_id IS NOT NULL;

-- Fixed-window counters (cmd_search_users limits).
CREATE TABLE rate_limits (
  key          text NOT NULL,
  window_start timestamptz NOT NULL,
  count        integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
`,
};
