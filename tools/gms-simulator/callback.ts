// The simulator's GMS Callback Services API, as Genesys documents it
// (docs.genesys.com, GMS API Reference "Callback Services API", 8.1.2 to
// 8.5.2), not as the router uses it:
//
// - Start callback: POST /genesys/1/service/callback/{callback-execution-name},
//   form-encoded (the documented example) or JSON; `_customer_number` is
//   mandatory, `_desired_time` optional (ISO 8601; absent: an immediate
//   callback, state QUEUED; given: SCHEDULED), every other key is kept as the
//   callback's data. Answer 200 `{"_id": "…"}` (the ID generated for the
//   request). A missing number, a time that is not ISO 8601 or lies in the
//   past: HTTP 400 `{"message": "…"}` (the wording is the simulator's own).
//   Services may be limited (`services`): another name is HTTP 404.
// - Query Callback by Properties: GET /genesys/1/service/callback/{name}?{key}={value}&…
//   answers 200 with the list of that service's callbacks whose properties
//   all equal the given values, each with the always-returned keys (`_id`,
//   `_desired_time`, `_service_name`, `_callback_state`, `_expiration_time`,
//   `_customer_number`, `_url`) and its data.
//
// Faults (tests): inject({kind: "http500" | "refuse" | {delayMs}, times?}) for
// the next start calls: a 500 with nothing booked, a 400 with nothing booked,
// or a booking made and answered only after delayMs (a caller that gives up
// or dies meanwhile still has its callback booked).
//
// Control API (server.ts mounts it): GET /sim/callbacks (every booking),
// POST /sim/callbacks/inject (an injection, JSON), DELETE /sim/callbacks
// (forget bookings and injections).
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";

export interface SimCallback {
  _id: string;
  _service_name: string;
  _customer_number: string;
  /** ISO 8601, UTC; the request time for an immediate callback. */
  _desired_time: string;
  _callback_state: "QUEUED" | "SCHEDULED";
  _expiration_time: string;
  _url: string;
  /** The caller's other keys. */
  data: Record<string, string>;
  bookedAt: number;
}

export interface CallbackInjection {
  kind: "http500" | "refuse" | { delayMs: number };
  /** How many start calls it applies to (default 1). */
  times?: number;
}

type Answer = { status: number; body: unknown };

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;
const EXPIRY_MS = 24 * 3_600_000;

export class CallbackService {
  readonly bookings: SimCallback[] = [];
  #injections: (CallbackInjection & { times: number })[] = [];

  constructor(private readonly opts: { services?: string[]; log?: (line: string) => void; baseUrl?: () => string } = {}) {}

  inject(injection: CallbackInjection): void {
    this.#injections.push({ ...injection, times: injection.times ?? 1 });
  }

  reset(): void {
    this.bookings.length = 0;
    this.#injections = [];
  }

  /** The bookings of one service (all when unnamed), oldest first. */
  list(serviceName?: string): SimCallback[] {
    return this.bookings.filter((b) => serviceName === undefined || b._service_name === serviceName);
  }

  async start(serviceName: string, fields: Record<string, string>): Promise<Answer> {
    if (this.opts.services && !this.opts.services.includes(serviceName)) {
      return { status: 404, body: { message: `no callback service ${serviceName}` } };
    }
    const injection = this.#take();
    if (injection?.kind === "http500") return { status: 500, body: { message: "Internal Server Error (injected)" } };
    if (injection?.kind === "refuse") return { status: 400, body: { message: "callback refused (injected)" } };
    const { _customer_number: number, _desired_time: desired, ...data } = fields;
    if (!number) return { status: 400, body: { message: "_customer_number is mandatory" } };
    const now = Date.now();
    let when = now;
    if (desired !== undefined && desired !== "") {
      const t = ISO_DATE_TIME.test(desired) ? Date.parse(desired) : NaN;
      if (Number.isNaN(t)) return { status: 400, body: { message: "_desired_time must be ISO 8601" } };
      if (t < now - 60_000) return { status: 400, body: { message: "_desired_time is in the past" } };
      when = t;
    }
    const id = randomBytes(16).toString("hex");
    const booking: SimCallback = {
      _id: id,
      _service_name: serviceName,
      _customer_number: number,
      _desired_time: new Date(when).toISOString(),
      _callback_state: desired ? "SCHEDULED" : "QUEUED",
      _expiration_time: new Date(when + EXPIRY_MS).toISOString(),
      _url: `${this.opts.baseUrl?.() ?? ""}/genesys/1/service/${id}`,
      data,
      bookedAt: now,
    };
    this.bookings.push(booking);
    this.opts.log?.(`callback booked ${id} on ${serviceName} (${booking._callback_state})`);
    if (injection && typeof injection.kind === "object")
      await new Promise((r) => setTimeout(r, (injection.kind as { delayMs: number }).delayMs));
    return { status: 200, body: { _id: id } };
  }

  query(serviceName: string, props: Record<string, string>): Answer {
    const matches = this.list(serviceName)
      .map(record)
      .filter((r) => Object.entries(props).every(([k, v]) => r[k] === v));
    return { status: 200, body: matches };
  }

  #take(): CallbackInjection | undefined {
    const i = this.#injections[0];
    if (!i) return undefined;
    i.times -= 1;
    if (i.times <= 0) this.#injections.shift();
    return i;
  }
}

/** A booking as the Query Callback answers it: the documented keys, then the callback's data. */
function record(b: SimCallback): Record<string, string> {
  const { data, bookedAt: _bookedAt, ...keys } = b;
  return { ...data, ...keys };
}

const strings = (o: unknown): Record<string, string> => {
  if (typeof o !== "object" || o === null || Array.isArray(o)) return {};
  return Object.fromEntries(
    Object.entries(o as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
};

function injectionOf(j: Record<string, unknown>): CallbackInjection {
  const k = j["kind"];
  const times = typeof j["times"] === "number" ? { times: j["times"] } : {};
  if (k === "http500" || k === "refuse") return { kind: k, ...times };
  const delayMs = typeof k === "object" && k !== null ? (k as Record<string, unknown>)["delayMs"] : j["delayMs"];
  if ((k === "delay" || typeof k === "object") && typeof delayMs === "number") return { kind: { delayMs }, ...times };
  throw Object.assign(new Error('kind must be "http500", "refuse", "delay" (with delayMs) or {delayMs}'), { statusCode: 400 });
}

/** The Callback Services API routes and their control API on the simulator's server (form bodies are parsed there). */
export function registerCallbackRoutes(app: FastifyInstance, service: CallbackService): void {
  app.post<{ Params: { name: string } }>("/genesys/1/service/callback/:name", async (req, reply) => {
    const a = await service.start(req.params.name, strings(req.body));
    return reply.code(a.status).send(a.body);
  });
  app.get<{ Params: { name: string }; Querystring: Record<string, unknown> }>("/genesys/1/service/callback/:name", async (req, reply) => {
    const a = service.query(req.params.name, strings(req.query));
    return reply.code(a.status).send(a.body);
  });
  app.get("/sim/callbacks", async () => service.list());
  app.post("/sim/callbacks/inject", async (req) => {
    const body = typeof req.body === "object" && req.body !== null ? (req.body as Record<string, unknown>) : {};
    service.inject(injectionOf(body));
    return { ok: true };
  });
  app.delete("/sim/callbacks", async () => {
    service.reset();
    return { ok: true };
  });
}
