// Operator back-end calls (backends.md section 2, GMS Chat API v2): request a
// chat (with the bot transcript), send the user's text, disconnect, and the
// post-chat vote as updateData when no survey webhook is configured; beyond
// the table, readReceipt and updateNickname.
//
// A send asks GMS for the transcript from the episode's position (GMS "Send
// Message" with transcriptPosition): its answer is applied like a poll's, in
// the step that completes the job, and the core handles each index once
// (whichever of the poll and the send brought it first). Before a send, the
// user's name is compared with the nickname Genesys knows (issue 17): a
// change queues updateNickname. A read receipt or a rename that a newer one
// overtook is done without a call (coalesced). A job of
// an episode that is over, or not the conversation's any more, is done
// without a call. A refusal a retry will not change (statusCode 2, a 4xx) is
// final at once; after the last attempt the user is told: a failed request
// becomes `operator_request_failed` (the core answers it), a lost message or
// vote GENESYS_ERROR#0001.
import type { Config } from "../../config/schema.js";
import type { HandoffRequest } from "../../core/bot.js";
import type { Conversation, OperatorEpisode as Episode } from "../../core/model.js";
import type { Clock, OperatorChatRequest, OperatorPort } from "../../core/ports.js";
import { isCloudServiceName } from "../../adapters/genesys-cloud/service-name.js";
import { keyRingFrom } from "../../security/keyring.js";
import type { Store } from "../../store/index.js";
import type { ConversationSteps } from "../conversation-port.js";
import { doubling, errorText, type Job, type JobHandler, type Outcome } from "../job.js";

/** Genesys calls are tried this many times before the user is told. */
const GENESYS_ATTEMPTS = 3;
const BUDGET_MARGIN_MS = 15_000;

export const OPERATOR_JOB_TYPES = [
  "request_operator",
  "send_operator",
  "disconnect_operator",
  "submit_vote",
  "read_receipt",
  "update_nickname",
] as const;

type OperatorJob =
  | { type: "request_operator"; episodeUuid: string; serviceName: string; handoff: HandoffRequest }
  | { type: "send_operator"; episodeUuid: string; text: string }
  | { type: "disconnect_operator"; episodeUuid: string }
  | { type: "submit_vote"; episodeUuid: string; text: string }
  | { type: "read_receipt"; episodeUuid: string; position: number }
  | { type: "update_nickname"; episodeUuid: string; nickname: string };

/** Nothing to tell the user when these fail for good: they change nothing the user sees. */
const SILENT_ON_FAILURE = new Set<OperatorJob["type"]>(["disconnect_operator", "read_receipt", "update_nickname"]);

export interface OperatorCallDeps {
  operator: OperatorPort | null;
  steps: ConversationSteps;
  store: Store;
  config: Config;
  clock: Clock;
}

const payloadOf = (job: Job) => job.payload as unknown as OperatorJob;

/** A refusal that a retry will not change is marked `transient: false` by the adapter. */
const isFinal = (err: unknown) => (err as { transient?: boolean }).transient === false;

export function operatorCallHandler(deps: OperatorCallDeps): JobHandler {
  const { steps, store, config } = deps;
  const policy = {
    attempts: GENESYS_ATTEMPTS,
    backoffMs: doubling(config.outbox.backoffBaseMs, 5_000),
    budgetMs: config.genesys.requestTimeoutMs + BUDGET_MARGIN_MS,
  };

  /** The conversation and its episode, when the job is still about them. */
  async function current(job: Job): Promise<{ c: Conversation; episode: Episode } | null> {
    const c = await steps.get(job.conversationId!);
    const episode = c?.episode;
    return c && episode && episode.uuid === payloadOf(job).episodeUuid ? { c, episode } : null;
  }

  /** The name Genesys knows the user by: the user's, else config genesys.nickname. */
  async function nicknameOf(c: Conversation): Promise<string> {
    const user = c.msisdn ? await store.users.get(c.msisdn) : null;
    return user?.name ?? config.genesys.nickname;
  }

  /** backends.md section 2: nickname, subject and userData, with the bot transcript. No raw MSISDN leaves the router. */
  async function chatRequest(c: Conversation, p: Extract<OperatorJob, { type: "request_operator" }>): Promise<OperatorChatRequest> {
    const transcript = await store.messages.transcript(c.id, 50);
    const lines = transcript
      .filter((m) => m.text)
      .map((m) => `${m.direction === "in" ? "user" : m.author}: ${m.text}`)
      .join("\n");
    return {
      serviceName: p.serviceName,
      nickname: await nicknameOf(c),
      subject: p.handoff.reason ?? c.chatTitle,
      userData: {
        ...p.handoff.userData,
        msisdnHash: c.msisdn ? keyRingFrom(config.security.secretKey).backendMsisdnHash(c.msisdn) : "", // keyed: not reversible by enumeration
        channel: c.channel,
        chatTitle: c.chatTitle,
        os: c.os ?? "",
        appVersion: c.appVersion ?? "",
        premium: String(c.premium),
        conversationId: c.id,
        episodeUuid: p.episodeUuid,
        botTranscript: lines,
      },
    };
  }

  async function call(job: Job, operator: OperatorPort, c: Conversation, episode: Episode): Promise<Outcome> {
    const p = payloadOf(job);
    switch (p.type) {
      case "request_operator": {
        if (episode.endedAt) return { status: "done" };
        const request = await chatRequest(c, p);
        const { nextPosition, ...chat } = await operator.requestChat(request);
        const { jobs } = await steps.apply(
          c.id,
          { type: "operator_accepted", episodeUuid: episode.uuid, chat },
          `acc:${job.idempotencyKey}`,
          {
            completeJob: job.id,
            patch: (next) => {
              if (next.episode?.uuid !== episode.uuid) return;
              next.episode.transcriptPosition = nextPosition;
              next.episode.nickname = request.nickname;
            },
          },
        );
        return { status: "done", completed: true, jobs };
      }
      case "send_operator":
        return send(job, operator, c, episode);
      case "disconnect_operator":
        if (episode.chat) await operator.disconnect(episode.serviceName, episode.chat);
        return { status: "done" };
      case "submit_vote":
        if (!episode.chat) return { status: "failed", error: "the episode has no Genesys chat to vote on" };
        await operator.updateData(episode.serviceName, episode.chat, { vote: p.text, voteAt: deps.clock.now().toISOString() });
        return { status: "done" };
      case "read_receipt":
        // A newer marker moved readPosition on: its own job tells GMS.
        if (episode.endedAt || !episode.chat || p.position < (episode.readPosition ?? 0)) return { status: "done" };
        await operator.readReceipt?.(episode.serviceName, episode.chat, p.position);
        return { status: "done" };
      case "update_nickname":
        if (episode.endedAt || !episode.chat || p.nickname !== episode.nickname) return { status: "done" };
        await operator.updateNickname?.(episode.serviceName, episode.chat, p.nickname);
        return { status: "done" };
    }
  }

  /**
   * The user's text, with the transcript from the episode's position in the
   * answer (GMS): applied in the step that completes the job. A rename of the
   * user since the chat was requested is queued first (issue 17).
   */
  async function send(job: Job, operator: OperatorPort, c: Conversation, episode: Episode): Promise<Outcome> {
    const p = payloadOf(job) as Extract<OperatorJob, { type: "send_operator" }>;
    if (episode.endedAt) return { status: "done" };
    if (!episode.chat) return { status: "retry", error: "chat not accepted yet" };
    const renamed = await renameJobs(job, c, episode);
    const poll = await operator.send(episode.serviceName, episode.chat, p.text, job.idempotencyKey, episode.transcriptPosition);
    // Only our own message came back (the common case): the position may wait for the next poll, no step needed.
    if (!poll || (poll.events.length === 0 && poll.alias === undefined)) return { status: "done", jobs: renamed };
    const event = {
      type: "operator_update",
      episodeUuid: episode.uuid,
      events: poll.events,
      nextPosition: poll.nextPosition,
      ...(poll.alias !== undefined ? { alias: poll.alias } : {}),
    } as const;
    const { jobs } = await steps.apply(c.id, event, `sent:${job.idempotencyKey}`, { completeJob: job.id });
    return { status: "done", completed: true, jobs: [...renamed, ...jobs] };
  }

  /** The jobs of a user_renamed step when the user's name is not the one Genesys knows (GMS episodes only). */
  async function renameJobs(job: Job, c: Conversation, episode: Episode): Promise<readonly Job[]> {
    if (isCloudServiceName(episode.serviceName)) return [];
    const nickname = await nicknameOf(c);
    if (nickname === episode.nickname) return [];
    const event = { type: "user_renamed", episodeUuid: episode.uuid, nickname } as const;
    return (await steps.apply(c.id, event, `nick:${job.idempotencyKey}`)).jobs;
  }

  return {
    policy: () => policy,

    async run(job) {
      const found = await current(job);
      if (!found) return { status: "done" };
      if (!deps.operator) return { status: "failed", error: "no operator service is configured" };
      try {
        return await call(job, deps.operator, found.c, found.episode);
      } catch (err) {
        return isFinal(err) ? { status: "failed", error: errorText(err) } : { status: "retry", error: errorText(err) };
      }
    },

    async deadLettered(job, error) {
      const found = await current(job);
      if (!found) return [];
      const p = payloadOf(job);
      if (p.type === "request_operator") {
        const event = { type: "operator_request_failed", episodeUuid: found.episode.uuid, reason: error } as const;
        return (await steps.apply(found.c.id, event, `reqfail:${job.idempotencyKey}`)).jobs;
      }
      if (SILENT_ON_FAILURE.has(p.type)) return [];
      return steps.tell(found.c.id, { kind: "notice", code: "GENESYS_ERROR#0001" }, `${job.idempotencyKey}/failed`, found.episode.uuid);
    },
  };
}
