// GMS failures as the project's errors (design.md "adapters": foreign errors
// are wrapped into the project's codes, with the original as cause).
//
// Classification (backends.md section 2; GMS "API Responses": statusCode 1 =
// the client may retry, 2 = retrying will not help):
//
// | what happened                                   | kind           | transient |
// |-------------------------------------------------|----------------|-----------|
// | HTTP 5xx, 408, 429                              | http           | yes       |
// | other non-2xx HTTP status (404: wrong base URL) | http           | no        |
// | no answer within requestTimeoutMs               | timeout        | yes       |
// | connection refused / reset, DNS, TLS            | network        | yes       |
// | an answer that is not JSON or not a GMS object  | invalid_answer | yes       |
// | statusCode 1                                    | status         | yes       |
// | statusCode 2 (or any other non-zero)            | status         | no        |
// | statusCode 0 without the ids of a new chat      | invalid_answer | no        |
//
// The secure key of a chat is a secret (design.md rule 6): it is cut out of
// every message built here, and the cause kept on a GenesysError is a plain
// Error with the same name, code and (redacted) message, never the axios
// error itself, whose `config.data` holds the form body (secureKey, userData).
import axios from "axios";
import { RouterError } from "../../errors.js";

/** The GMS operations, as the last path segment names them ("request" is request chat). */
export type GmsOp =
  | "request"
  | "send"
  | "refresh"
  | "startTyping"
  | "stopTyping"
  | "disconnect"
  | "updateData"
  | "customNotice"
  /** backends.md section 2, beyond the table: what the user has seen, and a new name. */
  | "readReceipt"
  | "updateNickname"
  /** The file calls (gms-files.ts): `…/file/limits`, `…/file`, `…/file/{fileId}/download`. */
  | "fileLimits"
  | "fileUpload"
  | "fileDownload"
  /** The Callback Services API (gms-callback.ts): start a callback, query callbacks by properties. */
  | "callbackStart"
  | "callbackQuery";

/** One `errors[]` item of a GMS answer. */
export interface GmsErrorItem {
  code: number | string;
  advice: string;
}

export type GenesysFailureKind = "status" | "http" | "timeout" | "network" | "invalid_answer";

export interface GenesysErrorDetails {
  op: GmsOp;
  kind: GenesysFailureKind;
  transient: boolean;
  serviceName: string;
  chatId?: string | undefined;
  /** The GMS statusCode, when GMS answered one. */
  statusCode?: number | undefined;
  /** The HTTP status, when there was an HTTP answer. */
  httpStatus?: number | undefined;
  errors?: GmsErrorItem[] | undefined;
  chatEnded?: boolean | undefined;
  cause?: unknown;
}

/** A GMS call that did not do what was asked. Never carries the secure key. */
export class GenesysError extends RouterError {
  readonly op: GmsOp;
  readonly kind: GenesysFailureKind;
  /** Worth retrying the same call later (see the table above). */
  readonly transient: boolean;
  readonly serviceName: string;
  readonly chatId: string | undefined;
  readonly statusCode: number | undefined;
  readonly httpStatus: number | undefined;
  readonly errors: GmsErrorItem[];
  /** GMS said the chat is over: no later call on it can succeed. */
  readonly chatEnded: boolean;

  constructor(message: string, details: GenesysErrorDetails) {
    super("SERVICE_UNAVAILABLE", message, { cause: details.cause });
    this.name = "GenesysError";
    this.op = details.op;
    this.kind = details.kind;
    this.transient = details.transient;
    this.serviceName = details.serviceName;
    this.chatId = details.chatId;
    this.statusCode = details.statusCode;
    this.httpStatus = details.httpStatus;
    this.errors = details.errors ?? [];
    this.chatEnded = details.chatEnded ?? false;
  }
}

export function isGenesysError(err: unknown): err is GenesysError {
  return err instanceof GenesysError;
}

export const REDACTED = "[redacted]";

/** `text` with every occurrence of each secret replaced by "[redacted]". */
export function redact(text: string, ...secrets: (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join(REDACTED);
  return out;
}

/** `errors[]` as one line: "249 Media server was not able to execute request." */
export function describeGmsErrors(errors: GmsErrorItem[]): string {
  return errors.map((e) => `${e.code} ${e.advice}`.trim()).join("; ");
}

/** Is an HTTP status worth retrying? */
export function transientHttpStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** A one-line description for logs; with the secure key (if given) cut out. */
export function describeGenesysError(err: unknown, ...secrets: (string | undefined)[]): string {
  let text: string;
  if (err instanceof GenesysError) {
    text = `${err.message}${err.transient ? " (transient)" : ""}`;
  } else if (axios.isAxiosError(err)) {
    text = err.response ? `HTTP ${err.response.status}` : `${err.code ?? "error"}: ${err.message}`;
  } else {
    text = err instanceof Error ? err.message : String(err);
  }
  return redact(text, ...secrets);
}

/**
 * A transport failure (axios or other) reduced to what is safe to keep as a
 * `cause`: name, code and redacted message; no request config, no body.
 */
export function safeCause(err: unknown, ...secrets: (string | undefined)[]): Error {
  if (!(err instanceof Error)) return new Error(redact(String(err), ...secrets));
  const copy = new Error(redact(err.message, ...secrets));
  copy.name = err.name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") (copy as Error & { code?: string }).code = code;
  // Keep only the stack's frames ("    at ..."): its first lines repeat the unredacted message.
  const frames = (err.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  copy.stack = [`${copy.name}: ${copy.message}`, ...frames].join("\n");
  return copy;
}
