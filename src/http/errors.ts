// Error answers of the HTTP side (operations.md "HTTP"): every one is
// `{error: {code, message, fields?: [{field, message}]}}` with the status of
// the code in the one registry (src/errors.ts). Fields are paths into the
// request body (or the name of a path or query parameter), dotted:
// `items.0.route.bot.url`, `3.msisdn`, `limit`.
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import type { z } from "zod";
import { ERRORS, RouterError, isRouterError, type ErrorCode } from "../errors.js";

export interface FieldError {
  field: string;
  message: string;
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; fields?: FieldError[] };
}

/** At most this many field errors are listed in one answer (a 10,000-user import could have 10,000). */
export const MAX_FIELD_ERRORS = 100;

/** A RouterError that names several fields. */
export class HttpError extends RouterError {
  readonly fields: FieldError[] | undefined;

  constructor(code: ErrorCode, message?: string, options?: { fields?: FieldError[]; cause?: unknown }) {
    super(code, message, { field: options?.fields?.[0]?.field, cause: options?.cause });
    this.name = "HttpError";
    this.fields = options?.fields;
  }
}

/** A 400 listing the fields; the message is the first one's. */
export function badRequest(fields: FieldError[], total = fields.length): HttpError {
  const first = fields[0];
  const head = first ? `${first.field}: ${first.message}` : "invalid request";
  const more = total > 1 ? ` (and ${total - 1} more)` : "";
  return new HttpError("BAD_REQUEST", head + more, { fields: fields.slice(0, MAX_FIELD_ERRORS) });
}

/** A zod path as a dotted field name; `root` for the whole value. */
export function fieldOf(path: readonly PropertyKey[], prefix = "", root = "body"): string {
  const field = [prefix, ...path.map(String)].filter((p) => p !== "").join(".");
  return field === "" ? root : field;
}

/** Every issue as a field error; an unknown key is named itself ("items.0.colour: unknown field"). */
export function zodFields(error: z.ZodError, prefix = "", root = "body"): FieldError[] {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => ({ field: fieldOf([...issue.path, key], prefix, root), message: "unknown field" }))
      : [{ field: fieldOf(issue.path, prefix, root), message: issue.message }],
  );
}

export function errorBody(code: ErrorCode, message: string, fields?: FieldError[]): ErrorBody {
  return { error: { code, message, ...(fields && fields.length > 0 ? { fields } : {}) } };
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, fields?: FieldError[]): FastifyReply {
  return reply
    .code(ERRORS[code].http)
    .type("application/json; charset=utf-8")
    .send(errorBody(code, message, fields));
}

/** Fastify's own client errors (body parsing, size, media type) as codes of the registry. */
function fromFastify(err: FastifyError): { code: ErrorCode; message: string; fields?: FieldError[] } {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        code: "PAYLOAD_TOO_LARGE",
        message: "the request body is larger than this endpoint accepts",
        fields: [{ field: "body", message: "too large" }],
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        code: "BAD_REQUEST",
        message: "the body must be application/json",
        fields: [{ field: "content-type", message: "must be application/json" }],
      };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { code: "BAD_REQUEST", message: "the JSON body is empty", fields: [{ field: "body", message: "empty" }] };
    default:
      // Malformed JSON (secure-json-parse sets statusCode 400): V8's message quotes the body around
      // the bad token, which may be a secret, so it is not echoed; only the position is kept.
      if (err instanceof SyntaxError || err.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
        const at = /position \d+/.exec(err.message)?.[0];
        const message = `the body is not valid JSON${at ? ` (at ${at})` : ""}`;
        return { code: "BAD_REQUEST", message, fields: [{ field: "body", message }] };
      }
      // Bad content-length, …
      return { code: "BAD_REQUEST", message: err.message, fields: [{ field: "body", message: err.message }] };
  }
}

/** The error handler and the 404 handler of the whole server. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (isRouterError(err)) {
      const status = err.spec.http;
      if (status >= 500) {
        request.log.error({ err, route: request.routeOptions.url }, "http request failed");
        // The message of a database error may quote SQL: the client gets the description only.
        return sendError(reply, err.code, ERRORS[err.code].description);
      }
      const fields =
        err instanceof HttpError ? err.fields : err.field !== undefined ? [{ field: err.field, message: err.message }] : undefined;
      return sendError(reply, err.code, err.message, fields);
    }
    const statusCode = (err as FastifyError).statusCode;
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      const e = fromFastify(err as FastifyError);
      return sendError(reply, e.code, e.message, e.fields);
    }
    request.log.error({ err, route: request.routeOptions.url }, "http request failed");
    return sendError(reply, "INTERNAL_ERROR", ERRORS.INTERNAL_ERROR.description);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, "NOT_FOUND", `no such resource: ${request.method} ${pathOnly(request.url)}`));
}

function pathOnly(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? url : url.slice(0, q);
}
