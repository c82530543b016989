// Receipts for agent messages (backends.md 2b: "Delivered when the client's
// XEP-0184 receipt arrives, else when sent", "Failed when delivery to the
// user failed"). Each agent message sent to the user asks the client for a
// receipt (router/client-encoder.ts) and is remembered here by its stanza id
// (receipt-store.ts). Then, once per message, whichever comes first:
// - the client's `<received id>` → Delivered;
// - a bounce of the stanza (the user's server refused it) → Failed;
// - the client job a dead letter (it could not be written) → Failed;
// - `timeoutMs` passed and the stanza was written (a client that does not
//   send receipts, or is offline and its server keeps the message) → Delivered.
// The last two are found by a sweep every instance runs (the row is decided
// in one statement, so only one instance posts it). Posting is an outbox job
// (handlers/cloud-receipt.ts).
import type { Logger } from "../../log.js";
import type { ExpectedReceipt, ReceiptStore } from "./receipt-store.js";

export interface CloudReceiptsOptions {
  /** config genesysCloud.receiptTimeoutMs. */
  timeoutMs: number;
  /** How often the sweep runs; default a third of the timeout, within 100 ms..5 s. */
  sweepMs?: number;
}

export interface CloudReceipts {
  expect(r: Omit<ExpectedReceipt, "timeoutMs">): Promise<void>;
  /** The client's XEP-0184 receipt for a stanza of ours. */
  received(userJid: string, stanzaId: string): Promise<void>;
  /** A stanza of ours bounced with an error (RFC 6120 section 8.3). */
  bounced(userJid: string, stanzaId: string, condition: string): Promise<void>;
  sweep(): Promise<number>;
  start(): void;
  stop(): void;
}

const SWEEP_LIMIT = 500;
const KEEP_MS = 24 * 3600_000;
const PRUNE_EVERY = 200;

export function cloudReceipts(store: ReceiptStore, options: CloudReceiptsOptions, wake: () => void, log: Logger): CloudReceipts {
  const sweepMs = options.sweepMs ?? Math.min(5_000, Math.max(100, Math.floor(options.timeoutMs / 3)));
  let timer: NodeJS.Timeout | null = null;
  let started = false;
  let sweeps = 0;

  const woken = (enqueued: boolean | number) => {
    if (enqueued) wake();
  };

  async function sweep(): Promise<number> {
    const n = await store.sweep(SWEEP_LIMIT);
    woken(n);
    if (++sweeps % PRUNE_EVERY === 0) await store.prune(KEEP_MS);
    return n;
  }

  /** One sweep at a time: the next is scheduled when this one is over. */
  function schedule(): void {
    timer = setTimeout(() => {
      sweep()
        .catch((err: unknown) => log.warn({ err }, "Genesys Cloud receipt sweep failed"))
        .finally(() => {
          if (started) schedule();
        });
    }, sweepMs);
    timer.unref();
  }

  return {
    expect: (r) => store.expect({ ...r, timeoutMs: options.timeoutMs }),
    async received(userJid, stanzaId) {
      woken(await store.decide(userJid, stanzaId, "Delivered"));
    },
    async bounced(userJid, stanzaId, condition) {
      const failed = await store.decide(userJid, stanzaId, "Failed", `the user's server refused the message (${condition})`);
      if (failed) log.info({ condition }, "agent message bounced: Failed receipt");
      woken(failed);
    },
    sweep,
    start() {
      if (started) return;
      started = true;
      schedule();
    },
    stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
