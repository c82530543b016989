// How a file job between the user and an operator ends, for both back-ends
// (protocol.md section 10; handlers/operator-files.ts for GMS,
// handlers/cloud-files.ts for Genesys Cloud): a refusal told to the user as
// ROUTER_ATTACHMENT_REFUSED#0001, or an operator's file stored once (under
// its key) and sent to the user at the router's signed, expiring URL.
import { createHash } from "node:crypto";
import type { Config } from "../../config/schema.js";
import { signedAttachmentUrl } from "../../attachments/signed-url.js";
import type { ClientMessage } from "../../core/client-message.js";
import type { Conversation, OperatorEpisode } from "../../core/model.js";
import type { Clock } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import type { Store } from "../../store/index.js";
import type { ConversationSteps } from "../conversation-port.js";
import type { Job, Outcome } from "../job.js";

export interface FileStepsDeps {
  steps: ConversationSteps;
  store: Store;
  config: Config;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** The signing key of attachment URLs (attachments/signed-url.ts). */
  urlKey: Buffer;
  /** EIME_PUBLIC_URL, else the HTTP listener's address. */
  publicUrl: () => string;
}

/** A refusal told to the user: the reason of protocol.md section 10 and, for the back-end's, which limit. */
export interface Refusal {
  reason: "host" | "size" | "type" | "fetch" | "backend";
  limit?: "count" | "size" | "total" | "type" | "agent" | "downloads";
  detail: string;
}

export type FileDirection = "to_operator" | "from_operator";

/** An operator's file, downloaded: stored under `key` (the back-end's id of it), so a job run again keeps one. */
export interface ReceivedFile {
  key: string;
  name: string;
  nickname: string;
  mediaType: string;
  content: Buffer;
}

/** Functions, not methods: each may be taken apart from the others. */
export interface FileSteps {
  refuse: (job: Job, c: Conversation, episode: OperatorEpisode, name: string, r: Refusal, direction: FileDirection) => Promise<Outcome>;
  deliver: (job: Job, c: Conversation, episode: OperatorEpisode, file: ReceivedFile) => Promise<Outcome>;
  /** The signed URL of a stored file for `reader` (a bare JID, or the back-end's name), for attachments.urlTtlSeconds. */
  signedUrl: (id: string, reader: string) => string;
}

const bare = (jid: string) => jid.split("/")[0]!;

export function fileSteps(deps: FileStepsDeps): FileSteps {
  const { steps, store, config } = deps;

  const signedUrl = (id: string, reader: string) =>
    signedAttachmentUrl(deps.urlKey, {
      base: deps.publicUrl(),
      id,
      user: reader,
      expiresAt: new Date(deps.clock.now().getTime() + config.attachments.urlTtlSeconds * 1000),
    });

  return {
    signedUrl,

    refuse: async (job, c, episode, name, r, direction) => {
      deps.metrics.attachments.inc({ direction, outcome: "refused" });
      deps.log.info({ conversationId: c.id, reason: r.reason, limit: r.limit, detail: r.detail }, "attachment refused");
      const data = { reason: r.reason, name, ...(r.limit ? { limit: r.limit } : {}) };
      const message: ClientMessage = { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data };
      return { status: "done", jobs: await steps.tell(c.id, message, `${job.idempotencyKey}/refused`, episode.uuid) };
    },

    deliver: async (job, c, episode, file) => {
      const stored = await store.attachments.put({
        conversationId: c.id,
        origin: "operator",
        idempotencyKey: file.key,
        name: file.name,
        mediaType: file.mediaType,
        content: file.content,
        sha256: createHash("sha256").update(file.content).digest("hex"),
      });
      deps.metrics.attachmentBytes.set(await store.attachments.totalBytes());
      const message: ClientMessage = {
        kind: "text",
        text: file.name,
        conversationType: "operator",
        operator: { nickname: file.nickname },
        attachment: { url: signedUrl(stored.id, bare(c.userJid)), mediaType: stored.mediaType, name: stored.name, size: stored.size },
      };
      deps.metrics.attachments.inc({ direction: "from_operator", outcome: "delivered" });
      return { status: "done", jobs: await steps.tell(c.id, message, `${job.idempotencyKey}/file`, episode.uuid) };
    },
  };
}
