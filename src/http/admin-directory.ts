// The channel directory in the admin format (operations.md "HTTP"; the DESC
// format of protocol.md section 6 plus each channel's `route`). Edits go
// through the store, which NOTIFYs every instance in the same transaction,
// so each one drops its directory cache and the next vCard shows the edit.
//   GET    /admin/directory             200 the whole tree
//   PUT    /admin/directory             200 the tree as stored; 400 with field paths (items.0.route.bot.url)
//   GET    /admin/channels/{address}    200 the item with its `parent`; 404
//   PUT    /admin/channels/{address}    201 created / 200 replaced: the item with its `parent`; 400
//   DELETE /admin/channels/{address}    204; 404 (a group goes with its channels)
// Secrets are write-only (issue 13): no answer names `route.bot.secret` (the
// response schemas of schemas.ts leave it out; `hasSecret` says whether one is
// set); a PUT that omits a channel's secret keeps the stored one, an explicit
// `"secret": null` removes it.
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { DirectoryItem, DirectoryTree } from "../core/model.js";
import { ADDRESS_PATTERN, DirectoryChannelSchema, DirectoryGroupSchema, DirectoryTreeSchema } from "../protocol/directory.js";
import { HttpError, badRequest, zodFields, type FieldError } from "./errors.js";
import type { AdminDeps } from "./admin-deps.js";
import { targetProblem } from "../security/targets.js";
import { DirectoryBody, DirectoryResponse, ERROR_RESPONSES, ItemBody, ItemResponse, NoContent } from "./schemas.js";

const ItemSchema = z.discriminatedUnion("type", [DirectoryGroupSchema, DirectoryChannelSchema], {
  error: 'type must be "group" or "channel"',
});

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every bot URL of the items the router would call, with its field path; refused ones as field errors (security/targets.ts). */
async function checkTargets(deps: AdminDeps, items: readonly DirectoryItem[], prefix: string[]): Promise<void> {
  const policy = { allowPrivateTargets: deps.config.security.allowPrivateTargets };
  const urls: { field: string; url: string }[] = [];
  const add = (item: DirectoryItem, path: string[]) => {
    if (item.route?.bot) urls.push({ field: [...path, "route", "bot", "url"].join("."), url: item.route.bot.url });
  };
  items.forEach((item, i) => {
    const path = prefix.length === 0 ? [] : [...prefix, String(i)];
    add(item, path);
    item.items?.forEach((c, j) => add(c, [...path, "items", String(j)]));
  });
  const problems = await Promise.all(urls.map(async (u) => ({ field: u.field, message: await targetProblem(u.url, policy) })));
  const fields = problems.filter((p): p is FieldError => p.message !== null);
  if (fields.length > 0) throw badRequest(fields);
}

/** Channels of a parsed-JSON body (top level and inside groups), as they were sent. */
function bodyChannels(body: unknown): Record<string, unknown>[] {
  if (!isPlainObject(body)) return [];
  const items = Array.isArray(body.items) ? body.items.filter(isPlainObject) : [];
  const nested = items.flatMap((i) => (Array.isArray(i.items) ? i.items.filter(isPlainObject) : []));
  return [...(body.type === "channel" ? [body] : []), ...items.filter((i) => i.type === "channel"), ...nested];
}

/**
 * Takes every `route.bot.secret: null` out of the body; returns the addresses whose secret is to be removed.
 * `hasSecret` is read-only: a GET answer sent back as a PUT is accepted, the flag ignored.
 */
function takeSecretRemovals(body: unknown): Set<string> {
  const removed = new Set<string>();
  for (const channel of bodyChannels(body)) {
    const bot = isPlainObject(channel.route) && isPlainObject(channel.route.bot) ? channel.route.bot : undefined;
    if (bot) delete bot.hasSecret;
    if (bot && "secret" in bot && bot.secret === null) {
      delete bot.secret;
      if (typeof channel.address === "string") removed.add(channel.address);
    }
  }
  return removed;
}

function channelsOf(items: readonly DirectoryItem[]): DirectoryItem[] {
  return items.flatMap((i) => (i.type === "group" ? (i.items ?? []) : [i]));
}

/** A channel sent without a secret keeps the one stored for its address, unless its removal was asked for. */
async function keepStoredSecrets(deps: AdminDeps, items: readonly DirectoryItem[], removed: ReadonlySet<string>): Promise<void> {
  const keep = channelsOf(items).filter((c) => c.route?.bot && c.route.bot.secret === undefined && !removed.has(c.address));
  if (keep.length === 0) return;
  const stored = new Map(channelsOf((await deps.store().directory.getTree()).items).map((c) => [c.address, c.route?.bot?.secret] as const));
  for (const c of keep) {
    const secret = stored.get(c.address);
    if (secret !== undefined) c.route!.bot!.secret = secret;
  }
}

/** What the admin sees of an item: `hasSecret` beside the bot URL (the secret itself is dropped by the response schema). */
function view(item: DirectoryItem): DirectoryItem {
  const bot = item.route?.bot;
  return {
    ...item,
    ...(item.items ? { items: item.items.map(view) } : {}),
    ...(item.route && bot ? { route: { ...item.route, bot: { ...bot, hasSecret: bot.secret !== undefined } } } : {}),
  } as DirectoryItem;
}

const viewTree = (tree: DirectoryTree): DirectoryTree => ({ items: tree.items.map(view) });

/** The item with this address and the address of the group holding it (null: top level). */
function locate(tree: DirectoryTree, address: string): { item: DirectoryItem; parent: string | null } | undefined {
  for (const item of tree.items) {
    if (item.address === address) return { item, parent: null };
    const inner = item.items?.find((c) => c.address === address);
    if (inner) return { item: inner, parent: item.address };
  }
  return undefined;
}

/** A PUT /admin/channels body: the item (address taken from the path when absent) and its parent. */
function parseItemBody(address: string, body: unknown): { item: DirectoryItem; parent: string | null } {
  if (!ADDRESS_PATTERN.test(address)) {
    throw badRequest([{ field: "address", message: "must be 1 to 128 lowercase letters, digits, _, - or ." }]);
  }
  if (!isPlainObject(body)) throw badRequest([{ field: "body", message: "must be a JSON object (a channel or a group)" }]);
  const { parent = null, ...rest } = body;
  const fields: FieldError[] = [];
  if (parent !== null && (typeof parent !== "string" || !ADDRESS_PATTERN.test(parent))) {
    fields.push({ field: "parent", message: "must be the address of a group, or null for the top level" });
  }
  if (rest.address !== undefined && rest.address !== address) {
    fields.push({ field: "address", message: "must be the address in the path, or left out" });
  }
  const parsed = ItemSchema.safeParse({ ...rest, address });
  if (!parsed.success) fields.push(...zodFields(parsed.error));
  if (fields.length > 0 || !parsed.success) throw badRequest(fields);
  const item: DirectoryItem = parsed.data;
  if (item.type === "group") {
    if (parent !== null) throw badRequest([{ field: "parent", message: "groups do not nest: a group is always at the top level" }]);
    // A group given without items keeps its channels (the schema's default would empty it).
    if (!("items" in rest)) delete item.items;
  }
  return { item, parent: parent as string | null };
}

export function directoryRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const address = { type: "object", properties: { address: { type: "string" } }, required: ["address"] };
  const directory = { response: { 200: DirectoryResponse, ...ERROR_RESPONSES } };
  const oneItem = { params: address, response: { 200: ItemResponse, 201: ItemResponse, ...ERROR_RESPONSES } };

  app.get("/directory", { schema: directory }, async () => viewTree(await deps.store().directory.getTree()));

  app.put("/directory", { bodyLimit: deps.bodyLimitBytes, schema: { ...directory, body: DirectoryBody() } }, async (request) => {
    const removed = takeSecretRemovals(request.body);
    const parsed = DirectoryTreeSchema.safeParse(request.body);
    if (!parsed.success) throw badRequest(zodFields(parsed.error));
    await checkTargets(deps, parsed.data.items, ["items"]);
    await keepStoredSecrets(deps, parsed.data.items, removed);
    const store = deps.store();
    await store.directory.replaceTree(parsed.data);
    request.log.info({ items: parsed.data.items.length }, "directory replaced through the admin API");
    return viewTree(await store.directory.getTree());
  });

  app.get<{ Params: { address: string } }>(
    "/channels/:address",
    { schema: { params: address, response: { 200: ItemResponse, ...ERROR_RESPONSES } } },
    async (request) => {
      const found = locate(await deps.store().directory.getTree(), request.params.address);
      if (!found) throw new HttpError("NO_CHANNEL_FOUND", "no channel or group of the directory has this address");
      return { ...view(found.item), parent: found.parent };
    },
  );

  app.put<{ Params: { address: string } }>(
    "/channels/:address",
    { bodyLimit: deps.bodyLimitBytes, schema: { ...oneItem, body: ItemBody() } },
    async (request, reply) => {
      const removed = takeSecretRemovals(request.body);
      const { item, parent } = parseItemBody(request.params.address, request.body);
      await checkTargets(deps, [item], []);
      await keepStoredSecrets(deps, [item], removed);
      const store = deps.store();
      const { created } = await store.directory.putItem(item, parent);
      request.log.info({ address: item.address, type: item.type, created }, "directory item put through the admin API");
      const found = locate(await store.directory.getTree(), item.address);
      // Read back what was stored; a concurrent delete in between leaves what was sent.
      const stored = found ?? { item, parent };
      return reply.code(created ? 201 : 200).send({ ...view(stored.item), parent: stored.parent });
    },
  );

  app.delete<{ Params: { address: string } }>(
    "/channels/:address",
    { schema: { params: address, response: { 204: NoContent, ...ERROR_RESPONSES } } },
    async (request, reply) => {
      const deleted = await deps.store().directory.deleteItem(request.params.address);
      if (!deleted) throw new HttpError("NO_CHANNEL_FOUND", "no channel or group of the directory has this address");
      request.log.info({ address: request.params.address }, "directory item deleted through the admin API");
      return reply.code(204).send();
    },
  );
}
