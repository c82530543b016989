// The GMS Callback Services API (backends.md section 2c), behind CallbackPort.
// What this relies on (docs.genesys.com, GMS API Reference "Callback Services
// API", 8.1.2 to 8.5.2; docs/configuration.md "Callbacks" lists it):
//
//   POST {gms}/genesys/1/service/callback/{callback-execution-name}
//        form-encoded (the documented example) `_customer_number`, optional
//        `_desired_time` (ISO 8601; absent: an immediate callback), and any
//        other key as the callback's data → the ID generated for the
//        request, `_id` in a JSON object
//   GET  {gms}/genesys/1/service/callback/{callback-execution-name}?{key}={value}
//        "Query Callback by Properties" → the matching callback records,
//        each with `_id`, `_desired_time`, `_callback_state`, … and the keys
//        the service is configured to return
//
// Each booking carries `eime_request_id` (a hash of the router's job key, no
// personal data), so a job run again can ask GMS whether an earlier attempt
// booked. The customer number goes into the POST body and nowhere else: every
// message built here has it cut out, and a kept cause is a plain Error (never
// the axios error, whose config holds the body).
import type { AxiosInstance, AxiosResponse } from "axios";
import type { BookedCallback, CallbackPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import {
  GenesysError,
  describeGenesysError,
  redact,
  safeCause,
  transientHttpStatus,
  type GenesysErrorDetails,
  type GmsOp,
} from "./errors.js";
import { isTimeout, type GmsCallOutcome } from "./gms-operator.js";
import { gmsHttpClient } from "./http.js";

/** The data key that marks our bookings (GMS reserves keys starting with `_`). */
export const CALLBACK_REQUEST_FIELD = "eime_request_id";

export interface GmsCallbackOptions {
  baseUrl: string;
  requestTimeoutMs: number;
  onCall?: (op: GmsOp, outcome: GmsCallOutcome, seconds: number) => void;
}

const API_PATH = "/genesys/1/service/callback";
const MAX_ANSWER_BYTES = 1024 * 1024;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const stringAt = (o: Json, k: string): string | null => (typeof o[k] === "string" && o[k] !== "" ? o[k] : null);

/** The JSON of an answer, or undefined when it is not JSON. */
function parse(res: AxiosResponse<string>): unknown {
  try {
    return JSON.parse(res.data);
  } catch {
    return undefined;
  }
}

export function createGmsCallback(options: GmsCallbackOptions, log: Logger, http?: AxiosInstance): CallbackPort {
  const base = options.baseUrl.replace(/\/+$/, "") + API_PATH;
  const timeout = options.requestTimeoutMs;
  const client = http ?? gmsHttpClient({ responseType: "text", maxContentLength: MAX_ANSWER_BYTES });

  function failure(op: GmsOp, serviceName: string, detail: string, extra: Partial<GenesysErrorDetails>, secret?: string) {
    const err = new GenesysError(redact(`GMS ${op} on ${serviceName}: ${detail}`, secret), {
      op,
      kind: extra.kind ?? "http",
      transient: extra.transient ?? true,
      serviceName,
      httpStatus: extra.httpStatus,
      cause: extra.cause === undefined ? undefined : safeCause(extra.cause, secret),
    });
    log.warn({ op, serviceName, transient: err.transient, err: err.message }, "GMS callback call failed");
    return err;
  }

  /** One call; the answer with a 2xx status, or a GenesysError. `secret` (the number) is cut out of any message. */
  async function call(op: GmsOp, serviceName: string, send: () => Promise<AxiosResponse<string>>, secret?: string) {
    const started = performance.now();
    const observe = (outcome: GmsCallOutcome) => options.onCall?.(op, outcome, (performance.now() - started) / 1000);
    let res: AxiosResponse<string>;
    try {
      res = await send();
    } catch (err) {
      const timedOut = isTimeout(err);
      observe(timedOut ? "timeout" : "failed");
      const detail = timedOut ? `no answer within ${timeout} ms` : describeGenesysError(err, secret);
      throw failure(op, serviceName, detail, { kind: timedOut ? "timeout" : "network", cause: err }, secret);
    }
    if (res.status < 200 || res.status > 299) {
      observe("failed");
      // GMS explains a refusal in the body (not relied on: read for the log only).
      const body = parse(res);
      const why = isObject(body) ? (stringAt(body, "message") ?? stringAt(body, "phrase")) : null;
      const detail = `HTTP ${res.status}${why ? ` (${why.slice(0, 200)})` : ""}`;
      throw failure(op, serviceName, detail, { httpStatus: res.status, transient: transientHttpStatus(res.status) }, secret);
    }
    observe("ok");
    return res;
  }

  const url = (serviceName: string) => `${base}/${encodeURIComponent(serviceName)}`;
  const bounds = () => ({ timeout, signal: AbortSignal.timeout(timeout) });

  return {
    async book(serviceName, { customerNumber, desiredTime, requestId }) {
      const form = new URLSearchParams({ _customer_number: customerNumber, [CALLBACK_REQUEST_FIELD]: requestId });
      if (desiredTime) form.set("_desired_time", desiredTime);
      const res = await call("callbackStart", serviceName, () => client.post<string>(url(serviceName), form, bounds()), customerNumber);
      const body = parse(res);
      const id = isObject(body) ? stringAt(body, "_id") : null;
      // Booked or not is unknown here: the job's next attempt asks GMS (find) before booking again.
      if (!id) throw failure("callbackStart", serviceName, "answer without _id", { kind: "invalid_answer", httpStatus: res.status });
      const at = (isObject(body) && stringAt(body, "_desired_time")) || desiredTime;
      log.info({ op: "callbackStart", serviceName, callbackId: id, requestId }, "GMS callback booked");
      return { id, at };
    },

    async find(serviceName, requestId) {
      const res = await call("callbackQuery", serviceName, () =>
        client.get<string>(url(serviceName), { ...bounds(), params: { [CALLBACK_REQUEST_FIELD]: requestId } }),
      );
      const body = parse(res);
      if (!Array.isArray(body))
        throw failure("callbackQuery", serviceName, "answer is not a list of callbacks", { kind: "invalid_answer" });
      const records = body.filter(isObject);
      const ours = records.find((r) => r[CALLBACK_REQUEST_FIELD] === requestId && stringAt(r, "_id"));
      if (ours) return { id: stringAt(ours, "_id")!, at: stringAt(ours, "_desired_time") } satisfies BookedCallback;
      if (records.length === 0) return null;
      // Callbacks that do not show our key: the service may have ignored the filter. Booking again could book twice.
      throw failure("callbackQuery", serviceName, `answered callbacks without ${CALLBACK_REQUEST_FIELD}: cannot tell`, {
        kind: "invalid_answer",
        transient: false,
      });
    },
  };
}
