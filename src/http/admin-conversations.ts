// Recent conversations (operations.md "HTTP"), most recently updated first:
//   GET /admin/conversations?state=bot|queued|operator|closed|voting&limit=1..1000 (default 100)
//   → 200 {conversations: [...]}; 400 naming `state` or `limit`.
// What is shown, and what never is (design.md rule 6):
//   - no message text (messages are not read at all; nor the bot's last options);
//   - never the Genesys secureKey, userId or alias (the chatId is shown, to find the chat in Genesys);
//   - never the user's JID or raw MSISDN: `user.tag` is the tag the logs print for that MSISDN
//     (the key ring's msisdnTag, so a listing can be matched with log lines) or, for a JID that is not an
//     MSISDN, the same kind of tag of the bare JID; `user.masked` shows the first and last two
//     characters of the JID localpart (all masked when it is shorter than 8) and the domain.
import jid from "@xmpp/jid";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { CONVERSATION_STATES, type Conversation, type ConversationState, type OperatorEpisode } from "../core/model.js";
import { keyRingFrom, type KeyRing } from "../security/keyring.js";
import { badRequest, zodFields } from "./errors.js";
import type { AdminDeps } from "./admin-deps.js";
import { ConversationsResponse, ERROR_RESPONSES } from "./schemas.js";

const QuerySchema = z.strictObject({
  state: z
    .enum(CONVERSATION_STATES as readonly [ConversationState, ...ConversationState[]], {
      error: `must be one of ${CONVERSATION_STATES.join(", ")}`,
    })
    .optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, "must be an integer from 1 to 1000")
    .transform(Number)
    .pipe(z.number().int().min(1, "must be an integer from 1 to 1000").max(1000, "must be an integer from 1 to 1000"))
    .optional(),
});

export function userTag(c: Pick<Conversation, "msisdn" | "userJid">, keys: KeyRing): string {
  if (c.msisdn) return keys.msisdnTag(c.msisdn);
  return keys.msisdnTag(c.userJid).replace("msisdn#", "jid#");
}

/** The JID's bare form with its localpart masked (MSISDNs never shown whole, design.md rule 6); a value that is no JID is masked whole. */
export function maskJid(value: string): string {
  let local: string;
  let domain: string;
  try {
    const j = jid(value);
    local = j.local ?? "";
    domain = j.domain;
  } catch {
    return "*".repeat(value.length);
  }
  if (local === "") return domain;
  const masked = local.length < 8 ? "*".repeat(local.length) : local.slice(0, 2) + "*".repeat(local.length - 4) + local.slice(-2);
  return `${masked}@${domain}`;
}

/** Where an operator episode stands: requested (not yet accepted by Genesys), queued, joined (an operator took it), ended. */
export function episodeState(e: OperatorEpisode): "requested" | "queued" | "joined" | "ended" {
  if (e.endedAt) return "ended";
  if (e.joinedAt) return "joined";
  if (e.chat) return "queued";
  return "requested";
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function conversationView(c: Conversation, keys: KeyRing) {
  const e = c.episode;
  return {
    id: c.id,
    user: { tag: userTag(c, keys), masked: maskJid(c.userJid) },
    channel: c.channel,
    chatTitle: c.chatTitle,
    state: c.state,
    addressing: c.addressing.kind,
    ...(c.addressing.kind === "server" ? { serverAddress: c.addressing.serverAddress } : {}),
    apiVersion: c.apiVersion,
    os: c.os,
    appVersion: c.appVersion,
    premium: c.premium,
    lang: c.lang,
    botSession: c.botSession,
    episode: e
      ? {
          uuid: e.uuid,
          state: episodeState(e),
          serviceName: e.serviceName,
          genesysChatId: e.chat?.chatId ?? null,
          queuePosition: e.queuePosition,
          requestedAt: iso(e.requestedAt),
          joinedAt: iso(e.joinedAt),
          endedAt: iso(e.endedAt),
          endCode: e.endCode,
        }
      : null,
    votingUntil: iso(c.votingUntil),
    version: c.version,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function conversationRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const querystring = {
    type: "object",
    properties: { state: { type: "string", enum: [...CONVERSATION_STATES] }, limit: { type: "string", pattern: "^\\d{1,4}$" } },
  };
  app.get("/conversations", { schema: { querystring, response: { 200: ConversationsResponse, ...ERROR_RESPONSES } } }, async (request) => {
    const parsed = QuerySchema.safeParse(request.query ?? {});
    if (!parsed.success) throw badRequest(zodFields(parsed.error, "", "query"));
    const { state, limit } = parsed.data;
    const list = await deps.store().conversations.list({
      ...(state !== undefined ? { state } : {}),
      limit: limit ?? 100,
    });
    const keys = keyRingFrom(deps.config.security.secretKey);
    return { conversations: list.map((c) => conversationView(c, keys)) };
  });

  // protocol.md section 10: a conversation's stored files, deleted at once (their signed URLs then answer 404).
  app.delete<{ Params: { id: string } }>(
    "/conversations/:id/attachments",
    {
      schema: {
        params: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
        response: {
          200: { type: "object", properties: { deleted: { type: "integer", description: "files deleted" } }, required: ["deleted"] },
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const deleted = await deps.store().attachments.deleteForConversation(request.params.id);
      return { deleted };
    },
  );
}
