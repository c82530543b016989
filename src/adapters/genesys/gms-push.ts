// Genesys push mode (config genesys.push; docs/operations.md "Genesys push"):
// GMS posts to the router when a chat has new transcript events, so the poller
// refreshes at once and otherwise only every genesys.pushKeepAliveMs.
//
// What the public Genesys documentation describes, and this follows:
// - "Push notifications via GMS to HTTP server" (eServices Chat, Chat Server
//   8.5.306.03+): Chat Server asks GMS to push chat activity to an HTTP
//   server also for clients of the plain Chat API Version 2 (not only CometD).
//   GMS is configured once, not per chat: [chat] enable_notification_mode=true,
//   [push] pushEnabled=customhttp, customhttp.url=<our endpoint>.
// - GMS Push Notification Service, custom HTTP: GMS POSTs a JSON object with
//   two properties, `deviceId` (the id the subscriber gave) and `message`.
//   Notifications are not resent after a failed delivery (unless the chat asked
//   for GCTI_GMS_PushResend, which we do not: the keep-alive poll covers it).
// - A chat asks for pushes in its request chat userData, naming the push type
//   and its device id: GCTI_GMS_PushDeviceType=customhttp and
//   GCTI_GMS_PushDeviceId=<id>. The id is ours to choose, and GMS gives it back
//   in every push: it is the per-chat token, an HMAC under the router's key
//   (security/keyring.ts pushToken) over the conversation and episode ids.
// Not this: `…/{chatId}/pushUrl`. That call (like the eServices Web API's
// SendUrl, field `pushUrl`) sends a URL into the chat as a `PushUrl`
// transcript event the agent sees; GMS never calls that URL.
import type { OperatorChatRequest } from "../../core/ports.js";
import type { KeyRing } from "../../security/keyring.js";

/** userData keys of a chat request that ask Chat Server/GMS for custom HTTP pushes. */
export const PUSH_DEVICE_TYPE_KEY = "GCTI_GMS_PushDeviceType";
export const PUSH_DEVICE_ID_KEY = "GCTI_GMS_PushDeviceId";
/** The GMS push type that POSTs JSON to [push] customhttp.url. */
export const PUSH_DEVICE_TYPE = "customhttp";
/** Where GMS' customhttp.url must point: {EIME_PUBLIC_URL}{PUSH_PATH}. */
export const PUSH_PATH = "/genesys/push";

/** The episode a push is about. */
export interface PushTarget {
  conversationId: string;
  episodeUuid: string;
}

const ID = "[A-Za-z0-9_-]{1,80}";
const DEVICE_ID = new RegExp(`^(${ID})\\.(${ID})\\.([A-Za-z0-9_-]{43})$`);

const subjectOf = (t: PushTarget) => `genesys-push\n${t.conversationId}\n${t.episodeUuid}`;

/** `{conversationId}.{episodeUuid}.{token}`: the device id a chat is requested with. */
export function pushDeviceId(keys: Pick<KeyRing, "pushToken">, target: PushTarget): string {
  return `${target.conversationId}.${target.episodeUuid}.${keys.pushToken.sign(subjectOf(target))}`;
}

/** The episode of a device id GMS pushed, or null when it is not one the router made (forged, altered, another key). */
export function readPushDeviceId(keys: Pick<KeyRing, "pushToken">, deviceId: unknown): PushTarget | null {
  if (typeof deviceId !== "string") return null;
  const m = DEVICE_ID.exec(deviceId);
  if (!m) return null;
  const target = { conversationId: m[1]!, episodeUuid: m[2]! };
  return keys.pushToken.verify(subjectOf(target), m[3]!) ? target : null;
}

/**
 * The userData a chat request adds to ask for pushes: its conversation and
 * episode come from the request's own userData (operator-call.ts puts both
 * there); none when they are missing or not id-shaped.
 */
export function pushUserData(keys: Pick<KeyRing, "pushToken">, req: OperatorChatRequest): Record<string, string> {
  const conversationId = req.userData["conversationId"];
  const episodeUuid = req.userData["episodeUuid"];
  const id = new RegExp(`^${ID}$`);
  if (!conversationId || !episodeUuid || !id.test(conversationId) || !id.test(episodeUuid)) return {};
  return { [PUSH_DEVICE_TYPE_KEY]: PUSH_DEVICE_TYPE, [PUSH_DEVICE_ID_KEY]: pushDeviceId(keys, { conversationId, episodeUuid }) };
}
