// Client stanzas (protocol.md sections 3–5): written to the component
// connection as they were encoded when the step was decided, with the stanza
// id derived from the job's key, so a resend is recognisably the same reply.
// Written is as far as XEP-0114 lets us know; the connection resends what it
// wrote just before a reconnect (xmpp/connection.ts).
//
// A message whose file the router serves itself (a bot's file the user cannot
// reach, protocol.md section 10) carries `fetch`: the file is fetched and
// stored first (bounded, attachments/fetch-into-store.ts), then the stanza is
// sent; in the chain of the conversation's client messages, so what the bot
// said after the file waits for it. A file that cannot be had is told as
// ROUTER_ATTACHMENT_REFUSED#0001 instead, once.
import type { Element } from "@xmpp/xml";
import { botFileHosts } from "../../attachments/bot-file-hosts.js";
import { fetchIntoStore, refusalReason, type FileFetch } from "../../attachments/fetch-into-store.js";
import { FetchFailure } from "../../attachments/fetch.js";
import type { Config } from "../../config/schema.js";
import { displayName } from "../../core/attachment-policy.js";
import { parseStored } from "../../protocol/serialized.js";
import type { DirectoryCache } from "../../router/directory-cache.js";
import type { Store } from "../../store/index.js";
import type { ConversationSteps } from "../conversation-port.js";
import { doubling, errorText, type Job, type JobHandler, type Outcome } from "../job.js";

export interface ClientStanzaDeps {
  send: (stanza: Element) => Promise<void>;
  config: Config;
  /** For messages with a file to fetch first; absent: such a message is sent without it. */
  store?: Store;
  steps?: Pick<ConversationSteps, "tell">;
  directory?: DirectoryCache;
}

/** Beyond the fetch's own bound: storing the file. */
const FETCH_MARGIN_MS = 15_000;

const fetchOf = (job: Job): FileFetch | undefined => job.payload.fetch as FileFetch | undefined;

export function clientStanzaHandler(deps: ClientStanzaDeps): JobHandler {
  const { send, config } = deps;
  const { maxAttempts, backoffBaseMs, backoffMaxMs } = config.outbox;
  const policy = { attempts: maxAttempts, backoffMs: doubling(backoffBaseMs, backoffMaxMs), budgetMs: null };
  const fetchPolicy = { ...policy, budgetMs: config.attachments.fetchTimeoutMs + FETCH_MARGIN_MS };
  const hosts = botFileHosts(config, deps.directory);

  const refuse = async (job: Job, file: FileFetch, reason: string): Promise<readonly Job[]> =>
    deps.steps
      ? deps.steps.tell(
          job.conversationId!,
          {
            kind: "notice",
            code: "ROUTER_ATTACHMENT_REFUSED#0001",
            data: { reason, name: displayName({ url: file.url, ...(file.name ? { name: file.name } : {}) }) },
          },
          `${job.idempotencyKey}/refused`,
        )
      : [];

  /** Null when the file is stored (or was); otherwise the job's outcome. */
  async function ensureFile(job: Job, file: FileFetch): Promise<Outcome | null> {
    if (!deps.store || !job.conversationId) return null;
    const a = config.attachments;
    try {
      await fetchIntoStore(file, job.conversationId, job.idempotencyKey, {
        attachments: deps.store.attachments,
        maxBytes: a.maxBytes,
        timeoutMs: a.fetchTimeoutMs,
        allowedTypes: a.allowedTypes,
        allowed: hosts.allowed,
        allowedRedirect: hosts.allowedRedirect,
      });
      return null;
    } catch (err) {
      if (err instanceof FetchFailure && err.final) return { status: "done", jobs: await refuse(job, file, refusalReason(err)) };
      return { status: "retry", error: `file ${file.url}: ${errorText(err)}` };
    }
  }

  return {
    policy: (job) => (fetchOf(job) ? fetchPolicy : policy),
    async run(job) {
      const file = fetchOf(job);
      const blocked = file ? await ensureFile(job, file) : null;
      if (blocked) return blocked;
      // In memory when this instance built it; else the stored message (older rows and tests: the payload).
      const xml = job.storedStanza ?? job.payload.xml;
      const stanza = job.stanza ?? (typeof xml === "string" ? parseStored(xml) : null);
      if (!stanza) return { status: "failed", error: "client job without a stanza" };
      try {
        await send(stanza);
        return { status: "sent" };
      } catch (err) {
        // Offline with a full queue, or stopping: again later, in order.
        return { status: "retry", error: errorText(err) };
      }
    },
    async deadLettered(job) {
      // Only a file that could not be fetched is told; a stanza that could not be written has no other way to the user.
      const file = fetchOf(job);
      if (!file || (await deps.store?.attachments.get(file.id))) return [];
      return refuse(job, file, "fetch");
    },
  };
}
