// protocol.md §6: the channel directory. The admin format (DirectoryTree of
// core/model.ts, with routes) is validated here; descJson renders the client
// view that goes into the vCard DESC (dynamic buddies).
import { z } from "zod";
import { IANAZone } from "luxon";
import { daysOf, intervalOf } from "../core/hours.js";
import type { DirectoryItem, DirectoryTree } from "../core/model.js";
import { fromZodError } from "./payloads.js";
import { fail, ok, type Result } from "./result.js";
import { findForbiddenInJson } from "./xml-chars.js";

/** "web" or "mobile" (android and ios), as items are published (§6). */
export type DirectoryPlatform = "web" | "mobile";

/**
 * A JID localpart the router hands out (RFC 7622 §3.3 allows far more; this
 * keeps addresses safe in every client and in thread route keys): lowercase
 * letters, digits, `_`, `-`, `.`; the UUID addresses of the source documents pass.
 */
export const ADDRESS_PATTERN = /^[a-z0-9_.-]{1,128}$/;
const Address = z.string().regex(ADDRESS_PATTERN, "must be 1 to 128 lowercase letters, digits, _, - or .");
const HttpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL" });
const UrlOrEmpty = z.union([z.literal(""), HttpUrl], { error: "must be empty or an http(s) URL" });

const infoFields = {
  name: z.string().min(1, "must not be empty").max(256),
  status: z.string().max(1024).default(""),
  imageUrl: UrlOrEmpty.default(""),
  thumbUrl: UrlOrEmpty.default(""),
};

/** backends.md section 2c: `{tz, week: {"mon-fri": ["09:00-18:00"]}, closed: ["2026-12-25"]}`. */
const HoursSchema = z.strictObject({
  tz: z.string().refine((tz) => IANAZone.isValidZone(tz), "must be an IANA time zone, e.g. Europe/Rome"),
  week: z.record(
    z.string().refine((k) => daysOf(k) !== null, "must be a day (mon…sun), a range (mon-fri) or a list (sat,sun)"),
    z.array(z.string().refine((t) => intervalOf(t) !== null, "must be HH:MM-HH:MM, the end after the start (24:00 allowed)")).max(24),
  ),
  closed: z
    .array(z.iso.date({ error: "must be a date YYYY-MM-DD" }))
    .max(1000)
    .optional(),
});

export const ChannelRouteSchema = z
  .strictObject({
    mode: z.enum(["bot", "operator", "bot+operator"], { error: "must be bot, operator or bot+operator" }),
    bot: z
      .strictObject({
        url: HttpUrl,
        timeoutMs: z.number().int().positive().optional(),
        secret: z.string().min(1).optional(),
        /** The bot drops a repeated messageId (backends.md section 1): a call that timed out may be made again. */
        idempotent: z.boolean().optional(),
      })
      .optional(),
    genesys: z
      .strictObject({
        serviceName: z.string().min(1, "must not be empty"),
        premiumServiceName: z.string().min(1).optional(),
        /** Further GMS services a bot's handoff `queue` may name (issue 13: a bot picks no other). */
        queues: z.array(z.string().min(1)).max(100).optional(),
      })
      .optional(),
    /** Opening hours of the operator service; unset: always open. */
    hours: HoursSchema.optional(),
    /** backends.md 2b: Genesys Cloud Open Messaging (in place of genesys). */
    genesysCloud: z
      .strictObject({
        integrationId: z.string().min(1, "must not be empty").max(200),
        queueId: z.string().min(1).max(200).optional(),
      })
      .optional(),
    /** Episodes waiting in the queue of a service (all instances) beyond which a handover is refused. */
    maxQueued: z.number().int().min(0).max(1_000_000).optional(),
    /** backends.md section 2c: a GMS Callback service (its execution name) books callbacks at a full queue, or "bot" asks the bot. */
    callback: z
      .union([z.literal("bot"), z.strictObject({ serviceName: z.string().min(1, "must not be empty").max(200) })], {
        error: 'must be "bot" or {"serviceName": "<GMS callback service>"}',
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.mode !== "operator" && r.bot === undefined) {
      ctx.addIssue({ code: "custom", path: ["bot", "url"], message: `route mode ${r.mode} needs bot.url` });
    }
    if (r.mode !== "bot" && r.genesys === undefined && r.genesysCloud === undefined) {
      ctx.addIssue({ code: "custom", path: ["genesys", "serviceName"], message: `route mode ${r.mode} needs genesys.serviceName` });
    }
    if (r.callback === "bot" && r.bot === undefined) {
      ctx.addIssue({ code: "custom", path: ["callback"], message: 'callback "bot" needs bot.url' });
    }
    if (typeof r.callback === "object" && r.genesys === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["callback", "serviceName"],
        message: "a GMS callback service needs genesys (GMS) on the route",
      });
    }
  });

export const DirectoryChannelSchema = z.strictObject({
  address: Address,
  type: z.literal("channel", { error: "a group contains channels only (groups do not nest)" }),
  serverAddress: Address.optional(),
  mobileIsPublished: z.boolean(),
  webIsPublished: z.boolean(),
  info: z.strictObject({ ...infoFields, defaultMessage: z.string().max(4096).optional() }),
  route: ChannelRouteSchema,
});

export const DirectoryGroupSchema = z.strictObject({
  address: Address,
  type: z.literal("group"),
  mobileIsPublished: z.boolean(),
  webIsPublished: z.boolean(),
  info: z.strictObject(infoFields),
  items: z.array(DirectoryChannelSchema).default([]),
});

/**
 * The admin format of the directory. Channels need a route (and the route
 * the backends its mode uses); groups hold channels, one level deep (the
 * client format of the source documents: groups of channels). Addresses of
 * groups and channels are unique across the tree; a serverAddress is shared.
 */
export const DirectoryTreeSchema = z
  .strictObject({
    items: z.array(
      z.discriminatedUnion("type", [DirectoryGroupSchema, DirectoryChannelSchema], { error: 'type must be "group" or "channel"' }),
    ),
  })
  .superRefine((tree, ctx) => {
    const seen = new Set<string>();
    const check = (address: string, path: (string | number)[]) => {
      if (seen.has(address)) ctx.addIssue({ code: "custom", path: [...path, "address"], message: `duplicate address ${address}` });
      seen.add(address);
    };
    tree.items.forEach((item, i) => {
      check(item.address, ["items", i]);
      if (item.type === "group") item.items.forEach((c, j) => check(c.address, ["items", i, "items", j]));
    });
  });

// The schema's output is the model's type.
type Parsed = z.output<typeof DirectoryTreeSchema>;
const _sameShape: (t: Parsed) => DirectoryTree = (t) => t;
void _sameShape;

/** Validates an admin tree; the error field is the path, e.g. "items.0.route.bot.url". */
export function parseDirectoryTree(input: unknown): Result<DirectoryTree> {
  const r = DirectoryTreeSchema.safeParse(input);
  if (!r.success) {
    const error = fromZodError(r.error, "");
    return { ok: false, error: { ...error, field: error.field === "" ? "directory" : error.field } };
  }
  // Names, statuses and default messages go into vCards and messages: none may break the stream.
  const forbidden = findForbiddenInJson(r.data);
  if (forbidden !== undefined) return fail("BAD_REQUEST", forbidden.path, `holds ${forbidden.char}, a character XML 1.0 forbids`);
  return ok(r.data);
}

export function platformOfResource(resource: string | null | undefined): DirectoryPlatform | null {
  const r = (resource ?? "").toLowerCase();
  if (r.startsWith("web")) return "web";
  if (r.startsWith("android") || r.startsWith("ios")) return "mobile";
  return null;
}

export function platformOfOs(os: string | null | undefined): DirectoryPlatform | null {
  if (os === "web") return "web";
  if (os === "android" || os === "ios") return "mobile";
  return null;
}

function shownOn(item: DirectoryItem, platform: DirectoryPlatform | null): boolean {
  if (!item.mobileIsPublished && !item.webIsPublished) return false;
  if (platform === "web") return item.webIsPublished;
  if (platform === "mobile") return item.mobileIsPublished;
  return true;
}

/**
 * The items a client sees, in the configured order. Items published on
 * neither platform are left out; with a platform, items not published on it
 * too. A group with no channel left (by filtering, or configured empty) is
 * left out as well: a client author would not want to show an empty folder.
 */
export function visibleItems(tree: DirectoryTree, platform: DirectoryPlatform | null = null): DirectoryItem[] {
  const out: DirectoryItem[] = [];
  for (const item of tree.items) {
    if (!shownOn(item, platform)) continue;
    if (item.type === "group") {
      const items = (item.items ?? []).filter((c) => c.type === "channel" && shownOn(c, platform));
      if (items.length > 0) out.push({ ...item, items });
    } else {
      out.push(item);
    }
  }
  return out;
}

/** The client JSON of one item, keys in the order of §6, never `route`. */
function descItem(item: DirectoryItem): Record<string, unknown> {
  const o: Record<string, unknown> = { address: item.address, type: item.type };
  if (item.serverAddress !== undefined && item.serverAddress !== "") o["serverAddress"] = item.serverAddress;
  o["mobileIsPublished"] = item.mobileIsPublished;
  o["webIsPublished"] = item.webIsPublished;
  const info: Record<string, unknown> = {
    name: item.info.name,
    status: item.info.status,
    imageUrl: item.info.imageUrl,
    thumbUrl: item.info.thumbUrl,
  };
  // Channels always carry defaultMessage ("" when unset) so clients see one shape.
  if (item.type === "channel") info["defaultMessage"] = item.info.defaultMessage ?? "";
  o["info"] = info;
  if (item.type === "group") o["items"] = (item.items ?? []).map(descItem);
  return o;
}

/**
 * The DESC of the directory vCard (§6): compact JSON `{"items":[...]}`.
 * `platform` null or absent: no platform filter (unknown platform, or
 * config protocol.platformFilter off).
 */
export function descJson(tree: DirectoryTree, platform: DirectoryPlatform | null = null): string {
  return JSON.stringify({ items: visibleItems(tree, platform).map(descItem) });
}

/** The group or channel with this address. */
export function findItem(tree: DirectoryTree, address: string): DirectoryItem | undefined {
  for (const item of tree.items) {
    if (item.address === address) return item;
    const inner = item.items?.find((c) => c.address === address);
    if (inner !== undefined) return inner;
  }
  return undefined;
}

/** Every channel, groups flattened, in the configured order. */
export function channelsOf(tree: DirectoryTree): DirectoryItem[] {
  const out: DirectoryItem[] = [];
  for (const item of tree.items) {
    if (item.type === "channel") out.push(item);
    else for (const c of item.items ?? []) if (c.type === "channel") out.push(c);
  }
  return out;
}
