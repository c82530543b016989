// The simulator's file management, as Genesys documents it for GMS Chat API
// v2 (backends.md section 2; docs/attachments.md lists the sources):
//
// - limits: POST …/{chatId}/file/limits (the ids) answers one Notice, text
//   "file-client-cfg-get", whose userData has Chat Server's client-file-transfer
//   options as strings: upload-max-files (default 3), upload-max-file-size
//   (2097152), upload-max-total-size (5242880), upload-file-types (a
//   colon-separated list of extensions), used-upload-max-files,
//   used-upload-max-total-size, download-attempts, used-download-attempts,
//   delete-file. That Notice is not a transcript event (index 0).
// - upload: POST …/{chatId}/file, multipart/form-data with the ids, `file` and
//   optional userData[key] fields; the answer's userData has "file-id"
//   (with upload-need-agent, set by fileLimits.needAgent, only while an agent
//   is in the chat; the simulator's default is false). The
//   transcript gets a FileUploaded event from the client whose userData has
//   file-id, file-name, file-size, file-type and the upload's own userData.
//   Past a limit: statusCode 2, code 106 (the simulator's own), nothing stored.
// - download: POST …/{chatId}/file/{fileId}/download (the ids) answers the
//   bytes with the file's Content-Type and a Content-Disposition naming it;
//   an unknown or deleted file: statusCode 2, code 107, in JSON; past the
//   chat's download-attempts: statusCode 2, code 108 (the simulator's own).
// - delete: POST …/{chatId}/file/{fileId}/delete: a FileDeleted event.
// - the agent sends a file (agentSendFile, control API agent/file): a
//   FileUploaded event from the agent, which the client downloads.
import { createHash, randomBytes } from "node:crypto";

export interface FileLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
  /** Extensions, lower case, no dot. */
  fileTypes: string[];
  /** upload-need-agent: the client may upload only while an agent is in the chat. */
  needAgent: boolean;
  /** download-attempts: downloads the client may make in the chat (used-download-attempts counts them). */
  downloadAttempts: number;
}

/** Chat Server's defaults (ESChat "File Transfer", section client-file-transfer). */
export const DEFAULT_FILE_LIMITS: FileLimits = {
  maxFiles: 3,
  maxFileBytes: 2_097_152,
  maxTotalBytes: 5_242_880,
  fileTypes: ["bmp", "csv", "doc", "docx", "gif", "jpeg", "jpg", "pdf", "png", "txt", "xls", "xlsx"],
  needAgent: false,
  downloadAttempts: 100,
};

export const FILE_ERROR = { limit: 106, noFile: 107, downloads: 108 } as const;

export interface SimFile {
  fileId: string;
  name: string;
  mediaType: string;
  content: Buffer;
  sha256: string;
  /** Who uploaded it. */
  from: "Client" | "Agent";
  /** The upload's userData (the client's own keys). */
  userData: Record<string, string>;
  deleted: boolean;
}

export interface UploadInput {
  name: string;
  mediaType: string;
  content: Buffer;
  userData?: Record<string, string>;
}

/** GMS file ids look like the chat ids: 16 characters. */
export function fileIdLike(): string {
  return "00F0" + randomBytes(6).toString("hex").toUpperCase();
}

export function newSimFile(input: UploadInput, from: SimFile["from"]): SimFile {
  return {
    fileId: fileIdLike(),
    name: input.name,
    mediaType: input.mediaType,
    content: input.content,
    sha256: createHash("sha256").update(input.content).digest("hex"),
    from,
    userData: { ...input.userData },
    deleted: false,
  };
}

/** Why an upload of the client's goes past the chat's limits; undefined when it fits. */
export function uploadProblem(
  limits: FileLimits,
  previous: readonly SimFile[],
  input: UploadInput,
  agentPresent: boolean,
): string | undefined {
  const mine = previous.filter((f) => f.from === "Client");
  const used = mine.reduce((n, f) => n + f.content.length, 0);
  const ext = /\.([^./]+)$/.exec(input.name)?.[1]?.toLowerCase() ?? "";
  if (limits.needAgent && !agentPresent) return "upload-need-agent: no agent in the chat";
  if (mine.length >= limits.maxFiles) return `upload-max-files (${limits.maxFiles}) reached`;
  if (limits.fileTypes.length > 0 && !limits.fileTypes.includes(ext)) return `file type ${ext || "(none)"} is not in upload-file-types`;
  if (input.content.length > limits.maxFileBytes) return `file larger than upload-max-file-size (${limits.maxFileBytes})`;
  if (used + input.content.length > limits.maxTotalBytes) return `upload-max-total-size (${limits.maxTotalBytes}) reached`;
  return undefined;
}

/** The userData of the limits Notice. */
export function limitsUserData(limits: FileLimits, files: readonly SimFile[], downloads: number): Record<string, string> {
  const mine = files.filter((f) => f.from === "Client");
  return {
    "upload-max-files": String(limits.maxFiles),
    "upload-max-file-size": String(limits.maxFileBytes),
    "upload-max-total-size": String(limits.maxTotalBytes),
    "upload-file-types": limits.fileTypes.join(":"),
    "upload-need-agent": String(limits.needAgent),
    "used-upload-max-files": String(mine.length),
    "used-upload-max-total-size": String(mine.reduce((n, f) => n + f.content.length, 0)),
    "download-attempts": String(limits.downloadAttempts),
    "used-download-attempts": String(downloads),
    "delete-file": "enabled",
  };
}

/** The userData of a FileUploaded event. */
export function fileEventData(f: SimFile): Record<string, string> {
  return {
    ...f.userData,
    "file-id": f.fileId,
    "file-name": f.name,
    "file-size": String(f.content.length),
    "file-type": f.mediaType,
  };
}

/** What the control API tells of a file (the bytes apart). */
export function fileSummary(f: SimFile) {
  return {
    fileId: f.fileId,
    name: f.name,
    mediaType: f.mediaType,
    size: f.content.length,
    sha256: f.sha256,
    from: f.from,
    deleted: f.deleted,
  };
}
