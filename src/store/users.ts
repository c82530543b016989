// Registered users (admin import) and each user's address book
// (protocol.md section 7, cmd_search_users). MSISDNs arrive normalised
// (protocol/ owns normalisation and the protocol's unkeyed hash,
// which cmd_search_users with `hashed: true` compares against).
import type { User } from "../core/model.js";
import { msisdnHash } from "../protocol/msisdn.js";
import { run, type RepoContext } from "./sql.js";

export interface UserInput {
  /** Normalised MSISDN. */
  msisdn: string;
  /** Omitted or null: a new user gets none, an existing one keeps theirs. */
  name?: string | null;
}

export interface UserRepository {
  /** Inserts or updates users in one statement; returns how many distinct MSISDNs were written. */
  upsertMany(users: readonly UserInput[]): Promise<number>;
  delete(msisdn: string): Promise<boolean>;
  get(msisdn: string): Promise<User | null>;
  /** The registered ones among `msisdns`, in MSISDN order. */
  findByMsisdns(msisdns: readonly string[]): Promise<User[]>;
  /** The registered ones among `hashes` (any case), in MSISDN order. */
  findByHashes(hashes: readonly string[]): Promise<User[]>;
  count(): Promise<number>;
  /** Replaces the owner's address book with `msisdns` (duplicates collapse). */
  replaceAddressBook(ownerMsisdn: string, msisdns: readonly string[]): Promise<void>;
  /** The owner's address book, in MSISDN order. */
  addressBook(ownerMsisdn: string): Promise<string[]>;
  inAddressBook(ownerMsisdn: string, msisdn: string): Promise<boolean>;
}

interface UserRow {
  msisdn: string;
  hash: string;
  name: string | null;
}

const toUser = (row: UserRow): User => ({ msisdn: row.msisdn, hash: row.hash, name: row.name });

export function userRepository(ctx: RepoContext): UserRepository {
  return {
    async upsertMany(users) {
      // One row per MSISDN (the last wins): ON CONFLICT DO UPDATE may not touch a row twice.
      const byMsisdn = new Map<string, string | null>();
      for (const u of users) byMsisdn.set(u.msisdn, u.name ?? null);
      if (byMsisdn.size === 0) return 0;
      const msisdns = [...byMsisdn.keys()];
      const { rowCount } = await run(
        ctx.q,
        "users upsert",
        `INSERT INTO users (msisdn, hash, name)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
         ON CONFLICT (msisdn) DO UPDATE SET name = COALESCE(EXCLUDED.name, users.name), updated_at = now()`,
        [msisdns, msisdns.map(msisdnHash), [...byMsisdn.values()]],
      );
      return rowCount;
    },

    async delete(msisdn) {
      const { rowCount } = await run(ctx.q, "users delete", "DELETE FROM users WHERE msisdn = $1::text", [msisdn]);
      return rowCount > 0;
    },

    async get(msisdn) {
      const { rows } = await run<UserRow>(ctx.q, "users get", "SELECT msisdn, hash, name FROM users WHERE msisdn = $1::text", [msisdn]);
      return rows[0] ? toUser(rows[0]) : null;
    },

    async findByMsisdns(msisdns) {
      if (msisdns.length === 0) return [];
      const { rows } = await run<UserRow>(
        ctx.q,
        "users find",
        "SELECT msisdn, hash, name FROM users WHERE msisdn = ANY($1::text[]) ORDER BY msisdn",
        [[...new Set(msisdns)]],
      );
      return rows.map(toUser);
    },

    async findByHashes(hashes) {
      if (hashes.length === 0) return [];
      const { rows } = await run<UserRow>(
        ctx.q,
        "users find",
        "SELECT msisdn, hash, name FROM users WHERE hash = ANY($1::text[]) ORDER BY msisdn",
        [[...new Set(hashes.map((h) => h.toLowerCase()))]],
      );
      return rows.map(toUser);
    },

    async count() {
      const { rows } = await run<{ n: number }>(ctx.q, "users count", "SELECT count(*)::int AS n FROM users");
      return rows[0]?.n ?? 0;
    },

    async replaceAddressBook(ownerMsisdn, msisdns) {
      await ctx.atomic("address book replace", async (q) => {
        await run(q, "address book replace", "DELETE FROM address_book WHERE owner_msisdn = $1::text", [ownerMsisdn]);
        if (msisdns.length === 0) return;
        await run(
          q,
          "address book replace",
          `INSERT INTO address_book (owner_msisdn, msisdn)
           SELECT $1::text, m FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING`,
          [ownerMsisdn, [...new Set(msisdns)]],
        );
      });
    },

    async addressBook(ownerMsisdn) {
      const { rows } = await run<{ msisdn: string }>(
        ctx.q,
        "address book get",
        "SELECT msisdn FROM address_book WHERE owner_msisdn = $1::text ORDER BY msisdn",
        [ownerMsisdn],
      );
      return rows.map((r) => r.msisdn);
    },

    async inAddressBook(ownerMsisdn, msisdn) {
      const { rows } = await run<{ e: boolean }>(
        ctx.q,
        "address book check",
        "SELECT EXISTS (SELECT 1 FROM address_book WHERE owner_msisdn = $1::text AND msisdn = $2::text) AS e",
        [ownerMsisdn, msisdn],
      );
      return rows[0]?.e ?? false;
    },
  };
}
