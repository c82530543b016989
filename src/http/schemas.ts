// JSON Schemas of the HTTP API's answers (and, for the OpenAPI description,
// of its request bodies). Fastify serializes every answer through the schema
// of its route and status (fast-json-stringify), which writes only the
// properties a schema names: a secret that no response schema names cannot
// leave, whatever a handler returns (issue 13: write-only secrets). Request
// bodies stay validated by zod in the handlers (field errors of errors.ts);
// their schemas here only describe them.
import { z } from "zod";
import { DirectoryChannelSchema, DirectoryGroupSchema } from "../protocol/directory.js";

type Schema = Record<string, unknown>;

const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const bool = { type: "boolean" } as const;
const nullable = (s: Schema): Schema => ({ anyOf: [s, { type: "null" }] });
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: "object",
  properties,
  ...(required.length > 0 ? { required } : {}),
  additionalProperties: false,
});

export const ErrorResponse = obj(
  {
    error: obj(
      {
        code: str,
        message: str,
        fields: { type: "array", items: obj({ field: str, message: str }, ["field", "message"]) },
      },
      ["code", "message"],
    ),
  },
  ["error"],
);

/** Every error status an admin route may answer (errors.md), all in one shape. */
export const ERROR_RESPONSES = { "4xx": ErrorResponse, "5xx": ErrorResponse } as const;

const info = obj({ name: str, status: str, imageUrl: str, thumbUrl: str, defaultMessage: str }, ["name"]);

/** A channel route as the admin API shows it: `bot.secret` is not named, only whether one is set. */
const routeView = obj(
  {
    mode: { type: "string", enum: ["bot", "operator", "bot+operator"] },
    bot: obj({ url: str, timeoutMs: int, hasSecret: bool }, ["url"]),
    genesys: obj({ serviceName: str, premiumServiceName: str, queues: { type: "array", items: str } }, ["serviceName"]),
    genesysCloud: obj({ integrationId: str, queueId: str }, ["integrationId"]),
    callback: { anyOf: [{ type: "string", enum: ["bot"] }, obj({ serviceName: str }, ["serviceName"])] },
  },
  ["mode"],
);

const itemProperties = {
  address: str,
  type: { type: "string", enum: ["group", "channel"] },
  serverAddress: str,
  mobileIsPublished: bool,
  webIsPublished: bool,
  info,
  route: routeView,
};
const channelView = obj(itemProperties, ["address", "type"]);
const itemView = obj({ ...itemProperties, items: { type: "array", items: channelView } }, ["address", "type"]);

export const DirectoryResponse = obj({ items: { type: "array", items: itemView } }, ["items"]);
export const ItemResponse = obj({ ...itemProperties, items: { type: "array", items: channelView }, parent: nullable(str) }, [
  "address",
  "type",
  "parent",
]);

export const ImportResponse = obj({ received: int, imported: int }, ["received", "imported"]);

const episodeView = obj({
  uuid: str,
  state: str,
  serviceName: str,
  genesysChatId: nullable(str),
  queuePosition: nullable(int),
  requestedAt: nullable(str),
  joinedAt: nullable(str),
  endedAt: nullable(str),
  endCode: nullable(str),
});
const conversationView = obj({
  id: str,
  user: obj({ tag: str, masked: str }),
  channel: str,
  chatTitle: str,
  state: str,
  addressing: str,
  serverAddress: str,
  apiVersion: str,
  os: nullable(str),
  appVersion: nullable(str),
  premium: bool,
  lang: nullable(str),
  botSession: int,
  episode: nullable(episodeView),
  votingUntil: nullable(str),
  version: int,
  createdAt: nullable(str),
  updatedAt: nullable(str),
});
export const ConversationsResponse = obj({ conversations: { type: "array", items: conversationView } }, ["conversations"]);

/** DELETE answers: no body. */
export const NoContent = { type: "null", description: "no content" } as const;

/** The OpenAPI document itself (openapi.ts); sent as text already serialized. */
export const OpenApiResponse = { type: "object", additionalProperties: true } as const;

const deadView = obj(
  {
    id: str,
    target: str,
    type: nullable(str),
    conversationId: nullable(str),
    attempts: int,
    lastError: nullable(str),
    createdAt: str,
    deadAt: str,
  },
  ["id", "target", "attempts", "createdAt", "deadAt"],
);
export const DeadLettersResponse = obj({ dead: { type: "array", items: deadView } }, ["dead"]);
export const RetriedResponse = obj(
  { job: obj({ id: str, target: str, type: nullable(str), conversationId: nullable(str) }, ["id", "target"]) },
  ["job"],
);

export const LiveResponse = obj({ status: str }, ["status"]);
export const ReadyResponse = obj({ status: str, reasons: { type: "array", items: str } }, ["status"]);
export const TextResponse = { type: "string" } as const;

/** The request bodies, from the zod schemas the handlers validate with (descriptive only). */
const item = z.discriminatedUnion("type", [DirectoryGroupSchema, DirectoryChannelSchema]);
const jsonSchema = (s: z.ZodType): Schema => z.toJSONSchema(s, { io: "input", unrepresentable: "any" });
export const DirectoryBody = (): Schema => jsonSchema(z.object({ items: z.array(item) }));
export const ItemBody = (): Schema => jsonSchema(item);
export const UsersBody: Schema = { type: "array", items: obj({ msisdn: str, name: nullable(str) }, ["msisdn"]) };
