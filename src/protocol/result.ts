// The codecs' return type: a value or a typed, field-naming error. Codecs
// never throw on bad input (design.md rule 5); the caller turns a
// ProtocolError into a stanza error with stanza-error.ts (protocol.md §2).
import type { ErrorCode } from "../errors.js";

/** What was wrong with an input, and where. */
export interface ProtocolError {
  code: ErrorCode;
  /** The bad field, e.g. "payload.data.os", "thread", "x/action". */
  field: string;
  /** One line for the `<text>` of the stanza error; never echoes secrets. */
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function fail(code: ErrorCode, field: string, message: string): { ok: false; error: ProtocolError } {
  return { ok: false, error: { code, field, message } };
}
