// XEP-0313 Message Archive Management on channel and server-address JIDs
// (issue 17 "history on reopen"; docs/protocol.md "History"): a client on a
// new device asks the channel JID for its conversation's messages and gets
// them as result messages, then the iq result with <fin> and RSM. The
// requester is the bare JID of the iq's `from`, which the server stamps:
// nobody reads another user's messages. The codecs are in
// protocol/mam-query.ts, mam-result.ts and archived-message.ts; the query in
// store/archive.ts.
import jid from "@xmpp/jid";
import type { Element } from "@xmpp/xml";
import type { Config } from "../config/schema.js";
import type { ErrorCode } from "../errors.js";
import {
  NS_MAM,
  archiveFin,
  archiveForm,
  archiveResult,
  archivedMessage,
  errorElement,
  parseArchiveQuery,
  protocolErrorText,
  type ArchiveQuery,
} from "../protocol/index.js";
import type { DirectoryCache } from "../router/directory-cache.js";
import type { ArchiveRepository, ArchiveSelection } from "../store/archive.js";
import { iqKey, type Address, type IqHandler } from "./dispatch.js";

export interface MamDeps {
  config: Config;
  directory: DirectoryCache;
  archive: () => ArchiveRepository;
  send: (stanza: Element) => Promise<void>;
  /** Message ids ↔ the opaque archive ids clients see (XEP-0313 §3; security/keyring.ts). */
  archiveIds: { encode(messageId: string): string; decode(archiveId: string): string | null };
}

export const DEFAULT_MAM_MAX_PAGE_SIZE = 100;

const bareOf = (value: string) => jid(value).bare().toString();

/** The query with the archive ids it names as message ids (each was checked to decode). */
function messageIdsOf(q: ArchiveQuery, decode: (id: string) => string | null): ArchiveQuery {
  const id = (v: string | undefined) => (v === undefined || v === "" ? v : (decode(v) ?? undefined));
  const page = {
    ...q.page,
    ...(q.page.after !== undefined ? { after: id(q.page.after)! } : {}),
    ...(q.page.before !== undefined ? { before: id(q.page.before)! } : {}),
  };
  return {
    ...q,
    ...(q.afterId !== undefined ? { afterId: id(q.afterId)! } : {}),
    ...(q.beforeId !== undefined ? { beforeId: id(q.beforeId)! } : {}),
    page,
  };
}

export function mamHandlers(deps: MamDeps): Record<string, IqHandler> {
  const { config } = deps;
  const ns = config.protocol.namespace;
  const maxPageSize = config.protocol.mamMaxPageSize ?? DEFAULT_MAM_MAX_PAGE_SIZE;
  const refuse = (code: ErrorCode, text: string, to: Address) => errorElement(code, text, { namespace: ns, by: to.bare });

  /** The archive a JID holds: a channel's conversations at its JID, or those of the generic form at a server address. */
  async function archiveOf(to: Address): Promise<ArchiveSelection["archive"] | null> {
    if (to.local === "") return null;
    const view = await deps.directory.get();
    if (view.channels.has(to.local)) return { kind: "channel", local: to.local };
    if (view.serverAddresses.has(to.local)) return { kind: "server", local: to.local };
    return null;
  }

  /** `with` matches every message when it is one of the two ends (the requester or this JID, §4.1.1); anything else none. */
  const withMatches = (q: ArchiveQuery, from: Address, to: Address) =>
    q.with === undefined || [from.bare, to.bare].includes(bareOf(q.with));

  return {
    [iqKey("get", NS_MAM, "query")]: async ({ to }) => ((await archiveOf(to)) ? archiveForm(ns) : undefined),

    [iqKey("set", NS_MAM, "query")]: async ({ child, from, to }): Promise<Element | void> => {
      if (to.local === "") return; // the service JID keeps no archive: service-unavailable
      const archive = await archiveOf(to);
      if (!archive) return refuse("NO_CHANNEL_FOUND", `to: no channel ${to.local} keeps an archive`, to);
      const parsed = parseArchiveQuery(child, { namespace: ns, maxPageSize });
      if (!parsed.ok) return refuse(parsed.error.code, protocolErrorText(parsed.error), to);
      const given = parsed.value;
      const own = { userJid: from.bare, archive };
      const wire = [given.afterId, given.beforeId, given.page.after, given.page.before].filter(
        (id): id is string => id !== undefined && id !== "",
      );
      const forged = wire.find((id) => deps.archiveIds.decode(id) === null);
      if (forged !== undefined) return refuse("ARCHIVE_ITEM_NOT_FOUND", `id: ${forged} is not in this archive`, to);
      const q = messageIdsOf(given, (id) => deps.archiveIds.decode(id));
      const ids = [q.afterId, q.beforeId, q.page.after, q.page.before].filter((id): id is string => id !== undefined && id !== "");
      const unknown = ids.length > 0 ? await deps.archive().unknownIds(own, ids) : [];
      if (unknown.length > 0)
        return refuse("ARCHIVE_ITEM_NOT_FOUND", `id: ${deps.archiveIds.encode(unknown[0]!)} is not in this archive`, to);
      if (!withMatches(q, from, to)) return archiveFin({ count: 0, complete: true });

      const result = await deps.archive().page(
        {
          ...own,
          ...(q.chatTitle !== undefined ? { chatTitle: q.chatTitle } : {}),
          ...(q.start ? { start: q.start } : {}),
          ...(q.end ? { end: q.end } : {}),
          ...(q.afterId !== undefined ? { afterId: q.afterId } : {}),
          ...(q.beforeId !== undefined ? { beforeId: q.beforeId } : {}),
        },
        {
          max: q.page.max,
          ...(q.page.after !== undefined ? { after: q.page.after } : {}),
          ...(q.page.before !== undefined ? { before: q.page.before === "" ? null : q.page.before } : {}),
        },
      );
      // §4.2: every result before the iq result, in order.
      for (const row of result.rows) {
        const message = archivedMessage(row, { domain: config.xmpp.domain, namespace: ns, requester: from.full });
        await deps.send(
          archiveResult({
            to: from.full,
            from: to.bare,
            ...(q.queryId !== undefined ? { queryId: q.queryId } : {}),
            archiveId: deps.archiveIds.encode(row.archiveId),
            stamp: row.createdAt,
            message,
          }),
        );
      }
      const firstRow = result.rows[0];
      const lastRow = result.rows[result.rows.length - 1];
      const first = firstRow && deps.archiveIds.encode(firstRow.archiveId);
      const last = lastRow && deps.archiveIds.encode(lastRow.archiveId);
      return archiveFin({
        ...(first !== undefined && last !== undefined ? { first, last } : {}),
        count: result.count,
        complete: result.complete,
      });
    },
  };
}
