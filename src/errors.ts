// The one error registry. Each code maps to its XMPP stanza error
// (RFC 6120 section 8.3: condition and type), the application condition
// element sent beside it (protocol.md section 2, namespace of the `x` element),
// and the HTTP status used by the admin API. docs/errors.md documents every
// code; test/unit/errors.test.ts keeps the two in step.

export type StanzaErrorType = "auth" | "cancel" | "continue" | "modify" | "wait";

/** RFC 6120 section 8.3.3 defined conditions used by the router. */
export type StanzaCondition =
  | "bad-request"
  | "feature-not-implemented"
  | "forbidden"
  | "internal-server-error"
  | "item-not-found"
  | "not-acceptable"
  | "not-allowed"
  | "not-authorized"
  | "policy-violation"
  | "recipient-unavailable"
  | "remote-server-timeout"
  | "resource-constraint"
  | "service-unavailable"
  | "unexpected-request";

export interface ErrorSpec {
  condition: StanzaCondition;
  type: StanzaErrorType;
  /** Local name of the application condition element. */
  app: string;
  http: number;
  /** One line, for docs and for the default `<text>`. */
  description: string;
}

export const ERRORS = {
  BAD_REQUEST: {
    condition: "bad-request",
    type: "modify",
    app: "invalid-payload",
    http: 400,
    description: "The stanza or request is malformed or a field is invalid; the text names the field.",
  },
  PAYLOAD_TOO_LARGE: {
    condition: "bad-request",
    type: "modify",
    app: "payload-too-large",
    http: 413,
    description: "The payload, a text or a list is longer than the configured limit.",
  },
  UNSUPPORTED_API_VERSION: {
    condition: "bad-request",
    type: "modify",
    app: "unsupported-api-version",
    http: 400,
    description: "payload.data.apiVersion is not 1, 2 or 2.1.",
  },
  API_VERSION_DISABLED: {
    condition: "policy-violation",
    type: "modify",
    app: "api-version-disabled",
    http: 403,
    description: "apiVersion 1 (or none) is turned off by protocol.acceptV1.",
  },
  IDENTITY_MISMATCH: {
    condition: "not-authorized",
    type: "auth",
    app: "identity-mismatch",
    http: 403,
    description: "The thread names a user other than the sender.",
  },
  FOREIGN_DOMAIN: {
    condition: "not-authorized",
    type: "auth",
    app: "foreign-domain",
    http: 403,
    description: "The sender is not a user of the router's user domain(s) (protocol.md section 8).",
  },
  INVALID_TOKEN: {
    condition: "not-authorized",
    type: "auth",
    app: "invalid-token",
    http: 401,
    description: "data.token was missing or rejected by the token verifier.",
  },
  NO_CHANNEL_FOUND: {
    condition: "item-not-found",
    type: "cancel",
    app: "no-channel-found",
    http: 404,
    description: "No channel of the directory has this address.",
  },
  ARCHIVE_ITEM_NOT_FOUND: {
    condition: "item-not-found",
    type: "cancel",
    app: "archive-item-not-found",
    http: 404,
    description:
      "A MAM query (XEP-0313) named an archive id (RSM after/before, after-id, before-id) that is not in the requester's archive.",
  },
  ARCHIVE_FIELD_UNKNOWN: {
    condition: "feature-not-implemented",
    type: "cancel",
    app: "archive-field-unknown",
    http: 400,
    description: "A MAM query form (XEP-0313) holds a field the archive does not support.",
  },
  NO_USER_FOUND: {
    condition: "item-not-found",
    type: "cancel",
    app: "no-user-found",
    http: 404,
    description: "No registered user has this MSISDN.",
  },
  NO_CONVERSATION_FOUND: {
    condition: "item-not-found",
    type: "cancel",
    app: "no-conversation-found",
    http: 404,
    description: "The notice refers to a conversation that does not exist.",
  },
  NO_OPERATOR_EPISODE: {
    condition: "unexpected-request",
    type: "cancel",
    app: "no-operator-episode",
    http: 409,
    description: "The notice needs an operator episode, and none is open.",
  },
  VOTING_CLOSED: {
    condition: "not-allowed",
    type: "cancel",
    app: "voting-closed",
    http: 409,
    description: "The conversation cannot be opened for voting (no closed operator episode within the voting window).",
  },
  OPERATOR_UNAVAILABLE: {
    condition: "service-unavailable",
    type: "cancel",
    app: "operator-unavailable",
    http: 503,
    description: "The channel routes to operators but no Genesys is configured.",
  },
  RATE_LIMITED: {
    condition: "policy-violation",
    type: "wait",
    app: "rate-limited",
    http: 429,
    description: "The sender went over a per-user rate limit; retry later.",
  },
  TOO_MANY_CONVERSATIONS: {
    condition: "policy-violation",
    type: "cancel",
    app: "too-many-conversations",
    http: 429,
    description: "The message would open one more conversation than security.maxOpenConversationsPerUser allows; nothing was stored.",
  },
  ROSTER_NOT_PERMITTED: {
    condition: "service-unavailable",
    type: "cancel",
    app: "roster-not-permitted",
    http: 503,
    description: "The XMPP server granted the router no roster privilege (XEP-0356).",
  },
  BUSY: {
    condition: "resource-constraint",
    type: "wait",
    app: "busy",
    http: 503,
    description: "The router is overloaded or shutting down and did not store the message: send it again later.",
  },
  SQL_ERROR: {
    condition: "internal-server-error",
    type: "wait",
    app: "sql-error",
    http: 500,
    description: "The database failed; nothing was changed.",
  },
  SERVICE_UNAVAILABLE: {
    condition: "service-unavailable",
    type: "cancel",
    app: "service-unavailable",
    http: 503,
    description: "Nothing here answers this request (an unknown iq, a channel without a route, a backend that cannot be reached now).",
  },
  INTERNAL_ERROR: {
    condition: "internal-server-error",
    type: "wait",
    app: "internal-error",
    http: 500,
    description: "An unexpected failure inside the router; it is logged.",
  },
  PLAIN_CLIENT_REFUSED: {
    condition: "policy-violation",
    type: "cancel",
    app: "plain-client-refused",
    http: 403,
    description: "A message without an x element (a plain XMPP client), and plain.enabled is false.",
  },
  UNAUTHORIZED: {
    condition: "not-authorized",
    type: "auth",
    app: "unauthorized",
    http: 401,
    description: "Admin API: missing or wrong bearer token. Genesys push: a device id the router did not make.",
  },
  NOT_FOUND: {
    condition: "item-not-found",
    type: "cancel",
    app: "not-found",
    http: 404,
    description: "Admin API: no such resource.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** An error the router means to report; `field` names what was wrong. */
export class RouterError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message?: string, options?: { field?: string; cause?: unknown }) {
    super(message ?? ERRORS[code].description, { cause: options?.cause });
    this.name = "RouterError";
    this.code = code;
    this.field = options?.field;
  }

  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }
}

export function isRouterError(err: unknown): err is RouterError {
  return err instanceof RouterError;
}
