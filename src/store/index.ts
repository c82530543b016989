// The store: the database (pg or PGlite), migrated, and its repositories.
// The routing core and the adapters depend on the `Store` type only.
import type { Logging } from "../log.js";
import { keyRingFrom, type KeyRing } from "../security/keyring.js";
import type { DatabaseConfig, Db } from "./db.js";
import { archiveRepository, type ArchiveRepository } from "./archive.js";
import { attachmentRepository, type AttachmentRepository, type AttachmentStorage } from "./attachments.js";
import { callbackBookingRepository, type CallbackBookingRepository } from "./callback-bookings.js";
import { directoryRepository, type DirectoryRepository } from "./directory.js";
import { conversationRepository, type ConversationRepository } from "./conversations.js";
import { messageRepository, type MessageRepository } from "./messages.js";
import { migrate } from "./migrate.js";
import { openDb } from "./open-db.js";
import { outboxRepository, type OutboxRepository } from "./outbox.js";
import { rateLimitRepository, type RateLimitRepository } from "./rate-limits.js";
import { stepRepository, type StepRepository } from "./steps.js";
import { rootContext, savepoint, transaction, transactionContext, type RepoContext } from "./sql.js";
import { userRepository, type UserRepository } from "./users.js";

export interface Repositories {
  directory: DirectoryRepository;
  users: UserRepository;
  conversations: ConversationRepository;
  messages: MessageRepository;
  outbox: OutboxRepository;
  rateLimits: RateLimitRepository;
  steps: StepRepository;
  attachments: AttachmentRepository;
  archive: ArchiveRepository;
  callbackBookings: CallbackBookingRepository;
}

/** Repositories bound to one open transaction. */
export interface TransactionStore extends Repositories {
  /** A nested atomic section (a savepoint): rolled back alone when `fn` throws. */
  transaction<T>(fn: (store: TransactionStore) => Promise<T>): Promise<T>;
}

export interface Store extends Repositories {
  readonly db: Db;
  /**
   * Runs `fn` with repositories bound to one transaction: all of it commits
   * when `fn` resolves, none of it when `fn` throws (the error comes out
   * unchanged). NOTIFYs inside it are sent on commit. Use only the given
   * store inside `fn`.
   */
  transaction<T>(fn: (store: TransactionStore) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Where new attachments' bytes go (config attachments.storage); default in their rows. */
  attachments?: AttachmentStorage;
}

function repositories(ctx: RepoContext, keys: KeyRing, options: StoreOptions): Repositories {
  return {
    directory: directoryRepository(ctx, keys),
    users: userRepository(ctx),
    conversations: conversationRepository(ctx),
    messages: messageRepository(ctx),
    outbox: outboxRepository(ctx),
    rateLimits: rateLimitRepository(ctx),
    steps: stepRepository(ctx),
    attachments: attachmentRepository(ctx, options.attachments),
    archive: archiveRepository(ctx),
    callbackBookings: callbackBookingRepository(ctx),
  };
}

function transactionStore(ctx: RepoContext, keys: KeyRing, options: StoreOptions): TransactionStore {
  const store: TransactionStore = {
    ...repositories(ctx, keys, options),
    transaction: (fn) => savepoint(ctx.q, "transaction", () => fn(store)),
  };
  return store;
}

/** A store on a Db that is already open and migrated (tests, tools); `keys` seal secrets at rest (default: the development key). */
export function createStore(db: Db, keys: KeyRing = keyRingFrom(undefined), options: StoreOptions = {}): Store {
  let closed = false;
  return {
    db,
    ...repositories(rootContext(db), keys, options),
    transaction: (fn) => transaction(db, "transaction", (tx) => fn(transactionStore(transactionContext(db, tx), keys, options))),
    async close() {
      if (closed) return;
      closed = true;
      await db.close();
    },
  };
}

/** Opens the database named by the config (pg, or PGlite when `url` is unset) and migrates it. */
export async function openStore(config: DatabaseConfig, logging: Logging, keys?: KeyRing, options: StoreOptions = {}): Promise<Store> {
  const logger = logging.child("store");
  const db = await openDb(config, logger);
  try {
    await migrate(db, { logger });
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return createStore(db, keys, options);
}

export { isUniqueViolation, MISSED_NOTIFICATIONS } from "./db.js";
export { openDb } from "./open-db.js";
export type { Db, DatabaseConfig, Engine, Queryable, QueryResult } from "./db.js";
export { migrate, schemaVersion, SchemaTooNewError, SCHEMA_VERSION } from "./migrate.js";
export type { MigrateOptions, MigrateResult } from "./migrate.js";
export { DIRECTORY_CHANNEL } from "./directory.js";
export type { DirectoryRepository } from "./directory.js";
export type { UserInput, UserRepository } from "./users.js";
export { ConcurrentUpdateError, isConcurrentUpdate } from "./conversations.js";
export type { ConversationRepository, ListOptions, NewConversation } from "./conversations.js";
export { ROUTER_SENDER } from "./messages.js";
export type { MessageRepository } from "./messages.js";
export { OUTBOX_CHANNEL } from "./outbox.js";
export type { ClaimOptions, DeadLetter, EnqueuedItem, NewOutboxItem, OutboxItem, OutboxRepository, OutboxTarget } from "./outbox.js";
export type { RateLimitRepository, RateLimitResult } from "./rate-limits.js";
export type { AttachmentRepository, AttachmentStorage, NewAttachment, StoredAttachment } from "./attachments.js";
export { attachmentFiles, type AttachmentFiles } from "./attachment-files.js";
export type { Step, StepRepository, StepResult } from "./steps.js";
export type { CallbackBooking, CallbackBookingRepository } from "./callback-bookings.js";
