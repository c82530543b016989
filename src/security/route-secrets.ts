// Secrets of a channel route at rest (issue 13): `route.bot.secret` is stored
// sealed (keyring.ts: AES-256-GCM, bound to the channel address) under
// `bot.sealedSecret`, never in clear. A route written before sealing existed
// still holds `bot.secret` in clear: it is read as it is, and sealed when the
// router starts (directory.resealSecrets) or the channel is written again.
import type { ChannelRoute } from "../core/model.js";
import type { KeyRing } from "./keyring.js";

/** The route as stored: `bot.secret` replaced by `bot.sealedSecret`. */
export type StoredRoute = Omit<ChannelRoute, "bot"> & {
  bot?: Omit<NonNullable<ChannelRoute["bot"]>, "secret"> & { secret?: string; sealedSecret?: string };
};

const context = (address: string) => `directory_items.route.bot.secret:${address}`;

export function sealRoute(route: ChannelRoute, address: string, keys: KeyRing): StoredRoute {
  if (route.bot?.secret === undefined) return route;
  const { secret, ...bot } = route.bot;
  const sealed = { ...route, bot: { ...bot, sealedSecret: keys.seal(secret, context(address)) } };
  return sealed;
}

export function openRoute(stored: StoredRoute, address: string, keys: KeyRing): ChannelRoute {
  if (stored.bot?.sealedSecret === undefined) return stored;
  const { sealedSecret, ...bot } = stored.bot;
  return { ...stored, bot: { ...bot, secret: keys.open(sealedSecret, context(address)) } };
}

/** Whether the stored route should be written again: a secret in clear, or sealed under a key that is no longer current. */
export function needsReseal(stored: StoredRoute, keys: KeyRing): boolean {
  if (stored.bot?.secret !== undefined) return true;
  return stored.bot?.sealedSecret !== undefined && !keys.isCurrent(stored.bot.sealedSecret);
}
