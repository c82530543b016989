// A file the router serves itself (protocol.md section 10: a bot's file at an
// address the user cannot reach) is fetched and stored by the delivery of
// its message, just before the message is sent (delivery/handlers/client-stanza.ts).
// The message's signed URL names the id chosen when the step was decided, so
// the stanza is stored with the step as every other one; the row is stored
// once under that id and the job's key, so a delivery run again after a
// crash finds it stored, or fetches and stores it then.
import { typeAllowed } from "../core/attachment-policy.js";
import type { AttachmentRepository } from "../store/index.js";
import { FetchFailure, fetchBounded } from "./fetch.js";

/** What a client job's payload says about its file (conversation-service.ts). */
export interface FileFetch {
  /** The attachments row id the signed URL names. */
  id: string;
  url: string;
  name: string | null;
  /** The type the message claims; the stored row has the fetched one. */
  mediaType: string;
  origin: "bot" | "operator" | "user";
  /** The conversation's channel, whose bot's own host may serve its files. */
  channel: string;
}

export interface FetchIntoStoreDeps {
  attachments: AttachmentRepository;
  maxBytes: number;
  timeoutMs: number;
  allowedTypes: readonly string[];
  /** Whether the router may fetch this URL for this file. */
  allowed: (url: URL, file: FileFetch) => boolean | Promise<boolean>;
  /** Whether a redirect may lead there for this file. */
  allowedRedirect: (url: URL, file: FileFetch) => boolean | Promise<boolean>;
}

/** Stores the file unless it is stored already; throws FetchFailure (reason, final) when it cannot be. */
export async function fetchIntoStore(file: FileFetch, conversationId: string, key: string, deps: FetchIntoStoreDeps): Promise<void> {
  if (await deps.attachments.get(file.id)) return;
  const fetched = await fetchBounded(file.url, {
    maxBytes: deps.maxBytes,
    timeoutMs: deps.timeoutMs,
    allowed: (u) => deps.allowed(u, file),
    allowedRedirect: (u) => deps.allowedRedirect(u, file),
  });
  // A server that names no type (or a generic one) is taken at the message's word; either must be allowed.
  const mediaType = !fetched.mediaType || fetched.mediaType === "application/octet-stream" ? file.mediaType : fetched.mediaType;
  if (!typeAllowed(mediaType, deps.allowedTypes)) throw new FetchFailure("type", `${mediaType} is not an allowed type`, true);
  await deps.attachments.put({
    id: file.id,
    conversationId,
    origin: file.origin,
    idempotencyKey: key,
    name: file.name,
    mediaType,
    content: fetched.content,
    sha256: fetched.sha256,
  });
}

/** The reason a refusal notice gives for a failed fetch (ROUTER_ATTACHMENT_REFUSED#0001). */
export function refusalReason(err: unknown): "host" | "size" | "type" | "fetch" {
  if (err instanceof FetchFailure && (err.reason === "host" || err.reason === "size" || err.reason === "type")) return err.reason;
  return "fetch";
}
