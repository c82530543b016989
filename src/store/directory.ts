// The channel directory (protocol.md section 6; operations.md admin API):
// groups and channels as an ordered tree. Every change NOTIFYs
// `directory_changed` in its own transaction, so every instance drops its cache.
// Route secrets are sealed on every write and opened on read
// (security/route-secrets.ts); the database never holds them in clear.
import type { DirectoryItem, DirectoryTree, ItemInfo } from "../core/model.js";
import { RouterError } from "../errors.js";
import type { KeyRing } from "../security/keyring.js";
import { needsReseal, openRoute, sealRoute, type StoredRoute } from "../security/route-secrets.js";
import { MISSED_NOTIFICATIONS, type Queryable } from "./db.js";
import { json, run, toSqlError, type RepoContext } from "./sql.js";

export const DIRECTORY_CHANNEL = "directory_changed";

export interface DirectoryRepository {
  /** The whole tree, ordered and nested, in the admin format (with routes). */
  getTree(): Promise<DirectoryTree>;
  /** Replaces the whole tree in one transaction. */
  replaceTree(tree: DirectoryTree): Promise<void>;
  /**
   * Inserts or replaces one channel or group under `parentAddress` (a group,
   * or null for the top level). A new item, or one moved to another parent,
   * goes at the end; one that stays keeps its place. A group given with
   * `items` gets exactly those children; without `items` it keeps its own.
   */
  putItem(item: DirectoryItem, parentAddress: string | null): Promise<{ created: boolean }>;
  /** Deletes a channel, or a group with everything in it; false when there was none. */
  deleteItem(address: string): Promise<boolean>;
  isEmpty(): Promise<boolean>;
  /**
   * Calls `cb` after every committed change, on every instance: with the
   * address changed, or null when the whole tree may have changed.
   */
  onDirectoryChanged(cb: (address: string | null) => void): Promise<() => Promise<void>>;
  /**
   * Seals again every route secret stored in clear (written before sealing
   * existed) or under a key that is no longer the current one (a rotation);
   * returns how many channels were rewritten.
   */
  resealSecrets(): Promise<number>;
}

interface DirectoryRow {
  address: string;
  type: "group" | "channel";
  parent_address: string | null;
  position: number;
  server_address: string | null;
  mobile_is_published: boolean;
  web_is_published: boolean;
  name: string;
  status: string;
  image_url: string;
  thumb_url: string;
  default_message: string | null;
  route: StoredRoute | null;
}

function toItem(row: DirectoryRow, children: DirectoryItem[], keys: KeyRing): DirectoryItem {
  const info: ItemInfo = { name: row.name, status: row.status, imageUrl: row.image_url, thumbUrl: row.thumb_url };
  if (row.type === "channel" && row.default_message !== null) info.defaultMessage = row.default_message;
  return {
    address: row.address,
    type: row.type,
    ...(row.server_address !== null ? { serverAddress: row.server_address } : {}),
    mobileIsPublished: row.mobile_is_published,
    webIsPublished: row.web_is_published,
    info,
    ...(row.type === "group" ? { items: children } : {}),
    ...(row.type === "channel" && row.route !== null ? { route: openRoute(row.route, row.address, keys) } : {}),
  };
}

interface FlatItem {
  item: DirectoryItem;
  parent: string | null;
  position: number;
}

/** Pre-order: every parent before its children. */
function flatten(items: readonly DirectoryItem[], parent: string | null, out: FlatItem[] = []): FlatItem[] {
  items.forEach((item, position) => {
    out.push({ item, parent, position });
    if (item.type === "group" && item.items) flatten(item.items, item.address, out);
  });
  return out;
}

function validate(flat: readonly FlatItem[]): void {
  const seen = new Set<string>();
  for (const { item } of flat) {
    if (seen.has(item.address)) {
      throw new RouterError("BAD_REQUEST", `address ${item.address} appears twice in the directory`, { field: "address" });
    }
    seen.add(item.address);
    if (item.type === "channel" && item.items && item.items.length > 0) {
      throw new RouterError("BAD_REQUEST", `channel ${item.address} cannot have items`, { field: "items" });
    }
  }
}

const INSERT_ITEMS = `
INSERT INTO directory_items (address, type, parent_address, position, server_address, mobile_is_published,
  web_is_published, name, status, image_url, thumb_url, default_message, route)
SELECT t.address, t.type, t.parent_address, t.position, t.server_address, t.mobile, t.web,
  t.name, t.status, t.image_url, t.thumb_url, t.default_message, t.route::json
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::bool[], $7::bool[],
  $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
  AS t(address, type, parent_address, position, server_address, mobile, web,
  name, status, image_url, thumb_url, default_message, route)`;

const storedRoute = (item: DirectoryItem, keys: KeyRing) =>
  item.type === "channel" && item.route ? json(sealRoute(item.route, item.address, keys)) : null;

async function insertItems(q: Queryable, flat: readonly FlatItem[], keys: KeyRing): Promise<void> {
  if (flat.length === 0) return;
  const col = <T>(f: (x: FlatItem) => T) => flat.map(f);
  await run(q, "directory insert", INSERT_ITEMS, [
    col((x) => x.item.address),
    col((x) => x.item.type),
    col((x) => x.parent),
    col((x) => x.position),
    col((x) => x.item.serverAddress ?? null),
    col((x) => x.item.mobileIsPublished),
    col((x) => x.item.webIsPublished),
    col((x) => x.item.info.name),
    col((x) => x.item.info.status),
    col((x) => x.item.info.imageUrl),
    col((x) => x.item.info.thumbUrl),
    col((x) => (x.item.type === "channel" ? (x.item.info.defaultMessage ?? null) : null)),
    col((x) => storedRoute(x.item, keys)),
  ]);
}

async function notifyChanged(q: Queryable, address: string | null): Promise<void> {
  await run(q, "directory notify", "SELECT pg_notify($1::text, $2::text)", [DIRECTORY_CHANNEL, address ?? MISSED_NOTIFICATIONS]);
}

export function directoryRepository(ctx: RepoContext, keys: KeyRing): DirectoryRepository {
  return {
    async getTree() {
      const { rows } = await run<DirectoryRow>(
        ctx.q,
        "directory get",
        `SELECT address, type, parent_address, position, server_address, mobile_is_published, web_is_published,
           name, status, image_url, thumb_url, default_message, route
         FROM directory_items ORDER BY position, address`,
      );
      const children = new Map<string | null, DirectoryRow[]>();
      for (const row of rows) {
        const list = children.get(row.parent_address);
        if (list) list.push(row);
        else children.set(row.parent_address, [row]);
      }
      const build = (parent: string | null): DirectoryItem[] =>
        (children.get(parent) ?? []).map((row) => toItem(row, row.type === "group" ? build(row.address) : [], keys));
      return { items: build(null) };
    },

    async replaceTree(tree) {
      const flat = flatten(tree.items, null);
      validate(flat);
      await ctx.atomic("directory replace", async (q) => {
        await run(q, "directory replace", "DELETE FROM directory_items");
        await insertItems(q, flat, keys);
        await notifyChanged(q, null);
      });
    },

    async putItem(item, parentAddress) {
      const subtree = flatten([item], parentAddress);
      validate(subtree);
      return ctx.atomic("directory put", async (q) => {
        if (parentAddress !== null) {
          if (parentAddress === item.address) {
            throw new RouterError("BAD_REQUEST", `${item.address} cannot be its own parent`, { field: "parent" });
          }
          // The parent and its ancestors: the parent must be a group, and not inside the item itself.
          const { rows: ancestors } = await run<{ address: string; type: string; depth: number }>(
            q,
            "directory put",
            `WITH RECURSIVE up AS (
               SELECT address, type, parent_address, 0 AS depth FROM directory_items WHERE address = $1::text
               UNION ALL
               SELECT d.address, d.type, d.parent_address, up.depth + 1
               FROM directory_items d JOIN up ON d.address = up.parent_address WHERE up.depth < 100
             ) SELECT address, type, depth FROM up`,
            [parentAddress],
          );
          const parent = ancestors.find((a) => a.depth === 0);
          if (!parent || parent.type !== "group") {
            throw new RouterError("BAD_REQUEST", `parent ${parentAddress} is not a group of the directory`, { field: "parent" });
          }
          if (ancestors.some((a) => a.address === item.address)) {
            throw new RouterError("BAD_REQUEST", `${item.address} cannot move inside itself`, { field: "parent" });
          }
        }
        const { rows: existing } = await run<{ parent_address: string | null; position: number; type: string }>(
          q,
          "directory put",
          "SELECT parent_address, position, type FROM directory_items WHERE address = $1::text FOR UPDATE",
          [item.address],
        );
        const before = existing[0];
        let position: number;
        if (before && before.parent_address === parentAddress) {
          position = before.position;
        } else {
          const { rows } = await run<{ p: number }>(
            q,
            "directory put",
            `SELECT COALESCE(MAX(position) + 1, 0)::int AS p FROM directory_items
             WHERE parent_address IS NOT DISTINCT FROM $1::text AND address <> $2::text`,
            [parentAddress, item.address],
          );
          position = rows[0]?.p ?? 0;
        }
        const replaceChildren = before && (item.type === "channel" || item.items !== undefined);
        if (replaceChildren) {
          await run(q, "directory put", "DELETE FROM directory_items WHERE parent_address = $1::text", [item.address]);
        }
        const descendants = subtree.slice(1);
        if (descendants.length > 0) {
          const { rows: taken } = await run<{ address: string }>(
            q,
            "directory put",
            "SELECT address FROM directory_items WHERE address = ANY($1::text[])",
            [descendants.map((d) => d.item.address)],
          );
          if (taken[0]) {
            throw new RouterError("BAD_REQUEST", `address ${taken[0].address} already exists elsewhere in the directory`, {
              field: "address",
            });
          }
        }
        await run(
          q,
          "directory put",
          `INSERT INTO directory_items (address, type, parent_address, position, server_address, mobile_is_published,
             web_is_published, name, status, image_url, thumb_url, default_message, route)
           VALUES ($1::text, $2::text, $3::text, $4::int, $5::text, $6::bool, $7::bool, $8::text, $9::text, $10::text,
             $11::text, $12::text, $13::json)
           ON CONFLICT (address) DO UPDATE SET type = EXCLUDED.type, parent_address = EXCLUDED.parent_address,
             position = EXCLUDED.position, server_address = EXCLUDED.server_address,
             mobile_is_published = EXCLUDED.mobile_is_published, web_is_published = EXCLUDED.web_is_published,
             name = EXCLUDED.name, status = EXCLUDED.status, image_url = EXCLUDED.image_url,
             thumb_url = EXCLUDED.thumb_url, default_message = EXCLUDED.default_message, route = EXCLUDED.route,
             updated_at = now()`,
          [
            item.address,
            item.type,
            parentAddress,
            position,
            item.serverAddress ?? null,
            item.mobileIsPublished,
            item.webIsPublished,
            item.info.name,
            item.info.status,
            item.info.imageUrl,
            item.info.thumbUrl,
            item.type === "channel" ? (item.info.defaultMessage ?? null) : null,
            storedRoute(item, keys),
          ],
        );
        await insertItems(q, descendants, keys);
        await notifyChanged(q, item.address);
        return { created: !before };
      });
    },

    async deleteItem(address) {
      return ctx.atomic("directory delete", async (q) => {
        const { rowCount } = await run(q, "directory delete", "DELETE FROM directory_items WHERE address = $1::text", [address]);
        if (rowCount > 0) await notifyChanged(q, address);
        return rowCount > 0;
      });
    },

    async resealSecrets() {
      return ctx.atomic("directory reseal", async (q) => {
        const { rows } = await run<{ address: string; route: StoredRoute }>(
          q,
          "directory reseal",
          "SELECT address, route FROM directory_items WHERE type = 'channel' AND route IS NOT NULL FOR UPDATE",
        );
        const stale = rows.filter((r) => needsReseal(r.route, keys));
        for (const r of stale) {
          const route = json(sealRoute(openRoute(r.route, r.address, keys), r.address, keys));
          await run(q, "directory reseal", "UPDATE directory_items SET route = $2::json WHERE address = $1::text", [r.address, route]);
        }
        return stale.length;
      });
    },

    async isEmpty() {
      const { rows } = await run<{ e: boolean }>(ctx.q, "directory empty", "SELECT NOT EXISTS (SELECT 1 FROM directory_items) AS e");
      return rows[0]?.e ?? true;
    },

    async onDirectoryChanged(cb) {
      try {
        return await ctx.db.listen(DIRECTORY_CHANNEL, (payload) => cb(payload === MISSED_NOTIFICATIONS ? null : payload));
      } catch (err) {
        throw toSqlError("directory listen", err);
      }
    },
  };
}
