// A Rasa-REST-compatible sample bot for the router's tests and demo.
//
// It follows the webhook contract of spec/backends.md section 1 (not the
// router's code): `POST /webhooks/rest/webhook` (Rasa's REST channel path)
// with `{sender, message, metadata}`, answered with a JSON array like Rasa's
// REST channel. What it says is in replies.ts.
//
//   const bot = await startSampleBot();            // port 0: a free port
//   bot.url                                         // the webhook URL to configure
//   await bot.setMode("down"); await bot.setMode("normal");
//   bot.requests, bot.handled
//   await bot.stop();
//
// Other routes: `GET /` ("Hello from the sample bot", like Rasa's root),
// `GET /webhooks/rest/` ({"status":"ok"}, Rasa's REST channel health) and
// `GET /static/sample.png` (the image the bot sends) and `GET /static/echo.txt?text=…`
// (the text file it sends for "file <text>", after `setFileDelay(ms)`).
//
// Idempotency: an answered `metadata.messageId` (per sender) is answered again
// with the same reply and is not counted twice in `handled`; `requests` still
// records every POST.
//
// Modes (`setMode`), for tests that need a slow, failing or absent bot:
// - "normal"
// - "down": the listener is closed (connection refused); the next mode that is
//   not "down" listens again on the same port;
// - "error500": HTTP 500 with a JSON error body;
// - "garbage": HTTP 200 with a body that is not JSON;
// - { delayMs }: the normal answer, that much later;
// - { failRate, hangRate?, hangMs?, seed? }: a flaky bot (the fault suite,
//   faults/): each call fails with HTTP 500 with probability failRate, else
//   hangs hangMs before its normal answer with probability hangRate, else
//   answers at once; drawn from a PRNG seeded with `seed` (default 1), so a
//   run can be repeated;
// - { hangCalls, hangMs }: the first hangCalls calls of each user message
//   (event "message", by messageId) hang hangMs before answering, later ones
//   and other events answer at once (a bot that hangs past the router's
//   timeout, then recovers).
import { fastify } from "fastify";
import type { FastifyInstance } from "fastify";
import { botReply } from "./replies.js";
import type { BotRequest, RasaMessage } from "./replies.js";

export type { BotRequest, BotMetadata, BotEvent, RasaMessage, RasaButton } from "./replies.js";

export const WEBHOOK_PATH = "/webhooks/rest/webhook";

export type BotMode =
  | "normal"
  | "down"
  | "error500"
  | "garbage"
  | { delayMs: number }
  | { failRate: number; hangRate?: number; hangMs?: number; seed?: number }
  | { hangCalls: number; hangMs: number };

/** What one call gets under `mode`: a 500, garbage, or the answer after `delayMs`. */
type CallPlan = "error500" | "garbage" | { delayMs: number };

/** mulberry32: a small seeded PRNG, so a flaky run can be repeated. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SampleBotOptions {
  /** 0 (default) picks a free port; a later "down" → "normal" reuses the one picked. */
  port?: number;
  host?: string;
  mode?: BotMode;
  /** Called with one line per webhook request (the CLI prints them). */
  log?: (line: string) => void;
  /** The image URL the bot sends; default its own /static/sample.png. */
  imageUrl?: string;
}

export interface SampleBot {
  /** The webhook URL (`http://host:port/webhooks/rest/webhook`): what a channel's bot.url points at. */
  readonly url: string;
  /** `http://host:port`. */
  readonly baseUrl: string;
  readonly port: number;
  /** Every webhook request body received, in order (as received, even if invalid). */
  readonly requests: BotRequest[];
  /** Webhook requests answered, a repeated messageId counted once. */
  readonly handled: number;
  readonly mode: BotMode;
  setMode(mode: BotMode): Promise<void>;
  /** How long /static/echo.txt takes to answer (a slow file server); default 0. */
  setFileDelay(ms: number): void;
  /** GET /static/echo.txt requests received (reset() clears them). */
  readonly fileRequests: number;
  /** Forgets requests, handled count and the idempotency cache. */
  reset(): void;
  stop(): Promise<void>;
}

/** A 1×1 PNG. */
const SAMPLE_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

function isBotRequest(body: unknown): body is BotRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  return (
    typeof b["sender"] === "string" &&
    (b["message"] === undefined || typeof b["message"] === "string") &&
    (b["metadata"] === undefined || (typeof b["metadata"] === "object" && b["metadata"] !== null))
  );
}

function describe(reply: RasaMessage[]): string {
  const parts = reply.map((m) => {
    if (m.custom) return `custom(${JSON.stringify(m.custom)})`;
    if (m.image) return `image`;
    if (m.attachment) return `attachment`;
    return `text${m.buttons ? `+${m.buttons.length}buttons` : ""}`;
  });
  return `[${parts.join(", ")}]`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startSampleBot(opts: SampleBotOptions = {}): Promise<SampleBot> {
  const host = opts.host ?? "127.0.0.1";
  let port = opts.port ?? 0;
  let mode: BotMode = "normal";
  let app: FastifyInstance | undefined;
  let handled = 0;
  const requests: BotRequest[] = [];
  /** `${sender}\u0000${messageId}` → the reply already given. */
  const answered = new Map<string, RasaMessage[]>();
  const log = opts.log ?? (() => {});
  let random = prng(1);
  let fileDelayMs = 0;
  let fileRequests = 0;
  /** Calls seen per `${sender}\u0000${messageId}`, for { hangCalls }. */
  const calls = new Map<string, number>();
  const plan = (m: BotMode, key: string | undefined, event: string): CallPlan => {
    if (m === "error500" || m === "garbage") return m;
    if (typeof m !== "object") return { delayMs: 0 };
    if ("delayMs" in m) return m;
    if ("failRate" in m) {
      const r = random();
      if (r < m.failRate) return "error500";
      return r < m.failRate + (m.hangRate ?? 0) ? { delayMs: m.hangMs ?? 0 } : { delayMs: 0 };
    }
    if (event !== "message") return { delayMs: 0 };
    const n = (calls.get(key ?? "") ?? 0) + 1;
    calls.set(key ?? "", n);
    return { delayMs: n <= m.hangCalls ? m.hangMs : 0 };
  };
  const baseUrl = () => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  const build = (): FastifyInstance => {
    // forceCloseConnections: "down" must look like a crash, keep-alive sockets included.
    const a = fastify({ logger: false, forceCloseConnections: true });
    a.get("/", async (_req, reply) => reply.type("text/plain").send("Hello from the sample bot"));
    a.get("/webhooks/rest/", async () => ({ status: "ok" }));
    a.get("/static/sample.png", async (_req, reply) => reply.type("image/png").send(SAMPLE_PNG));
    a.get<{ Querystring: { text?: string } }>("/static/echo.txt", async (req, reply) => {
      fileRequests += 1;
      if (fileDelayMs > 0) await sleep(fileDelayMs);
      return reply.type("text/plain; charset=utf-8").send(req.query.text ?? "");
    });
    a.post(WEBHOOK_PATH, async (req, reply) => {
      const body = req.body as BotRequest;
      requests.push(body);
      const tag = isBotRequest(body)
        ? `sender=${body.sender} event=${body.metadata?.event ?? "message"} messageId=${body.metadata?.messageId ?? "-"}` +
          (body.message !== undefined ? ` text=${JSON.stringify(body.message.slice(0, 80))}` : "")
        : "invalid body";
      const messageId = isBotRequest(body) ? body.metadata?.messageId : undefined;
      const key = messageId === undefined ? undefined : `${body.sender}\u0000${messageId}`;
      const m = plan(mode, key, (isBotRequest(body) ? body.metadata?.event : undefined) ?? "message");
      if (m === "error500") {
        log(`POST ${WEBHOOK_PATH} ${tag} → 500 (mode ${JSON.stringify(mode)})`);
        return reply.code(500).send({ error: "simulated failure (mode error500)" });
      }
      if (m === "garbage") {
        log(`POST ${WEBHOOK_PATH} ${tag} → 200 garbage (mode ${JSON.stringify(mode)})`);
        return reply.code(200).type("text/html").send("<html><body>Bad Gateway? not JSON</body></html>");
      }
      if (!isBotRequest(body)) {
        log(`POST ${WEBHOOK_PATH} ${tag} → 400`);
        return reply.code(400).send({ error: "expected {sender: string, message?: string, metadata?: object}" });
      }
      // The reply is decided (and counted) on arrival, so a retry that arrives
      // while a delayed answer is still pending is recognised as a repeat.
      let out = key === undefined ? undefined : answered.get(key);
      const repeat = out !== undefined;
      if (out === undefined) {
        out = botReply(body, { imageUrl: opts.imageUrl ?? `${baseUrl()}/static/sample.png`, echoFileUrl: `${baseUrl()}/static/echo.txt` });
        handled += 1;
        if (key !== undefined) answered.set(key, out);
      }
      if (m.delayMs > 0) await sleep(m.delayMs);
      log(
        `POST ${WEBHOOK_PATH} ${tag} → 200 ${describe(out)}${repeat ? " (repeat)" : ""}` + (m.delayMs > 0 ? ` after ${m.delayMs} ms` : ""),
      );
      return reply.code(200).send(out);
    });
    return a;
  };

  const listen = async () => {
    const a = build();
    await a.listen({ port, host });
    const addr = a.server.address();
    if (addr !== null && typeof addr === "object") port = addr.port;
    app = a;
  };

  const setMode = async (next: BotMode) => {
    if (next === "down") {
      const a = app;
      app = undefined;
      mode = next;
      if (a) await a.close();
      return;
    }
    mode = next;
    random = prng(typeof next === "object" && "seed" in next ? (next.seed ?? 1) : 1);
    calls.clear();
    if (!app) await listen();
  };

  await setMode(opts.mode === "down" ? "normal" : (opts.mode ?? "normal"));
  if (opts.mode === "down") await setMode("down");

  return {
    get url() {
      return `${baseUrl()}${WEBHOOK_PATH}`;
    },
    get baseUrl() {
      return baseUrl();
    },
    get port() {
      return port;
    },
    requests,
    get handled() {
      return handled;
    },
    get mode() {
      return mode;
    },
    setMode,
    setFileDelay(ms) {
      fileDelayMs = ms;
    },
    get fileRequests() {
      return fileRequests;
    },
    reset() {
      fileRequests = 0;
      requests.length = 0;
      handled = 0;
      answered.clear();
      calls.clear();
    },
    async stop() {
      const a = app;
      app = undefined;
      if (a) await a.close();
    },
  };
}
