// What the delivery executor runs and what a handler answers: the small port
// between the executor (claims, leases, attempts, dead letters) and the
// handler of one kind of job (what a delivery means for its target).
import type { Element } from "@xmpp/xml";
import type { OutboxItem } from "../store/index.js";

/**
 * An outbox row as the executor runs it. A client job built in this process
 * carries its stanza, so it is not parsed back from the row; `mine` is false
 * for a new row that waits behind an earlier one of its chain (the claim loop
 * takes it later).
 */
export type Job = OutboxItem & { stanza?: Element; mine?: boolean };

export type Outcome =
  /** Done. `completed`: the step the handler applied deleted the row already. `jobs`: that step's new jobs. */
  | { status: "done"; completed?: boolean; jobs?: readonly Job[] }
  /** A stanza written to the server: the row is deleted soon after, in a batch or by the conversation's next step. */
  | { status: "sent" }
  /** Failed; may be tried again while attempts remain. `jobs`: of a step that told the user meanwhile. */
  | { status: "retry"; error: string; jobs?: readonly Job[] }
  /** Failed for good: a dead letter now. */
  | { status: "failed"; error: string };

export interface Policy {
  /** Attempts in all (the first included) before the job becomes a dead letter. */
  attempts: number;
  /** Wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. */
  backoffMs(attempt: number): number;
  /** Longest one attempt may run (its outside call's timeout plus a margin); null: as long as the owner lives. */
  budgetMs: number | null;
}

export interface JobHandler {
  policy(job: Job): Policy | Promise<Policy>;
  run(job: Job): Promise<Outcome>;
  /** Called once the job is a dead letter: tell the user, keyed so it happens once. Returns the new jobs of that step. */
  deadLettered?(job: Job, error: string): Promise<readonly Job[]>;
}

/** Doubling from `baseMs`, at most `maxMs`. */
export function doubling(baseMs: number, maxMs: number): (attempt: number) => number {
  return (attempt) => Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
