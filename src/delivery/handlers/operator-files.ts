// Files between the user and an operator (protocol.md section 10), one outbox
// job per file. A Genesys Cloud episode's go by URL (handlers/cloud-files.ts);
// a GMS episode's use the file calls (backends.md section 2):
//
// - send_operator_file: the user's file (checked by the core) is fetched
//   from the file share (bounded, attachments/fetch-user-file.ts), checked
//   against the chat's `…/file/limits` and uploaded with `…/file`. What the
//   limits or Genesys refuse reaches the user as ROUTER_ATTACHMENT_REFUSED#0001
//   (`reason: "backend"`, `limit` naming which). Delivered once across a
//   crash: an attempt after the first looks for its own upload in the
//   transcript (the key it gave in userData) before uploading again.
// - receive_operator_file: a GMS FileUploaded of the operator's is downloaded
//   (`…/file/{fileId}/download`, at most attachments.maxBytes, and not past
//   the chat's `download-attempts`), stored once per chat and fileId
//   (store/attachments.ts) and sent to the user as a message with the
//   router's signed, expiring URL for that user (handlers/file-steps.ts).
import { createHash } from "node:crypto";
import { isCloudServiceName } from "../../adapters/genesys-cloud/service-name.js";
import { attachmentPolicyOf } from "../../attachments/policy-of.js";
import { FetchRefused, fetchUserFile, fileNameOf } from "../../attachments/fetch-user-file.js";
import type { ClientMessage } from "../../core/client-message.js";
import type { Conversation, GenesysChatIds, OperatorEpisode } from "../../core/model.js";
import type { OperatorFileLimits, OperatorFilesPort, OperatorLinkFilesPort } from "../../core/ports.js";
import type { Attachment } from "../../protocol/attachment.js";
import { doubling, errorText, type Job, type JobHandler, type Outcome } from "../job.js";
import type { JobPayload } from "../jobs.js";
import { receiveCloudFile, sendCloudFile, type CloudFilesDeps } from "./cloud-files.js";
import { fileSteps, type FileStepsDeps, type Refusal } from "./file-steps.js";

export const OPERATOR_FILE_JOB_TYPES = ["send_operator_file", "receive_operator_file"] as const;

const ATTEMPTS = 3;
const BUDGET_MARGIN_MS = 15_000;

type FileJob = Extract<JobPayload, { type: (typeof OPERATOR_FILE_JOB_TYPES)[number] }>;
type AgentFile = Extract<FileJob, { type: "receive_operator_file" }>["file"];
type Episode = OperatorEpisode & { chat: GenesysChatIds };

export interface OperatorFilesDeps extends FileStepsDeps {
  /** GMS file calls; null without GMS. */
  files: OperatorFilesPort | null;
  /** Genesys Cloud's files by URL; unset or null without Genesys Cloud. */
  linkFiles?: OperatorLinkFilesPort | null;
}

const payloadOf = (job: Job) => job.payload as unknown as FileJob;
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
  const { steps, config } = deps;
  const policy = {
    attempts: ATTEMPTS,
    backoffMs: doubling(config.outbox.backoffBaseMs, 5_000),
    // A fetch, a limits read and an upload (or a transcript read and a download), each bounded by the Genesys timeout.
    budgetMs: 3 * config.genesys.requestTimeoutMs + BUDGET_MARGIN_MS,
  };
  const attachmentPolicy = attachmentPolicyOf(config);
  const ends = fileSteps(deps);
  const { refuse, deliver } = ends;
  const cloud: CloudFilesDeps | null = deps.linkFiles
    ? { ...deps, files: deps.linkFiles, fileSteps: ends, policy: attachmentPolicy }
    : null;

  async function current(job: Job): Promise<{ c: Conversation; episode: OperatorEpisode } | null> {
    const c = await steps.get(job.conversationId!);
    const episode = c?.episode;
    return c && episode && episode.uuid === payloadOf(job).episodeUuid ? { c, episode } : null;
  }

  async function sendFile(job: Job, files: OperatorFilesPort, c: Conversation, episode: Episode, a: Attachment): Promise<Outcome> {
    const chat = episode.chat;
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

  async function receiveFile(job: Job, files: OperatorFilesPort, c: Conversation, episode: Episode, file: AgentFile): Promise<Outcome> {
    const name = file.name ?? file.fileId;
    if (file.size !== undefined && file.size > config.attachments.maxBytes) {
      return refuse(job, c, episode, name, { reason: "size", detail: `${file.size} bytes` }, "from_operator");
    }
    // Chat Server's download-attempts (the limits' Notice): not past them. An ended chat has no limits to read.
    const limits = episode.endedAt ? null : await files.limits(episode.serviceName, episode.chat);
    if (limits?.maxDownloads !== undefined && (limits.usedDownloads ?? 0) >= limits.maxDownloads) {
      return refuse(job, c, episode, name, { reason: "backend", limit: "downloads", detail: "download-attempts" }, "from_operator");
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
    const key = `gms:${episode.chat.chatId}:${file.fileId}`;
    return deliver(job, c, episode, { key, name, nickname: file.nickname, mediaType, content: got.content });
  }

  /** The job for its back-end: Genesys Cloud by URL, GMS by its file calls. */
  async function runFor(job: Job, c: Conversation, episode: OperatorEpisode): Promise<Outcome> {
    const p = payloadOf(job);
    // The user's file goes while the episode is open; an operator's file that came before the end is delivered still.
    if (p.type === "send_operator_file" && episode.endedAt) return { status: "done" };
    if (!episode.chat) {
      return p.type === "send_operator_file"
        ? { status: "retry", error: "chat not accepted yet" }
        : { status: "failed", error: "the episode has no chat" };
    }
    const open = { ...episode, chat: episode.chat };
    if (isCloudServiceName(episode.serviceName)) {
      if (!cloud) return { status: "failed", error: "Genesys Cloud is not configured" };
      if (p.type === "send_operator_file") return sendCloudFile(cloud, job, c, open, p.attachment);
      if (!p.file.url) return { status: "failed", error: "a Genesys Cloud file without a URL" };
      return receiveCloudFile(cloud, job, c, open, { ...p.file, url: p.file.url });
    }
    if (!deps.files) return { status: "failed", error: "no operator file service is configured" };
    if (p.type === "send_operator_file") return sendFile(job, deps.files, c, open, p.attachment);
    return receiveFile(job, deps.files, c, open, p.file);
  }

  return {
    policy: () => policy,

    async run(job) {
      const found = await current(job);
      if (!found) return { status: "done" };
      try {
        return await runFor(job, found.c, found.episode);
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
