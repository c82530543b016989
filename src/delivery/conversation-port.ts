// What the delivery handlers need of the conversation service: apply an event
// (a bot's answer, an accepted or failed operator request) or tell the user
// something, each as one committed step that returns its new jobs. The
// handlers never run those jobs themselves: they hand them to the executor
// in their outcome.
import type { ClientMessage } from "../core/client-message.js";
import type { ConversationEvent } from "../core/events.js";
import type { Conversation } from "../core/model.js";
import type { Job } from "./job.js";

export interface StepHooks {
  /** An outbox job this event completes, deleted in the same statement. */
  completeJob?: string;
  /** A change the shell makes beside the core's (e.g. the Genesys transcript position). */
  patch?: (c: Conversation) => void;
}

export interface ConversationSteps {
  get(id: string): Promise<Conversation | null>;
  apply(conversationId: string, event: ConversationEvent, eventKey: string, hooks?: StepHooks): Promise<{ jobs: readonly Job[] }>;
  /** A message for the user outside any state change; once per key. */
  tell(conversationId: string, message: ClientMessage, key: string, episodeUuid?: string | null): Promise<readonly Job[]>;
}
