// Callback offers at a full operator queue (backends.md section 2c): who may
// be offered one, how long an offer stands, and the time a user may ask for.
// Pure: the state machine (conversation.ts) applies them.
import type { CallbackRequest, ChannelRoute, Conversation } from "./model.js";

/** Client → router: the user accepts the callback offered with ROUTER_QUEUE_FULL#0001 (docs/protocol.md). */
export const CALLBACK_REQUEST = "ROUTER_CALLBACK_REQUEST#0001";

/** An offer stands this long; a later acceptance is refused (the queue may have emptied meanwhile). */
export const CALLBACK_OFFER_MS = 30 * 60_000;

/** The furthest ahead a user may ask to be called. */
const MAX_AHEAD_MS = 30 * 24 * 3_600_000;
/** Clock skew tolerated on a time "now" from the client. */
const PAST_SLACK_MS = 60_000;

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Who would book a callback offered now: the route's GMS Callback service,
 * null for the bot; undefined when none may be offered (no `callback` on the
 * route, no GMS to book with, no MSISDN to call, no bot to ask, or a request
 * of this conversation still being booked). A plain XMPP client accepts with
 * its "callback" word or XEP-0050 command (protocol.md section 9).
 */
export function callbackOffer(
  route: ChannelRoute | null,
  c: Conversation,
  opts: { gmsCallbacks: boolean; hasBot: boolean },
): string | null | undefined {
  const cb = route?.callback;
  if (!cb || c.callback?.state === "requested") return undefined;
  if (cb === "bot") return opts.hasBot ? null : undefined;
  return opts.gmsCallbacks && c.msisdn ? cb.serviceName : undefined;
}

/** Whether the conversation holds an offer the user may still accept. */
export function offerStands(cb: CallbackRequest | null | undefined, now: Date): cb is CallbackRequest {
  return cb?.state === "offered" && now.getTime() - Date.parse(cb.since) <= CALLBACK_OFFER_MS;
}

export type DesiredTime = { ok: true; value: string | null } | { ok: false; message: string };

/**
 * `data.desiredTime` of ROUTER_CALLBACK_REQUEST#0001: absent means as soon as
 * possible; otherwise an ISO 8601 date-time with its offset, not in the past,
 * at most 30 days ahead. Given on as UTC (GMS `_desired_time`).
 */
export function readDesiredTime(data: Record<string, unknown> | undefined, now: Date): DesiredTime {
  const v = data?.["desiredTime"];
  if (v === undefined || v === null || v === "") return { ok: true, value: null };
  if (typeof v !== "string" || !ISO_DATE_TIME.test(v)) return { ok: false, message: "must be an ISO 8601 date-time with an offset" };
  const t = Date.parse(v);
  if (Number.isNaN(t)) return { ok: false, message: "must be an ISO 8601 date-time with an offset" };
  if (t < now.getTime() - PAST_SLACK_MS) return { ok: false, message: "must not be in the past" };
  if (t > now.getTime() + MAX_AHEAD_MS) return { ok: false, message: "must be at most 30 days ahead" };
  return { ok: true, value: new Date(Math.max(t, now.getTime())).toISOString() };
}
