// Files between the user and a GMS operator (protocol.md section 10,
// backends.md section 2 file calls), one outbox job per file:
//
// - send_operator_file: the user's file (checked by the core) is fetched
//   from the file share (bounded, attachments/fetch-user-file.ts), checked
//   against the chat's `…/file/limits` and uploaded with `…/file`. What the
//   limits or Genesys refuse reaches the user as ROUTER_ATTACHMENT_REFUSED#0001
//   (`reason: "backend"`, `limit` naming which). Delivered once across a
//   crash: an attempt after the first looks for its own upload in the
//   transcript (the key it gave in userData) before uploading again.
// - receive_operator_file: a GMS FileUploaded of the operator's is downloaded
//   (`…/file/{fileId}/download`, at most attachments.maxBytes), stored once
//   per chat and fileId (store/attachments.ts) and sent to the user as a
//   message with the router's signed, expiring URL for that user.
import { createHash } from "node:crypto";
import type { Config } from "../../config/schema.js";
import { attachmentPolicyOf } from "../../attachments/policy-of.js";
import { FetchRefused, fetchUserFile, fileNameOf } from "../../attachments/fetch-user-file.js";
import { signedAttachmentUrl } from "../../attachments/signed-url.js";
import type { ClientMessage } from "../../core/client-message.js";
import type { Conversation, GenesysChatIds, OperatorEpisode } from "../../core/model.js";
import type { Clock, OperatorFileLimits, OperatorFilesPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import type { Attachment } from "../../protocol/attachment.js";
import type { Store } from "../../store/index.js";
import type { ConversationSteps } from "../conversation-port.js";
import { doubling, errorText, type Job, type JobHandler, type Outcome } from "../job.js";
import type { JobPayload } from "../jobs.js";

export const OPERATOR_FILE_JOB_TYPES = ["send_operator_file", "receive_operator_file"] as const;

const ATTEMPTS = 3;
const BUDGET_MARGIN_MS = 15_000;

type FileJob = Extract<JobPayload, { type: (typeof OPERATOR_FILE_JOB_TYPES)[number] }>;

export interface OperatorFilesDeps {
  files: OperatorFilesPort | null;
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
interface Refusal {
  reason: "host" | "size" | "type" | "fetch" | "backend";
  limit?: "count" | "size" | "total" | "type" | "agent";
  detail: string;
}

const payloadOf = (job: Job) => job.payload as unknown as FileJob;
const bare = (jid: string) => jid.split("/")[0]!;
const extensionOf = (name: string) => /\.([^./]+)$/.exec(name)?.[1]?.toLowerCase() ?? "";

/** The back-end's limits against one file about to be uploaded; null when it fits. */
export function limitRefusal(limits: OperatorFileLimits, name: string, bytes: number): Refusal | null {
  if (limits.usedFiles >= limits.maxFiles) return { reason: "backend", limit: "count", detail: `${limits.maxFiles} files per chat` };
  if (limits.fileTypes.length > 0 && !limits.fileTypes.includes(extensionOf(name))) {
    return { reason: "backend", limit: "type", detail: `types ${limits.fileTypes.join(", ")}` };
  }
  if (bytes > limits.maxFileBytes) return { reason: "backend", limit: "size", detail: `${limits.maxFileBytes} bytes per file` };
  if (limits.usedTotalBytes + bytes > limits.maxTotalBytes) {
    return { reason: "backend", limit: "total", detail: `${limits.maxTotalBytes} bytes per chat` };
  }
  return null;
}

/** A GMS answer that says no for good (a non-zero statusCode but 1, a 4xx): the file was refused. */
const refusedByBackend = (err: unknown) =>
  (err as { transient?: boolean }).transient === false && ["status", "http"].includes(String((err as { kind?: string }).kind));

export function operatorFilesHandler(deps: OperatorFilesDeps): JobHandler {
  const { steps, store, config } = deps;
  const policy = {
    attempts: ATTEMPTS,
    backoffMs: doubling(config.outbox.backoffBaseMs, 5_000),
    // A fetch, a limits read and an upload (or a transcript read and a download), each bounded by the Genesys timeout.
    budgetMs: 3 * config.genesys.requestTimeoutMs + BUDGET_MARGIN_MS,
  };
  const attachmentPolicy = attachmentPolicyOf(config);

  async function current(job: Job): Promise<{ c: Conversation; episode: OperatorEpisode } | null> {
    const c = await steps.get(job.conversationId!);
    const episode = c?.episode;
    return c && episode && episode.uuid === payloadOf(job).episodeUuid ? { c, episode } : null;
  }

  async function refuse(
    job: Job,
    c: Conversation,
    episode: OperatorEpisode,
    name: string,
    r: Refusal,
    direction: string,
  ): Promise<Outcome> {
    deps.metrics.attachments.inc({ direction, outcome: "refused" });
    deps.log.info({ conversationId: c.id, reason: r.reason, limit: r.limit, detail: r.detail }, "attachment refused");
    const data = { reason: r.reason, name, ...(r.limit ? { limit: r.limit } : {}) };
    const message: ClientMessage = { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data };
    return { status: "done", jobs: await steps.tell(c.id, message, `${job.idempotencyKey}/refused`, episode.uuid) };
  }

  async function sendFile(job: Job, files: OperatorFilesPort, c: Conversation, episode: OperatorEpisode, a: Attachment): Promise<Outcome> {
    if (episode.endedAt) return { status: "done" };
    const chat = episode.chat;
    if (!chat) return { status: "retry", error: "chat not accepted yet" };
    const name = fileNameOf(a);
    // Short and stable: the mark of this job's upload in GMS' userData.
    const key = createHash("sha256").update(job.idempotencyKey).digest("base64url").slice(0, 22);
    if (job.attempts > 1 && (await files.uploadedBefore(episode.serviceName, chat, key))) {
      deps.metrics.attachments.inc({ direction: "to_operator", outcome: "delivered" });
      return { status: "done" };
    }
    const limits = await files.limits(episode.serviceName, chat);
    // upload-need-agent: Chat Server takes the file only once an agent is in the chat; the user may send it again then.
    if (limits.needsAgent && !episode.joinedAt) {
      return refuse(job, c, episode, name, { reason: "backend", limit: "agent", detail: "upload-need-agent" }, "to_operator");
    }
    const early = limits.usedFiles >= limits.maxFiles ? limitRefusal(limits, name, 0) : null;
    if (early) return refuse(job, c, episode, name, early, "to_operator");
    let fetched;
    try {
      fetched = await fetchUserFile(a, {
        policy: attachmentPolicy,
        maxBytes: config.attachments.maxBytes,
        timeoutMs: config.genesys.requestTimeoutMs,
      });
    } catch (err) {
      if (err instanceof FetchRefused && !err.transient)
        return refuse(job, c, episode, name, { reason: err.reason, detail: err.message }, "to_operator");
      throw err;
    }
    const byLimits = limitRefusal(limits, name, fetched.content.length);
    if (byLimits) return refuse(job, c, episode, name, byLimits, "to_operator");
    try {
      await files.upload(episode.serviceName, chat, fetched, key);
    } catch (err) {
      if (refusedByBackend(err)) return refuse(job, c, episode, name, { reason: "backend", detail: errorText(err) }, "to_operator");
      throw err;
    }
    deps.metrics.attachments.inc({ direction: "to_operator", outcome: "delivered" });
    return { status: "done" };
  }

  async function receiveFile(
    job: Job,
    files: OperatorFilesPort,
    c: Conversation,
    episode: OperatorEpisode & { chat: GenesysChatIds },
    file: Extract<FileJob, { type: "receive_operator_file" }>["file"],
  ): Promise<Outcome> {
    const name = file.name ?? file.fileId;
    if (file.size !== undefined && file.size > config.attachments.maxBytes) {
      return refuse(job, c, episode, name, { reason: "size", detail: `${file.size} bytes` }, "from_operator");
    }
    let got;
    try {
      got = await files.download(episode.serviceName, episode.chat, file.fileId, config.attachments.maxBytes);
    } catch (err) {
      if ((err as { kind?: string }).kind === "invalid_answer" && /larger than/.test(errorText(err))) {
        return refuse(job, c, episode, name, { reason: "size", detail: errorText(err) }, "from_operator");
      }
      throw err;
    }
    // The event's type (what the agent's desktop said), else the download's Content-Type.
    const mediaType = file.mediaType ?? got.mediaType;
    const stored = await store.attachments.put({
      conversationId: c.id,
      origin: "operator",
      idempotencyKey: `gms:${episode.chat.chatId}:${file.fileId}`,
      name,
      mediaType,
      content: got.content,
      sha256: createHash("sha256").update(got.content).digest("hex"),
    });
    deps.metrics.attachmentBytes.set(await store.attachments.totalBytes());
    const expiresAt = new Date(deps.clock.now().getTime() + config.attachments.urlTtlSeconds * 1000);
    const url = signedAttachmentUrl(deps.urlKey, { base: deps.publicUrl(), id: stored.id, user: bare(c.userJid), expiresAt });
    const message: ClientMessage = {
      kind: "text",
      text: name,
      conversationType: "operator",
      operator: { nickname: file.nickname },
      attachment: { url, mediaType: stored.mediaType, name: stored.name, size: stored.size },
    };
    deps.metrics.attachments.inc({ direction: "from_operator", outcome: "delivered" });
    return { status: "done", jobs: await steps.tell(c.id, message, `${job.idempotencyKey}/file`, episode.uuid) };
  }

  return {
    policy: () => policy,

    async run(job) {
      const found = await current(job);
      if (!found) return { status: "done" };
      const p = payloadOf(job);
      if (!deps.files) return { status: "failed", error: "no operator file service is configured" };
      try {
        if (p.type === "send_operator_file") return await sendFile(job, deps.files, found.c, found.episode, p.attachment);
        // The file came before the episode ended: it is delivered even if the agent has left since.
        const { episode } = found;
        if (!episode.chat) return { status: "failed", error: "the episode has no Genesys chat" };
        return await receiveFile(job, deps.files, found.c, { ...episode, chat: episode.chat }, p.file);
      } catch (err) {
        const final = (err as { transient?: boolean }).transient === false;
        return final ? { status: "failed", error: errorText(err) } : { status: "retry", error: errorText(err) };
      }
    },

    async deadLettered(job, error) {
      const found = await current(job);
      if (!found) return [];
      const p = payloadOf(job);
      deps.metrics.attachments.inc({ direction: p.type === "send_operator_file" ? "to_operator" : "from_operator", outcome: "failed" });
      const name = p.type === "send_operator_file" ? fileNameOf(p.attachment) : (p.file.name ?? p.file.fileId);
      deps.log.warn({ conversationId: found.c.id, error }, "attachment not delivered");
      const message: ClientMessage = { kind: "notice", code: "ROUTER_ATTACHMENT_REFUSED#0001", data: { reason: "fetch", name } };
      return steps.tell(found.c.id, message, `${job.idempotencyKey}/failed`, found.episode.uuid);
    },
  };
}
