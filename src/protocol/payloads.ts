// protocol.md §3 (payload.data), §4 (conversation messages) and §7
// (commands): zod schemas for the JSON inside <payload>, and the decoder
// that turns an XElement into a typed payload.
import { z } from "zod";
import type { ApiVersion, Platform } from "../core/model.js";
import type { ErrorCode } from "../errors.js";
import { fail, ok, type ProtocolError, type Result } from "./result.js";
import type { XElement } from "./x-element.js";
import { xmlSafeText } from "./xml-chars.js";

export interface PayloadLimits {
  /** Config `protocol.maxTextLength`: Unicode code points of a text. */
  maxTextLength: number;
  /** Config `protocol.maxListEntries`: entries of channelUsers / userList. */
  maxListEntries: number;
}

export const API_VERSIONS: readonly ApiVersion[] = ["1", "2", "2.1"];
export const PLATFORMS: readonly Platform[] = ["web", "android", "ios"];

/**
 * `payload.data` of a client message (§3). Unknown keys are kept (so a newer
 * client's extra fields reach logs and metadata) but the router ignores them.
 */
export interface ConversationData {
  /** Normalised: number 1/2/2.1 or string "1"/"2"/"2.1"; missing is "1". */
  apiVersion: ApiVersion;
  os?: Platform;
  appVersion?: string;
  premium?: boolean;
  /** The login token: never log it, never forward it (§3). */
  token?: string;
  useChatDynamic?: boolean;
  resetSession?: boolean;
  [key: string]: unknown;
}

export interface ChannelUser {
  name?: string;
  /** A user MSISDN (any writing normalizeMsisdn accepts) or a channel address. */
  address: string;
}

export type TypedPayload =
  | { type: "chat_text"; text: string; data: ConversationData }
  | { type: "chat_dynamic"; text: string; data: ConversationData }
  | { type: "chat_interactive"; text: string; data: ConversationData }
  | { type: "chat_notice"; code: string; data: ConversationData }
  | { type: "cmd_add_to_roster"; channelUsers: ChannelUser[] }
  | { type: "cmd_search_users"; userList: string[]; hashed: boolean };

/** Longest notice code, name, address or userList entry accepted. */
const MAX_SHORT_STRING = 256;

/** Number of Unicode code points (what "chars" means in §4), not UTF-16 units. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

const ApiVersionSchema = z
  .union([z.literal(1), z.literal(2), z.literal(2.1), z.literal("1"), z.literal("2"), z.literal("2.1")], {
    error: "must be 1, 2 or 2.1 (number or string)",
  })
  .optional()
  .transform((v): ApiVersion => (v === undefined ? "1" : (String(v) as ApiVersion)));

export const ConversationDataSchema = z.looseObject({
  apiVersion: ApiVersionSchema,
  os: z.enum(["web", "android", "ios"], { error: "must be web, android or ios" }).optional(),
  appVersion: z.string().max(MAX_SHORT_STRING).optional(),
  premium: z.boolean().optional(),
  token: z.string().optional(),
  useChatDynamic: z.boolean().optional(),
  resetSession: z.boolean().optional(),
});

/** `data` may be left out (e.g. the generic directory form of §1): it then means apiVersion 1 and nothing else. */
const DataSchema = ConversationDataSchema.optional().transform((d): ConversationData => d ?? { apiVersion: "1" });

function textSchema(max: number, mayBeEmpty = false) {
  return z.string().superRefine((s, ctx) => {
    const n = codePointLength(s);
    if (n === 0 && !mayBeEmpty) ctx.addIssue({ code: "custom", message: "must not be empty" });
    else if (n > max)
      ctx.addIssue({
        code: "custom",
        message: `${n} characters, at most ${max} allowed`,
        params: { errorCode: "PAYLOAD_TOO_LARGE" satisfies ErrorCode },
      });
  });
}

/** The schemas of one set of limits, keyed by x type. */
export function payloadSchemas(limits: PayloadLimits) {
  const text = textSchema(limits.maxTextLength);
  const conversation = z.looseObject({ text, data: DataSchema });
  // protocol.md section 10: a chat_text that carries data.attachment may have no text (a file alone).
  const chatText = z.looseObject({ text: textSchema(limits.maxTextLength, true).default(""), data: DataSchema }).superRefine((p, ctx) => {
    if (p.text === "" && (p.data as Record<string, unknown>)["attachment"] === undefined)
      ctx.addIssue({ code: "custom", path: ["text"], message: "must not be empty" });
  });
  return {
    chat_text: chatText,
    chat_dynamic: conversation,
    chat_interactive: conversation,
    chat_notice: z.looseObject({
      code: z.string().min(1, "must not be empty").max(MAX_SHORT_STRING),
      data: DataSchema,
    }),
    cmd_add_to_roster: z.looseObject({
      channelUsers: z
        .array(
          z.looseObject({
            name: z.string().max(MAX_SHORT_STRING).optional(),
            address: z.string().min(1, "must not be empty").max(MAX_SHORT_STRING),
          }),
        )
        .max(limits.maxListEntries, `more than ${limits.maxListEntries} entries`),
    }),
    cmd_search_users: z.looseObject({
      userList: z
        .array(z.string().min(1, "must not be empty").max(MAX_SHORT_STRING))
        .max(limits.maxListEntries, `more than ${limits.maxListEntries} entries`),
      hashed: z.boolean().optional(),
    }),
  } as const;
}

type Schemas = ReturnType<typeof payloadSchemas>;
const schemaCache = new Map<string, Schemas>();

function schemasFor(limits: PayloadLimits): Schemas {
  const key = `${limits.maxTextLength}/${limits.maxListEntries}`;
  let s = schemaCache.get(key);
  if (s === undefined) {
    s = payloadSchemas(limits);
    schemaCache.set(key, s);
  }
  return s;
}

function isSizeIssue(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "too_big" && issue.origin === "array") return true;
  return issue.code === "custom" && issue.params?.["errorCode"] === "PAYLOAD_TOO_LARGE";
}

/**
 * One ProtocolError for a failed parse: a size limit first (so a 501-entry
 * list is reported as too large even if an entry is also bad), else the first
 * issue. Field = `prefix` + the issue path, e.g. "payload.data.os".
 */
export function fromZodError(error: z.ZodError, prefix: string): ProtocolError {
  const issue = error.issues.find(isSizeIssue) ?? error.issues[0];
  if (issue === undefined) return { code: "BAD_REQUEST", field: prefix, message: "invalid" };
  const field = [prefix, ...issue.path.map(String)].filter((p) => p !== "").join(".");
  let code: ErrorCode = "BAD_REQUEST";
  if (isSizeIssue(issue)) code = "PAYLOAD_TOO_LARGE";
  else if (field === `${prefix}.data.apiVersion`) code = "UNSUPPORTED_API_VERSION";
  // Paths and zod's messages quote the sender's keys: never raw in an error text (xml-chars.ts).
  return { code, field: xmlSafeText(field), message: xmlSafeText(issue.message) };
}

/** Types the payload of a decoded x element according to its type. */
export function decodePayload(x: XElement, limits: PayloadLimits): Result<TypedPayload> {
  const schemas = schemasFor(limits);
  switch (x.type) {
    case "chat_text":
    case "chat_dynamic":
    case "chat_interactive": {
      const r = schemas[x.type].safeParse(x.payload);
      if (!r.success) return { ok: false, error: fromZodError(r.error, "payload") };
      return ok({ type: x.type, text: r.data.text, data: r.data.data });
    }
    case "chat_notice": {
      const r = schemas.chat_notice.safeParse(x.payload);
      if (!r.success) return { ok: false, error: fromZodError(r.error, "payload") };
      return ok({ type: "chat_notice", code: r.data.code, data: r.data.data });
    }
    case "cmd_add_to_roster": {
      const r = schemas.cmd_add_to_roster.safeParse(x.payload);
      if (!r.success) return { ok: false, error: fromZodError(r.error, "payload") };
      const channelUsers = r.data.channelUsers.map((u): ChannelUser =>
        u.name === undefined ? { address: u.address } : { name: u.name, address: u.address },
      );
      return ok({ type: "cmd_add_to_roster", channelUsers });
    }
    case "cmd_search_users": {
      const r = schemas.cmd_search_users.safeParse(x.payload);
      if (!r.success) return { ok: false, error: fromZodError(r.error, "payload") };
      return ok({ type: "cmd_search_users", userList: r.data.userList, hashed: r.data.hashed ?? false });
    }
    default:
      return fail("BAD_REQUEST", "type", "unknown type");
  }
}
