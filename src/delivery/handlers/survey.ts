// The post-chat vote sent to the survey webhook (protocol.md section 5,
// voting.surveyUrl): a JSON POST with the conversation, the episode, the
// channel and the vote. Retried like the other operator calls; after the
// last attempt the user is told GENESYS_ERROR#0001.
import axios from "axios";
import type { Config } from "../../config/schema.js";
import type { Clock } from "../../core/ports.js";
import type { ConversationSteps } from "../conversation-port.js";
import { doubling, errorText, type JobHandler } from "../job.js";

const SURVEY_ATTEMPTS = 3;

export interface SurveyDeps {
  surveyUrl: string;
  steps: ConversationSteps;
  config: Config;
  clock: Clock;
}

export function surveyHandler({ surveyUrl, steps, config, clock }: SurveyDeps): JobHandler {
  const timeout = config.genesys.requestTimeoutMs;
  const policy = { attempts: SURVEY_ATTEMPTS, backoffMs: doubling(config.outbox.backoffBaseMs, 5_000), budgetMs: timeout + 5_000 };
  const payloadOf = (payload: Record<string, unknown>) => payload as { episodeUuid: string; text: string };
  return {
    policy: () => policy,

    async run(job) {
      const c = await steps.get(job.conversationId!);
      const { episodeUuid, text } = payloadOf(job.payload);
      if (!c || c.episode?.uuid !== episodeUuid) return { status: "done" };
      try {
        const at = clock.now().toISOString();
        await axios.post(surveyUrl, { conversationId: c.id, episodeUuid, channel: c.channel, vote: text, at }, { timeout });
        return { status: "done" };
      } catch (err) {
        return { status: "retry", error: errorText(err) };
      }
    },

    async deadLettered(job) {
      const { episodeUuid } = payloadOf(job.payload);
      return steps.tell(job.conversationId!, { kind: "notice", code: "GENESYS_ERROR#0001" }, `${job.idempotencyKey}/failed`, episodeUuid);
    },
  };
}
