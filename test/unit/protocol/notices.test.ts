import { describe, expect, it } from "vitest";
import { isNoticeCode, NOTICE_CODES, NOTICES, noticeDirection, noticeText } from "../../../src/protocol/notices.js";

describe("notice table (protocol.md §4)", () => {
  it("holds every spec code and the ROUTER codes, with their direction", () => {
    expect(NOTICE_CODES).toEqual([
      "GENESYS#0001",
      "GENESYS#0002",
      "GENESYS#0003",
      "GENESYS#0004",
      "GENESYS_ERROR#0001",
      "FOREGROUND_CONVERSATION#0001",
      "FOREGROUND_CONVERSATION#0002",
      "GENESYS_CLOSE_BY_USER#0001",
      "GENESYS_OPEN_FOR_VOTING#0001",
      "ROUTER_QUEUED#0001",
      "ROUTER_OPERATOR_JOINED#0001",
      "ROUTER_BOT_UNAVAILABLE#0001",
      "ROUTER_CLOSED_HOURS#0001",
      "ROUTER_QUEUE_FULL#0001",
      "ROUTER_INACTIVITY_WARNING#0001",
      "ROUTER_VOTING_OPEN#0001",
      "ROUTER_VOTE_RECORDED#0001",
      "ROUTER_ATTACHMENT_REFUSED#0001",
      "ROUTER_CALLBACK_REQUEST#0001",
      "ROUTER_CALLBACK_REGISTERED#0001",
      "ROUTER_CALLBACK_FAILED#0001",
    ]);
    expect(NOTICE_CODES.filter((c) => noticeDirection(c) === "toRouter")).toEqual([
      "GENESYS_CLOSE_BY_USER#0001",
      "GENESYS_OPEN_FOR_VOTING#0001",
      "ROUTER_CALLBACK_REQUEST#0001",
    ]);
  });

  it("isNoticeCode", () => {
    expect(isNoticeCode("GENESYS#0004")).toBe(true);
    expect(isNoticeCode("GENESYS#0005")).toBe(false);
    expect(isNoticeCode("toString")).toBe(false);
    expect(isNoticeCode("__proto__")).toBe(false);
  });

  it.each(NOTICE_CODES)("%s has distinct non-empty it and en texts", (code) => {
    const it_ = noticeText(code, "it");
    const en = noticeText(code, "en");
    expect(it_.length).toBeGreaterThan(0);
    expect(en.length).toBeGreaterThan(0);
    expect(it_).not.toBe(en);
    expect(it_).not.toMatch(/[{}]|undefined/);
    expect(en).not.toMatch(/[{}]|undefined/);
    expect(NOTICES[code].meaning.length).toBeGreaterThan(0);
  });
});

describe("noticeText", () => {
  it("language by primary subtag; anything else is English", () => {
    expect(noticeText("GENESYS#0002", "it")).toBe("L'operatore ha chiuso la conversazione.");
    expect(noticeText("GENESYS#0002", "it-IT")).toBe("L'operatore ha chiuso la conversazione.");
    expect(noticeText("GENESYS#0002", "IT-ch")).toBe("L'operatore ha chiuso la conversazione.");
    expect(noticeText("GENESYS#0002", "en-US")).toBe("The operator closed the conversation.");
    expect(noticeText("GENESYS#0002", "de")).toBe("The operator closed the conversation.");
    expect(noticeText("GENESYS#0002", "")).toBe("The operator closed the conversation.");
  });

  it("ROUTER_QUEUED#0001: position and wait clauses come and go cleanly", () => {
    expect(noticeText("ROUTER_QUEUED#0001", "en", { position: 3 })).toBe("You are number 3 in the queue for an operator.");
    expect(noticeText("ROUTER_QUEUED#0001", "en", {})).toBe("You are in the queue for an operator.");
    expect(noticeText("ROUTER_QUEUED#0001", "en", { position: 2, estimatedWaitSeconds: 150 })).toBe(
      "You are number 2 in the queue for an operator. Estimated wait: about 3 minutes.",
    );
    expect(noticeText("ROUTER_QUEUED#0001", "en", { estimatedWaitSeconds: 20 })).toBe(
      "You are in the queue for an operator. Estimated wait: about 1 minute.",
    );
    expect(noticeText("ROUTER_QUEUED#0001", "it", { position: 3, estimatedWaitSeconds: 60 })).toBe(
      "Sei il numero 3 in coda per un operatore. Attesa stimata: circa 1 minuto.",
    );
    expect(noticeText("ROUTER_QUEUED#0001", "it", { estimatedWaitSeconds: 600 })).toBe(
      "Sei in coda per un operatore. Attesa stimata: circa 10 minuti.",
    );
  });

  it("unusable values drop their clause", () => {
    for (const position of [0, -1, 1.5, "3", null, Number.NaN]) {
      expect(noticeText("ROUTER_QUEUED#0001", "en", { position } as never)).toBe("You are in the queue for an operator.");
    }
    expect(noticeText("ROUTER_OPERATOR_JOINED#0001", "en", { nickname: "  " })).toBe("An operator has joined the conversation.");
  });

  it("ROUTER_OPERATOR_JOINED#0001 with and without a nickname", () => {
    expect(noticeText("ROUTER_OPERATOR_JOINED#0001", "en", { nickname: "Giulia" })).toBe("Giulia has joined the conversation.");
    expect(noticeText("ROUTER_OPERATOR_JOINED#0001", "it", { nickname: "Giulia" })).toBe("Giulia ha preso in carico la conversazione.");
    expect(noticeText("ROUTER_OPERATOR_JOINED#0001", "it")).toBe("Un operatore ha preso in carico la conversazione.");
  });

  it("ROUTER_CLOSED_HOURS#0001 and ROUTER_VOTING_OPEN#0001 format ISO date-times in the zone, naming it", () => {
    expect(noticeText("ROUTER_CLOSED_HOURS#0001", "en", { opensAt: "2025-03-10T08:00:00Z" })).toBe(
      "No operator is available now. The service reopens on 10 Mar 2025, 08:00 UTC.",
    );
    expect(noticeText("ROUTER_CLOSED_HOURS#0001", "en")).toBe("No operator is available now.");
    expect(noticeText("ROUTER_CLOSED_HOURS#0001", "it", { opensAt: "2025-03-10T08:00:00Z" }, { timeZone: "Europe/Rome" })).toBe(
      "Nessun operatore è disponibile ora. Il servizio riapre il 10 mar 2025, 09:00 CET.",
    );
    expect(noticeText("ROUTER_VOTING_OPEN#0001", "en", { until: "2025-03-11T08:00:00.000Z" })).toBe(
      "You can rate this conversation until 11 Mar 2025, 08:00 UTC.",
    );
    expect(noticeText("ROUTER_VOTING_OPEN#0001", "it")).toBe("Puoi valutare questa conversazione.");
  });

  it("free text and bad zones are used as they are, never thrown", () => {
    expect(noticeText("ROUTER_CLOSED_HOURS#0001", "en", { opensAt: "Monday 9:00" })).toBe(
      "No operator is available now. The service reopens on Monday 9:00.",
    );
    expect(noticeText("ROUTER_VOTING_OPEN#0001", "en", { until: "2025-03-11T08:00:00Z" }, { timeZone: "Mars/Olympus" })).toBe(
      "You can rate this conversation until 2025-03-11T08:00:00Z.",
    );
  });
});
