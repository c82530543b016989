// Push mode across instances (design.md rule 4): GMS may push to any
// instance, while a conversation's poller runs on the one holding its lease.
// The instance GMS reached NOTIFYs genesys_push with the episode; every
// instance's poller is woken, and only the lease holder refreshes. A
// notification lost (a dropped LISTEN connection) costs the keep-alive delay,
// nothing else: the keep-alive poll still comes.
import type { Db } from "../store/db.js";

export const PUSH_CHANNEL = "genesys_push";

export interface PushedEpisode {
  conversationId: string;
  episodeUuid: string;
}

export function announcePush(db: Pick<Db, "notify">, e: PushedEpisode): Promise<void> {
  return db.notify(PUSH_CHANNEL, `${e.conversationId} ${e.episodeUuid}`);
}

/** Calls `wake` for every push announced by any instance; resolves once listening, with the function that stops it. */
export function listenForPushes(db: Pick<Db, "listen">, wake: (e: PushedEpisode) => void): Promise<() => Promise<void>> {
  return db.listen(PUSH_CHANNEL, (payload) => {
    const [conversationId, episodeUuid, ...rest] = payload.split(" ");
    if (conversationId && episodeUuid && rest.length === 0) wake({ conversationId, episodeUuid });
  });
}
