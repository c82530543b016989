// Genesys Cloud failures as the project's errors. `transient` says whether the
// outbox may try the same call again (operator-call.ts reads it): 5xx, 408,
// 429, timeouts and network failures are; other 4xx are not. Tokens and
// secrets never appear in a message (they are not put there).
import { RouterError } from "../../errors.js";

export type CloudOp = "token" | "message" | "event" | "receipt" | "conversation" | "disconnect";

export interface CloudErrorDetails {
  op: CloudOp;
  transient: boolean;
  httpStatus?: number;
  cause?: unknown;
}

export class CloudError extends RouterError {
  readonly op: CloudOp;
  readonly transient: boolean;
  readonly httpStatus: number | undefined;

  constructor(message: string, details: CloudErrorDetails) {
    super("SERVICE_UNAVAILABLE", message, details.cause === undefined ? {} : { cause: details.cause });
    this.name = "CloudError";
    this.op = details.op;
    this.transient = details.transient;
    this.httpStatus = details.httpStatus;
  }
}

export function transientStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}
