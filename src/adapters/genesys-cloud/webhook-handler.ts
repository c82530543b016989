// What a webhook message does to its conversation (backends.md 2b):
// - agent Text: the agent's message (and, while the episode is still queued,
//   "joined" first: the webhook has no join event), then each attachment as
//   a `file` event (its id: the webhook message id and its place), which the
//   router downloads from its URL, stores and sends the user
//   (delivery/handlers/cloud-files.ts); the message's receipt is expected
//   (receipts.ts: Delivered once the client acknowledges it, or it was sent
//   and the client stayed silent; Failed when it could not be delivered);
// - Event Typing: the agent types (On only);
// - Receipt (for the user's messages): shows the user nothing.
// Handled once per (id, channel.time) (webhook-dedup.ts); the step goes
// through the conversation service like any operator update, and its jobs to
// the delivery executor.
import type { Conversation } from "../../core/model.js";
import type { OperatorEvent } from "../../core/events.js";
import type { ConversationSteps } from "../../delivery/conversation-port.js";
import type { Job } from "../../delivery/job.js";
import { operatorAckKey, stanzaIdFor } from "../../delivery/jobs.js";
import type { Logger } from "../../log.js";
import type { CloudReceipts } from "./receipts.js";
import { isCloudServiceName, parseCloudServiceName } from "./service-name.js";
import type { WebhookDedup } from "./webhook-dedup.js";
import type { CloudAttachment, WebhookMessage } from "./webhook-message.js";
import type { WebhookOutcome } from "./webhook-route.js";

export interface WebhookHandlerDeps {
  dedup: WebhookDedup;
  steps: ConversationSteps;
  deliver: (jobs: readonly Job[]) => void;
  receipts: Pick<CloudReceipts, "expect">;
  log: Logger;
}

/** The conversation's open episode on this integration (a message naming another integration's conversation is not its). */
const openCloudEpisode = (c: Conversation | null, integrationId: string) => {
  const ep = c?.episode;
  if (!c || !ep || ep.endedAt || (c.state !== "queued" && c.state !== "operator") || !isCloudServiceName(ep.serviceName)) return null;
  return parseCloudServiceName(ep.serviceName).integrationId === integrationId ? ep : null;
};

/** An agent's attachment as the core's file event: downloaded from its URL by the receive_operator_file job. */
function fileEvent(messageId: string, index: number, a: CloudAttachment, nickname: string): OperatorEvent {
  const name = a.filename ?? lastSegment(a.url);
  return {
    kind: "file",
    fileId: `${messageId}#${index}`,
    nickname,
    url: a.url,
    ...(name ? { name } : {}),
    ...(a.mime ? { mediaType: a.mime } : {}),
  };
}

const lastSegment = (url: string): string | null => {
  try {
    const last = new URL(url).pathname.split("/").filter(Boolean).pop();
    return last ? decodeURIComponent(last).slice(0, 255) : null;
  } catch {
    return null;
  }
};

/** Seen messages are kept a day (Genesys retries for under a minute), pruned every PRUNE_EVERY claims. */
const KEEP_SEEN_MS = 24 * 3600_000;
const PRUNE_EVERY = 500;

export function cloudWebhookHandler(deps: WebhookHandlerDeps) {
  let claims = 0;
  async function apply(integrationId: string, c: Conversation, m: WebhookMessage & { kind: "text" | "typing" }): Promise<void> {
    const ep = c.episode!;
    const key = `gcw:${m.id}:${m.time}`;
    const events: OperatorEvent[] = [];
    const joins = m.kind === "text" && c.state === "queued";
    if (joins) events.push({ kind: "joined", nickname: m.nickname || "Operatore" });
    if (m.kind === "typing") events.push({ kind: "typing", typing: true });
    if (m.kind === "text") {
      const nickname = m.nickname || ep.agentNickname || "Operatore";
      if (m.text) events.push({ kind: "message", text: m.text, nickname, ackId: m.id });
      events.push(...m.attachments.map((a, i) => fileEvent(m.id, i, a, nickname)));
    }
    const { jobs } = await deps.steps.apply(c.id, { type: "operator_update", episodeUuid: ep.uuid, events }, key, {
      // One agent is known to have joined (conversation-state.ts counts joins in the position).
      patch: (next) => {
        if (joins && next.episode?.uuid === ep.uuid) next.episode.transcriptPosition = Math.max(next.episode.transcriptPosition, 2);
      },
    });
    try {
      // Expected before the stanza goes, so the client's receipt cannot come first.
      if (m.kind === "text") await expectReceipt(integrationId, c, m);
    } finally {
      deps.deliver(jobs);
    }
  }

  /** The receipt follows the text's stanza; a message of files alone has none to follow: Delivered after the timeout. */
  function expectReceipt(integrationId: string, c: Conversation, m: WebhookMessage & { kind: "text" }): Promise<void> {
    const clientKey = m.text ? operatorAckKey(c.episode!.uuid, m.id) : "";
    return deps.receipts.expect({
      userJid: c.userJid,
      stanzaId: clientKey ? stanzaIdFor(clientKey) : `gcfiles:${m.id}`,
      conversationId: m.conversationId,
      integrationId,
      messageId: m.id,
      clientKey,
    });
  }

  return async (integrationId: string, m: WebhookMessage): Promise<WebhookOutcome> => {
    if (m.kind !== "text" && m.kind !== "typing") return "ignored";
    const claim = await deps.dedup.claim(m.id, m.time);
    if (claim === "done") return "duplicate";
    // Being handled by another call: 503, and Genesys's next retry (5 s later) finds it done or free.
    if (claim === "busy") throw new Error(`webhook message ${m.id} is being handled by another call`);
    if (++claims % PRUNE_EVERY === 0) {
      deps.dedup.prune(KEEP_SEEN_MS).catch((err: unknown) => deps.log.warn({ err }, "Genesys Cloud webhook rows not pruned"));
    }
    try {
      const c = await deps.steps.get(m.conversationId);
      if (!openCloudEpisode(c, integrationId)) {
        deps.log.info(
          { integrationId, conversationId: m.conversationId, kind: m.kind },
          "Genesys Cloud webhook for no open episode: ignored",
        );
        await deps.dedup.done(m.id, m.time);
        return "ignored";
      }
      await apply(integrationId, c!, m);
      await deps.dedup.done(m.id, m.time);
    } catch (err) {
      await deps.dedup.release(m.id, m.time).catch(() => undefined);
      throw err;
    }
    return "handled";
  };
}
