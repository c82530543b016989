// The fault suite's ledger (faults/ledger.ts): what the table's columns count.
import { describe, expect, it } from "vitest";
import { Ledger } from "../../faults/ledger.js";
import { missedTargets } from "../../faults/table.js";

describe("fault ledger", () => {
  it("counts once, twice with the same id, twice with different ids, never, resends and receipts", () => {
    const l = new Ledger();
    for (const k of ["a", "b", "c", "d"]) l.sent(k, `fx-${k}`, "u|eco|t0");
    l.sent("a", "fx-a", "u|eco|t0"); // a resend
    l.accepted("fx-a");
    l.accepted("fx-b");
    l.error("fx-c", "wait/internal-server-error");
    l.answer("a", "r1");
    l.answer("b", "r2");
    l.answer("b", "r2"); // redelivered: a client can drop it
    l.answer("c", "r3");
    l.answer("c", "r4"); // two answers in the user's chat
    const s = l.summary();
    expect([s.sent, s.accepted, s.resent, s.once, s.twiceSameId, s.twiceDifferentIds, s.never]).toEqual([4, 2, 1, 1, 1, 1, 1]);
    expect(s.errors.get("wait/internal-server-error")).toBe(1);
    expect(s.neverKeys).toEqual(["d"]);
    expect(l.outstanding()).toBe(2); // c has no receipt, d neither receipt nor answer
  });

  it("a terminal notice answers the oldest unanswered message of its conversation only", () => {
    const l = new Ledger();
    l.sent("a", "fx-a", "u|op|t0");
    l.sent("b", "fx-b", "u|op|t0");
    l.answer("a", "r1");
    l.notice("u|op|t0", "GENESYS#0001");
    const s = l.summary();
    expect([s.once, s.byNotice, s.never]).toEqual([2, 1, 0]);
  });

  it("an error to a stanza that is no careful message is noise", () => {
    const l = new Ledger();
    l.error("mx-1", "modify/bad-request");
    expect(l.noise.get("modify/bad-request")).toBe(1);
    expect(l.summary().sent).toBe(0);
  });

  it("--check misses: never answered, different ids, a death, ready late or never", () => {
    const l = new Ledger();
    l.sent("a", "fx-a", "c");
    const base = { name: "s", summary: l.summary(), died: false, deaths: [], notes: [] };
    expect(missedTargets([{ ...base, readyMs: 100 }])).toEqual(["s: 1 never answered (target 0)"]);
    l.answer("a", "r1");
    const ok = { ...base, summary: l.summary() };
    expect(missedTargets([{ ...ok, readyMs: 4999 }])).toEqual([]);
    expect(missedTargets([{ ...ok, readyMs: 5001 }])).toHaveLength(1);
    expect(missedTargets([{ ...ok, readyMs: undefined }])).toHaveLength(1);
    expect(missedTargets([{ ...ok, readyMs: 0, died: true, deaths: ["x"] }])).toHaveLength(1);
  });
});
