// The virtual-agent webhook client (backends.md section 1): POST the Rasa REST
// body, expect Rasa's JSON array back. A reply that is not 2xx, not JSON or
// later than the timeout is retried with backoff, with the same messageId so
// the bot can recognise it; after the last try the caller gets a
// BotUnavailableError and keeps the message for a later retry (outbox).
import type { BotReply, BotRequest } from "../../core/bot.js";
import type { BotPort } from "../../core/ports.js";
import { RouterError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { xmlSafeJson } from "../../protocol/xml-chars.js";
import { HttpPostError, postJson } from "./post-json.js";

export class BotUnavailableError extends RouterError {
  constructor(message: string, cause: unknown) {
    super("SERVICE_UNAVAILABLE", message, { cause });
    this.name = "BotUnavailableError";
  }
}

export interface WebhookBotOptions {
  timeoutMs: number;
  /** Further tries after the first (backends.md: up to 3). */
  retries: number;
  retryBackoffMs: number;
  /** Observes each HTTP attempt, for the latency histogram. */
  onAttempt?: (outcome: "ok" | "error", seconds: number) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps only array elements that are objects; anything else means the answer is not Rasa's. */
function parseReplies(body: string): BotReply[] {
  // Characters XML forbids are replaced here: the text is stored (PostgreSQL refuses NUL) and sent on.
  const parsed: unknown = xmlSafeJson(JSON.parse(body));
  if (!Array.isArray(parsed)) throw new Error("bot answer is not a JSON array");
  return parsed.filter((e): e is BotReply => typeof e === "object" && e !== null && !Array.isArray(e));
}

export function createWebhookBot(options: WebhookBotOptions, log: Logger): BotPort {
  async function attempt(url: string, request: BotRequest, timeoutMs: number, secret?: string): Promise<BotReply[]> {
    const started = performance.now();
    try {
      const res = await postJson(url, request, { timeoutMs, ...(secret ? { headers: { authorization: `Bearer ${secret}` } } : {}) });
      if (res.status < 200 || res.status >= 300) throw new HttpPostError(`HTTP ${res.status}`, String(res.status));
      const replies = parseReplies(res.body);
      options.onAttempt?.("ok", (performance.now() - started) / 1000);
      return replies;
    } catch (err) {
      options.onAttempt?.("error", (performance.now() - started) / 1000);
      throw err;
    }
  }

  return {
    async send(url, request, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? options.timeoutMs;
      let lastError: unknown;
      for (let i = 0; i <= options.retries; i++) {
        if (i > 0) await sleep(options.retryBackoffMs * 2 ** (i - 1));
        try {
          return await attempt(url, request, timeoutMs, opts.secret);
        } catch (err) {
          lastError = err;
          log.warn(
            { conversationId: request.metadata.conversationId, messageId: request.metadata.messageId, attempt: i + 1, err: describe(err) },
            "bot call failed",
          );
        }
      }
      throw new BotUnavailableError(`bot at ${new URL(url).host} did not answer: ${describe(lastError)}`, lastError);
    },
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
