// Files between the user and a Genesys Cloud agent (protocol.md section 10,
// backends.md 2b, docs/attachments.md "Genesys Cloud"). Open Messaging
// carries a file as a URL in `content[].attachment`, both ways:
//
// - send_operator_file: the user's file (checked by the core) is fetched
//   from the file share into the router's store (bounded, only from
//   attachments.allowedHosts, attachments/fetch-into-store.ts), then sent as
//   the inbound open message's content with the router's signed, expiring
//   URL, which Genesys fetches. The row is stored under an id derived from
//   the job's key, so an attempt after a crash finds it and sends the same
//   URL with the same messageId.
// - receive_operator_file with a `url`: an agent's attachment (the webhook,
//   handled once per message) is downloaded from that URL (only from the
//   media hosts, attachments.maxBytes), stored once per message and
//   attachment, and sent to the user at the user's signed URL.
import { createHash } from "node:crypto";
import { FetchFailure } from "../../attachments/fetch.js";
import { fetchIntoStore, refusalReason } from "../../attachments/fetch-into-store.js";
import { fileNameOf } from "../../attachments/fetch-user-file.js";
import { parseCloudServiceName } from "../../adapters/genesys-cloud/service-name.js";
import type { Config } from "../../config/schema.js";
import { mediaTypeOf, urlAllowed, type AttachmentPolicy } from "../../core/attachment-policy.js";
import type { Conversation, GenesysChatIds, OperatorEpisode } from "../../core/model.js";
import type { OperatorLinkFilesPort } from "../../core/ports.js";
import type { Metrics } from "../../metrics.js";
import type { Attachment } from "../../protocol/attachment.js";
import type { Store } from "../../store/index.js";
import type { Job, Outcome } from "../job.js";
import type { FileSteps } from "./file-steps.js";

/** Genesys Cloud sends and receives attachments up to 25 MB (Resource Center, "Supported content profiles"). */
export const CLOUD_MAX_BYTES = 25 * 1024 * 1024;

export interface CloudFilesDeps {
  files: OperatorLinkFilesPort;
  fileSteps: FileSteps;
  store: Store;
  config: Config;
  metrics: Metrics;
  policy: AttachmentPolicy;
}

type Episode = OperatorEpisode & { chat: GenesysChatIds };

export interface AgentFile {
  fileId: string;
  nickname: string;
  url: string;
  name?: string;
  mediaType?: string;
}

/** The row id of the user's file sent by this job: the same on every attempt. */
const storedIdOf = (jobKey: string) => `u${createHash("sha256").update(jobKey).digest("base64url").slice(0, 26)}`;

/** Who the URL given to Genesys is signed for: the integration, never the user's JID (it holds the MSISDN). */
const readerOf = (serviceName: string) => `genesys-cloud:${parseCloudServiceName(serviceName).integrationId}`;

export async function sendCloudFile(deps: CloudFilesDeps, job: Job, c: Conversation, episode: Episode, a: Attachment): Promise<Outcome> {
  const { config, store } = deps;
  const name = fileNameOf(a);
  const id = storedIdOf(job.idempotencyKey);
  const fromShare = (u: URL) => urlAllowed(u.toString(), deps.policy) === null;
  try {
    await fetchIntoStore(
      { id, url: a.url, name, mediaType: mediaTypeOf(a), origin: "user", channel: c.channel },
      c.id,
      job.idempotencyKey,
      {
        attachments: store.attachments,
        maxBytes: Math.min(config.attachments.maxBytes, CLOUD_MAX_BYTES),
        timeoutMs: config.attachments.fetchTimeoutMs,
        allowedTypes: config.attachments.allowedTypes,
        allowed: fromShare,
        allowedRedirect: fromShare,
      },
    );
  } catch (err) {
    if (err instanceof FetchFailure && err.final) {
      return deps.fileSteps.refuse(job, c, episode, name, { reason: refusalReason(err), detail: err.message }, "to_operator");
    }
    throw err;
  }
  const stored = await store.attachments.get(id);
  if (!stored) return { status: "retry", error: `attachment ${id} is not stored` };
  const url = deps.fileSteps.signedUrl(stored.id, readerOf(episode.serviceName));
  await deps.files.sendLink(episode.serviceName, episode.chat, { url, name, mediaType: stored.mediaType }, job.idempotencyKey);
  deps.metrics.attachments.inc({ direction: "to_operator", outcome: "delivered" });
  return { status: "done" };
}

export async function receiveCloudFile(
  deps: CloudFilesDeps,
  job: Job,
  c: Conversation,
  episode: Episode,
  file: AgentFile,
): Promise<Outcome> {
  const name = file.name ?? file.fileId;
  let got;
  try {
    got = await deps.files.fetch(file.url, deps.config.attachments.maxBytes);
  } catch (err) {
    if (err instanceof FetchFailure && err.final) {
      return deps.fileSteps.refuse(job, c, episode, name, { reason: refusalReason(err), detail: err.message }, "from_operator");
    }
    throw err;
  }
  // The attachment's mime (what the agent's desktop said), else the download's Content-Type.
  const mediaType = file.mediaType ?? got.mediaType ?? "application/octet-stream";
  const key = `gcloud:${episode.chat.chatId}:${file.fileId}`;
  return deps.fileSteps.deliver(job, c, episode, { key, name, nickname: file.nickname, mediaType, content: got.content });
}
