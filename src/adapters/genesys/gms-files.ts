// The GMS Chat API v2 file calls (backends.md section 2, "What the GMS
// documentation says beyond the table"; docs/attachments.md names what this
// relies on), behind OperatorFilesPort:
//
//   POST …/{chatId}/file/limits               userId, secureKey, alias → a Notice
//        ("file-client-cfg-get") whose userData holds the Chat Server limits
//        (upload-max-files, upload-max-file-size, upload-max-total-size,
//        upload-file-types, upload-need-agent, used-upload-max-files,
//        used-upload-max-total-size, download-attempts, used-download-attempts)
//   POST …/{chatId}/file                      multipart/form-data: the ids, `file`,
//        userData[...] → userData["file-id"]
//   POST …/{chatId}/file/{fileId}/download    the ids → the file's bytes
//
// A non-zero statusCode is a GenesysError as for the other calls (statusCode 1
// transient, anything else final: for an upload, the back-end refused the
// file). Kept apart from gms-operator.ts: the file calls have their own bodies
// (multipart in, bytes out) and bounds (a file may be larger than an answer).
import axios, { type AxiosInstance, type AxiosResponse } from "axios";
import type { GenesysChatIds } from "../../core/model.js";
import type { OperatorFileLimits, OperatorFilesPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import { parseGmsAnswer, type GmsAnswer } from "./answer.js";
import {
  GenesysError,
  describeGenesysError,
  describeGmsErrors,
  redact,
  safeCause,
  transientHttpStatus,
  type GenesysErrorDetails,
  type GmsOp,
} from "./errors.js";
import { isTimeout, type GmsCallOutcome } from "./gms-operator.js";
import { gmsHttpClient } from "./http.js";

/** Chat Server's defaults (ESChat "File Transfer", section client-file-transfer), when the limits answer leaves one out. */
export const CHAT_SERVER_FILE_DEFAULTS = { maxFiles: 3, maxFileBytes: 2 * 1024 * 1024, maxTotalBytes: 5 * 1024 * 1024 } as const;

/** The userData key our uploads carry, so a retry after a crash can see the upload already went. */
export const UPLOAD_KEY_FIELD = "eime-upload-key";

export interface GmsFilesOptions {
  baseUrl: string;
  /** Bound of each call (an upload or download included). */
  requestTimeoutMs: number;
  onCall?: (op: GmsOp, outcome: GmsCallOutcome, seconds: number) => void;
}

const API_PATH = "/genesys/2/chat";
const MAX_ANSWER_BYTES = 5 * 1024 * 1024;

const count = (v: string | undefined, dflt: number): number => {
  const n = v === undefined ? NaN : Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : dflt;
};

/** The limits of a `…/file/limits` answer: the Notice's userData (as GMS answers), else the answer's own. */
export function readFileLimits(answer: GmsAnswer): OperatorFileLimits {
  const notice = answer.messages.find((m) => m.userData && "upload-max-file-size" in m.userData);
  const d = notice?.userData ?? answer.userData;
  const types = (d["upload-file-types"] ?? "")
    .split(/[:,;\s]+/)
    .map((t) => t.trim().toLowerCase().replace(/^\./, ""))
    .filter((t) => t !== "");
  const downloads = count(d["download-attempts"], -1);
  return {
    maxFiles: count(d["upload-max-files"], CHAT_SERVER_FILE_DEFAULTS.maxFiles),
    maxFileBytes: count(d["upload-max-file-size"], CHAT_SERVER_FILE_DEFAULTS.maxFileBytes),
    maxTotalBytes: count(d["upload-max-total-size"], CHAT_SERVER_FILE_DEFAULTS.maxTotalBytes),
    fileTypes: types,
    needsAgent: d["upload-need-agent"] === "true",
    usedFiles: count(d["used-upload-max-files"], 0),
    usedTotalBytes: count(d["used-upload-max-total-size"], 0),
    ...(downloads >= 0 ? { maxDownloads: downloads, usedDownloads: count(d["used-download-attempts"], 0) } : {}),
  };
}

export function createGmsFiles(options: GmsFilesOptions, log: Logger, http?: AxiosInstance): OperatorFilesPort {
  const baseUrl = options.baseUrl.replace(/\/+$/, "") + API_PATH;
  const timeoutMs = options.requestTimeoutMs;
  const client = http ?? gmsHttpClient();

  const url = (serviceName: string, chatId: string, path: string) =>
    `${baseUrl}/${encodeURIComponent(serviceName)}/${encodeURIComponent(chatId)}/${path}`;
  const ids = (chat: GenesysChatIds) => ({ userId: chat.userId, secureKey: chat.secureKey, alias: chat.alias });

  function failure(op: GmsOp, serviceName: string, chat: GenesysChatIds, detail: string, extra: Partial<GenesysErrorDetails>) {
    const err = new GenesysError(redact(`GMS ${op} ${chat.chatId} on ${serviceName}: ${detail}`, chat.secureKey), {
      op,
      kind: extra.kind ?? "http",
      transient: extra.transient ?? true,
      serviceName,
      chatId: chat.chatId,
      httpStatus: extra.httpStatus,
      statusCode: extra.statusCode,
      errors: extra.errors,
      chatEnded: extra.chatEnded,
      cause: extra.cause === undefined ? undefined : safeCause(extra.cause, chat.secureKey),
    });
    log.warn({ op, serviceName, chatId: chat.chatId, transient: err.transient, err: err.message }, "GMS file call failed");
    return err;
  }

  /** One POST; the raw answer, or a GenesysError when there is none (timeout, network, HTTP error status). */
  async function post(
    op: GmsOp,
    serviceName: string,
    chat: GenesysChatIds,
    path: string,
    body: URLSearchParams | FormData,
    maxBytes: number,
  ): Promise<AxiosResponse<ArrayBuffer>> {
    const started = performance.now();
    const observe = (outcome: GmsCallOutcome) => options.onCall?.(op, outcome, (performance.now() - started) / 1000);
    let res: AxiosResponse<ArrayBuffer>;
    try {
      res = await client.post<ArrayBuffer>(url(serviceName, chat.chatId, path), body, {
        timeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        responseType: "arraybuffer",
        maxContentLength: maxBytes,
        maxBodyLength: Infinity,
      });
    } catch (err) {
      const timeout = isTimeout(err);
      const tooLarge = axios.isAxiosError(err) && /maxContentLength/.test(err.message);
      observe(timeout ? "timeout" : "failed");
      if (tooLarge)
        throw failure(op, serviceName, chat, `answer larger than ${maxBytes} bytes`, { kind: "invalid_answer", transient: false });
      throw failure(op, serviceName, chat, timeout ? `no answer within ${timeoutMs} ms` : describeGenesysError(err, chat.secureKey), {
        kind: timeout ? "timeout" : "network",
        cause: err,
      });
    }
    if (res.status < 200 || res.status > 299) {
      observe("failed");
      throw failure(op, serviceName, chat, `HTTP ${res.status}`, { httpStatus: res.status, transient: transientHttpStatus(res.status) });
    }
    observe("ok");
    return res;
  }

  /** A call that answers JSON: the answer on statusCode 0, a GenesysError otherwise. */
  async function call(
    op: GmsOp,
    serviceName: string,
    chat: GenesysChatIds,
    path: string,
    body: URLSearchParams | FormData,
  ): Promise<GmsAnswer> {
    const res = await post(op, serviceName, chat, path, body, MAX_ANSWER_BYTES);
    const answer = parseGmsAnswer(Buffer.from(res.data).toString("utf8"));
    if ("invalid" in answer) throw failure(op, serviceName, chat, answer.invalid, { kind: "invalid_answer", httpStatus: res.status });
    if (answer.statusCode === 0) return answer;
    const errors = answer.errors.map((e) => ({ code: e.code, advice: redact(e.advice, chat.secureKey) }));
    throw failure(op, serviceName, chat, `statusCode ${answer.statusCode}${errors.length ? ` (${describeGmsErrors(errors)})` : ""}`, {
      kind: "status",
      transient: answer.statusCode === 1 && !answer.chatEnded,
      statusCode: answer.statusCode,
      errors,
      chatEnded: answer.chatEnded,
    });
  }

  return {
    async limits(serviceName, chat) {
      return readFileLimits(await call("fileLimits", serviceName, chat, "file/limits", new URLSearchParams(ids(chat))));
    },

    async upload(serviceName, chat, file, key) {
      const form = new FormData();
      for (const [k, v] of Object.entries(ids(chat))) form.append(k, v);
      form.append(`userData[${UPLOAD_KEY_FIELD}]`, key);
      form.append("file", new Blob([file.content], { type: file.mediaType }), file.name);
      const answer = await call("fileUpload", serviceName, chat, "file", form);
      const fileId = answer.userData["file-id"];
      if (!fileId)
        throw failure("fileUpload", serviceName, chat, "statusCode 0 without userData file-id", {
          kind: "invalid_answer",
          transient: false,
        });
      log.info({ op: "fileUpload", serviceName, chatId: chat.chatId, fileId, size: file.content.length }, "GMS file uploaded");
      return { fileId };
    },

    async uploadedBefore(serviceName, chat, key) {
      // The whole transcript (refresh is a read): our own FileUploaded events carry the key we gave.
      const form = new URLSearchParams({ ...ids(chat), transcriptPosition: "1" });
      const answer = await call("refresh", serviceName, chat, "refresh", form);
      return answer.messages.some((m) => m.type === "FileUploaded" && m.from.type === "Client" && m.userData?.[UPLOAD_KEY_FIELD] === key);
    },

    async download(serviceName, chat, fileId, maxBytes) {
      const path = `file/${encodeURIComponent(fileId)}/download`;
      const res = await post("fileDownload", serviceName, chat, path, new URLSearchParams(ids(chat)), maxBytes);
      const type = String(res.headers["content-type"] ?? "application/octet-stream");
      const content = Buffer.from(res.data);
      // GMS answers an error as JSON in an HTTP 200, where a file was asked for.
      if (type.startsWith("application/json")) {
        const answer = parseGmsAnswer(content.toString("utf8"));
        if (!("invalid" in answer) && answer.statusCode !== 0) {
          throw failure("fileDownload", serviceName, chat, `statusCode ${answer.statusCode}`, {
            kind: "status",
            transient: answer.statusCode === 1,
            statusCode: answer.statusCode,
          });
        }
      }
      const name = /filename="?([^";]+)"?/i.exec(String(res.headers["content-disposition"] ?? ""))?.[1];
      return { name: name ?? fileId, mediaType: type.split(";")[0]!.trim(), content };
    },
  };
}
