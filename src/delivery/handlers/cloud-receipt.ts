// A Genesys Cloud receipt for an agent message (backends.md 2b): POST
// …/inbound/open/receipt, Delivered or Failed, decided once by
// adapters/genesys-cloud/receipts.ts, which enqueued this job. A refusal a
// retry will not change (a 4xx: e.g. the conversation is gone) is final at
// once; failing for good tells the user nothing (a receipt changes nothing
// the user sees).
import type { Config } from "../../config/schema.js";
import { doubling, errorText, type Job, type JobHandler } from "../job.js";

export const CLOUD_RECEIPT_JOB_TYPES = ["cloud_receipt"] as const;

export type PostReceipt = (
  integrationId: string,
  conversationId: string,
  messageId: string,
  status: "Delivered" | "Failed",
  reason?: string,
) => Promise<void>;

interface ReceiptJob {
  integrationId: string;
  conversationId: string;
  messageId: string;
  status: "Delivered" | "Failed";
  reason?: string;
}

const ATTEMPTS = 5;
const BUDGET_MARGIN_MS = 15_000;

export function cloudReceiptHandler(deps: { post: PostReceipt | null; config: Config }): JobHandler {
  const { config } = deps;
  const policy = {
    attempts: ATTEMPTS,
    backoffMs: doubling(config.outbox.backoffBaseMs, 30_000),
    budgetMs: config.genesysCloud.requestTimeoutMs + BUDGET_MARGIN_MS,
  };
  return {
    policy: () => policy,
    async run(job: Job) {
      if (!deps.post) return { status: "failed", error: "no Genesys Cloud back-end configured" };
      const p = job.payload as unknown as ReceiptJob;
      try {
        await deps.post(p.integrationId, p.conversationId, p.messageId, p.status, p.reason);
        return { status: "done" };
      } catch (err) {
        const final = (err as { transient?: boolean }).transient === false;
        return { status: final ? "failed" : "retry", error: errorText(err) };
      }
    },
  };
}
