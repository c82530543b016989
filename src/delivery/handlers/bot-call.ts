// Bot calls (backends.md section 1, "What a stock Rasa really does"). The
// answer, `[]` included, becomes a `bot_replied` step that also deletes the
// job. A call is made again only when nothing can have reached the bot
// (refused, unknown host, a proxy's 502/503/504), or after any failure when
// the channel declares `route.bot.idempotent`: then the message stays queued,
// tried again with backoff, and after `bot.retries + 1` failed attempts the
// user is told ROUTER_BOT_UNAVAILABLE#0001, once. A failure after the bot may
// have seen the message is final (a dead letter, the user told once).
import { BotUnavailableError } from "../../adapters/bot/webhook-bot.js";
import type { Config } from "../../config/schema.js";
import type { BotReply, BotRequest } from "../../core/bot.js";
import type { BotPort } from "../../core/ports.js";
import type { Logger } from "../../log.js";
import type { Metrics } from "../../metrics.js";
import type { DirectoryCache } from "../../router/directory-cache.js";
import type { ConversationSteps } from "../conversation-port.js";
import { doubling, errorText, type Job, type JobHandler, type Outcome } from "../job.js";

export interface BotCallDeps {
  bot: BotPort;
  directory: DirectoryCache;
  steps: ConversationSteps;
  config: Config;
  log: Logger;
  metrics: Metrics;
}

/** Beyond the call's own timeout: the step that stores the answer. */
const BUDGET_MARGIN_MS = 15_000;
/** Tries of the answer's step (the database may be away); the bot is never called again for it. */
const STEP_TRIES = 5;

interface BotJob {
  channel: string;
  request: BotRequest;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export function botCallHandler(deps: BotCallDeps): JobHandler {
  const { directory, steps, config, log, metrics } = deps;
  const payloadOf = (job: Job) => job.payload as unknown as BotJob;
  const routeOf = async (job: Job) => (await directory.get()).channels.get(payloadOf(job).channel)?.route?.bot;

  async function storeAnswer(job: Job, replies: BotReply[]): Promise<Outcome> {
    const { request } = payloadOf(job);
    for (let n = 1; ; n++) {
      try {
        const { jobs } = await steps.apply(
          job.conversationId!,
          { type: "bot_replied", replies, cause: request.metadata.event },
          `bot:${job.idempotencyKey}`, // conversation-service.ts answersTo() finds the answer by this prefix
          { completeJob: job.id },
        );
        return { status: "done", completed: true, jobs };
      } catch (err) {
        if (n >= STEP_TRIES) return { status: "failed", error: `the bot answered, but its answer could not be stored: ${errorText(err)}` };
        await sleep(200 * 2 ** n);
      }
    }
  }

  /** The attempt whose failure the user hears of (once): after the quick retries. */
  const tellAfter = config.bot.retries + 1;
  const tellUnavailable = (job: Job) =>
    steps.tell(job.conversationId!, { kind: "notice", code: "ROUTER_BOT_UNAVAILABLE#0001" }, `${job.idempotencyKey}/unavailable`);

  return {
    async policy(job) {
      const route = await routeOf(job);
      return {
        attempts: Math.max(config.outbox.maxAttempts, config.bot.retries + 1),
        backoffMs: doubling(config.bot.retryBackoffMs, config.outbox.backoffMaxMs),
        budgetMs: (route?.timeoutMs ?? config.bot.timeoutMs) + BUDGET_MARGIN_MS,
      };
    },

    async run(job) {
      const route = await routeOf(job);
      if (!route) {
        log.warn({ conversationId: job.conversationId, channel: payloadOf(job).channel }, "channel has no bot any more: message not sent");
        return { status: "done" };
      }
      let replies: BotReply[];
      try {
        replies = await deps.bot.send(route.url, payloadOf(job).request, {
          ...(route.timeoutMs ? { timeoutMs: route.timeoutMs } : {}),
          ...(route.secret ? { secret: route.secret } : {}),
        });
      } catch (err) {
        metrics.errors.inc({ code: "BOT_UNAVAILABLE" });
        const again = route.idempotent === true || (err instanceof BotUnavailableError && !err.reached);
        if (!again) return { status: "failed", error: errorText(err) };
        const jobs = job.attempts === tellAfter ? await tellUnavailable(job) : [];
        return { status: "retry", error: errorText(err), jobs };
      }
      return storeAnswer(job, replies);
    },

    async deadLettered(job) {
      // Told already when it failed for the retries + 1st time.
      return job.attempts >= tellAfter ? [] : tellUnavailable(job);
    },
  };
}
