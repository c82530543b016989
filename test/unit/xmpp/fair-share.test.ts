import { describe, expect, it } from "vitest";
import { FairShare, fairShareOptions, senderSlots } from "../../../src/xmpp/fair-share.js";

describe("fair share of maxInFlight (issue 12 item 6)", () => {
  it("gives a sender a tenth of maxInFlight, at least 20, never more than the whole", () => {
    expect(senderSlots(1000, 0.1)).toBe(100);
    expect(senderSlots(100, 0.1)).toBe(20);
    expect(senderSlots(10, 0.1)).toBe(10);
  });

  it("refuses a sender beyond its share while another sender is admitted, and frees the slot on release", () => {
    const fair = new FairShare(fairShareOptions({ maxInFlight: 100, senderRateMessages: 0 }));
    const held = Array.from({ length: 20 }, () => fair.admit("flood@eime.local"));
    expect(held.every((a) => a.admitted)).toBe(true);
    expect(fair.admit("flood@eime.local").admitted).toBe(false);
    expect(fair.admit("calm@eime.local").admitted).toBe(true);
    const first = held[0]!;
    if (first.admitted) first.release();
    expect(fair.admit("flood@eime.local").admitted).toBe(true);
  });

  it("answers a sender over its message rate with false, others stay within", async () => {
    const fair = new FairShare(fairShareOptions({ maxInFlight: 1000, senderRateMessages: 3, senderRateWindowMs: 10_000 }));
    const verdicts = await Promise.all(
      Array.from({ length: 4 }, () => {
        const a = fair.admit("fast@eime.local");
        return a.admitted ? a.withinRate : Promise.resolve(null);
      }),
    );
    expect(verdicts).toEqual([true, true, true, false]);
    const other = fair.admit("slow@eime.local");
    expect(other.admitted && (await other.withinRate)).toBe(true);
  });
});
