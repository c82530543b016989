// The virtual-agent webhook client (backends.md section 1): POST the Rasa REST
// body, expect Rasa's JSON array back (`[]` is an answer: the bot had nothing
// to say). One call, no retry here: the delivery executor retries
// (src/delivery/handlers/bot-call.ts), and only a call that cannot have
// reached the bot (`reached: false`), because a stock Rasa has no
// idempotency and would take a repeated POST as a second user turn.
import type { BotReply } from "../../core/bot.js";
import type { BotPort } from "../../core/ports.js";
import { RouterError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { withoutControlChars } from "../../security/safe-text.js";
import { HttpPostError, postJson } from "./post-json.js";

export class BotUnavailableError extends RouterError {
  constructor(
    message: string,
    /** False when nothing can have reached the bot (refused, unknown host, a proxy's 502/503/504): safe to call again. */
    readonly reached: boolean,
    /** "timeout", "network", "too-large", "not-json", or the HTTP status. */
    readonly kind: string,
    cause: unknown,
  ) {
    super("SERVICE_UNAVAILABLE", message, { cause });
    this.name = "BotUnavailableError";
  }
}

export interface WebhookBotOptions {
  timeoutMs: number;
  /** Observes each HTTP call, for the latency histogram. */
  onAttempt?: (outcome: "ok" | "error", seconds: number) => void;
}

/** Errors of a connection that never got to the bot (DNS, refused, unreachable). */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
/** A proxy in front of the bot answered: the bot itself saw nothing. */
const PROXY_STATUSES = new Set(["502", "503", "504"]);

/** Keeps only array elements that are objects; anything else means the answer is not Rasa's. */
function parseReplies(body: string): BotReply[] | null {
  let parsed: unknown;
  try {
    // Characters XML forbids are replaced here: the text is stored (PostgreSQL refuses NUL) and sent on.
    parsed = withoutControlChars(JSON.parse(body));
  } catch {
    return null;
  }
  if (!Array.isArray(parsed)) return null;
  return parsed.filter((e): e is BotReply => typeof e === "object" && e !== null && !Array.isArray(e));
}

function unavailable(url: string, err: unknown): BotUnavailableError {
  const host = new URL(url).host;
  if (err instanceof HttpPostError) {
    const reached = !(err.kind === "stale-socket" || (err.kind === "network" ? NOT_SENT.has(err.message) : PROXY_STATUSES.has(err.kind)));
    return new BotUnavailableError(`bot at ${host} did not answer: ${err.message}`, reached, err.kind, err);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new BotUnavailableError(`bot at ${host} did not answer: ${message}`, true, "network", err);
}

export function createWebhookBot(options: WebhookBotOptions, log: Logger): BotPort {
  return {
    async send(url, request, opts = {}) {
      const started = performance.now();
      const timeoutMs = opts.timeoutMs ?? options.timeoutMs;
      try {
        const headers = opts.secret ? { authorization: `Bearer ${opts.secret}` } : undefined;
        const res = await postJson(url, request, { timeoutMs, ...(headers ? { headers } : {}) });
        if (res.status < 200 || res.status >= 300) throw new HttpPostError(`HTTP ${res.status}`, String(res.status));
        const replies = parseReplies(res.body);
        if (!replies) throw new HttpPostError("the answer is not a JSON array", "not-json");
        options.onAttempt?.("ok", (performance.now() - started) / 1000);
        return replies;
      } catch (err) {
        options.onAttempt?.("error", (performance.now() - started) / 1000);
        const failure = unavailable(url, err);
        log.warn(
          {
            conversationId: request.metadata.conversationId,
            messageId: request.metadata.messageId,
            reached: failure.reached,
            err: failure.message,
          },
          "bot call failed",
        );
        throw failure;
      }
    },
  };
}
