// Fair under load (issue 12 item 6, design.md rule 8: no input can hurt anyone
// else). Two bounds per sender (bare JID), beside the router-wide
// xmpp.maxInFlight of dispatch.ts:
// - a share of the in-flight bound: one sender may have at most
//   max(20, maxInFlight × senderShare) messages received and not yet handled;
//   beyond it that sender is answered BUSY (resource-constraint, wait) while
//   the rest of the bound stays free for others;
// - a message rate (xmpp.senderRateMessages per xmpp.senderRateWindowMs, a
//   fixed window, rate-limiter-flexible in memory): beyond it RATE_LIMITED
//   (policy-violation, wait). Every message counts, also one answered BUSY,
//   so a sender that floods is slowed down, not only queued.
// Both are per instance: with several routers behind one server a sender's
// messages spread over them, and each bounds its own share.
import { RateLimiterMemory } from "rate-limiter-flexible";

export interface FairShareOptions {
  /** xmpp.maxInFlight. */
  maxInFlight: number;
  /** xmpp.senderShare: the fraction of maxInFlight one sender may hold. */
  senderShare: number;
  /** xmpp.senderRateMessages: messages per window and sender; 0 turns the rate off. */
  senderRateMessages: number;
  /** xmpp.senderRateWindowMs. */
  senderRateWindowMs: number;
}

/** What config/default.json says, for a config object without these keys (tests, older files). */
export const FAIR_SHARE_DEFAULTS = { senderShare: 0.1, senderRateMessages: 30, senderRateWindowMs: 10_000 } as const;

/** The options from the xmpp config, with the defaults for keys it leaves out. */
export function fairShareOptions(xmpp: {
  maxInFlight: number;
  senderShare?: number | undefined;
  senderRateMessages?: number | undefined;
  senderRateWindowMs?: number | undefined;
}): FairShareOptions {
  return {
    maxInFlight: xmpp.maxInFlight,
    senderShare: xmpp.senderShare ?? FAIR_SHARE_DEFAULTS.senderShare,
    senderRateMessages: xmpp.senderRateMessages ?? FAIR_SHARE_DEFAULTS.senderRateMessages,
    senderRateWindowMs: xmpp.senderRateWindowMs ?? FAIR_SHARE_DEFAULTS.senderRateWindowMs,
  };
}

/** The least a sender may always hold, however small the share: a burst of a careful client. */
export const MIN_SENDER_SLOTS = 20;

/** Messages one sender may have in flight: max(20, ⌊maxInFlight × share⌋), never more than maxInFlight. */
export function senderSlots(maxInFlight: number, share: number): number {
  return Math.min(maxInFlight, Math.max(MIN_SENDER_SLOTS, Math.floor(maxInFlight * share)));
}

export type Admission =
  | { admitted: false }
  | {
      admitted: true;
      /** Whether the message is within the sender's rate; decided at arrival, in arrival order. Never rejects. */
      withinRate: Promise<boolean>;
      /** Gives the sender's slot back; call once, when the message is handled. */
      release(): void;
    };

export class FairShare {
  readonly slots: number;
  /** The rate as a reply text says it, e.g. "30 messages in 10 s". */
  readonly rateText: string;
  private readonly held = new Map<string, number>();
  private readonly limiter: RateLimiterMemory | null;

  constructor(opts: FairShareOptions) {
    this.slots = senderSlots(opts.maxInFlight, opts.senderShare);
    this.rateText = `${opts.senderRateMessages} messages in ${opts.senderRateWindowMs / 1000} s`;
    this.limiter =
      opts.senderRateMessages > 0
        ? new RateLimiterMemory({ points: opts.senderRateMessages, duration: opts.senderRateWindowMs / 1000 })
        : null;
  }

  /** Counts a message of `sender` against its rate, and takes one of its slots if one is free. */
  admit(sender: string): Admission {
    // The memory limiter counts synchronously, inside consume(); only its verdict is a promise.
    const withinRate = this.limiter
      ? this.limiter.consume(sender).then(
          () => true,
          () => false,
        )
      : Promise.resolve(true);
    const held = this.held.get(sender) ?? 0;
    if (held >= this.slots) return { admitted: false };
    this.held.set(sender, held + 1);
    let released = false;
    return {
      admitted: true,
      withinRate,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.held.get(sender) ?? 1) - 1;
        if (n <= 0) this.held.delete(sender);
        else this.held.set(sender, n);
      },
    };
  }

  /** Messages `sender` has in flight now. */
  holding(sender: string): number {
    return this.held.get(sender) ?? 0;
  }
}
