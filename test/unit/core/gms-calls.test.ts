// GMS as documented (issue 17, backends.md section 2 beyond the table): each
// transcript index handled once whichever answer (poll, send) brings it, the
// position moving only forward; XEP-0333 displayed markers as readReceipt;
// a rename as updateNickname. The core alone, with a fake clock.
import { describe, expect, it } from "vitest";
import { decide, newConversation, type DecideContext } from "../../../src/core/conversation.js";
import type { Effect } from "../../../src/core/effects.js";
import type { ConversationEvent, OperatorEvent } from "../../../src/core/events.js";
import type { ChannelRoute, Conversation } from "../../../src/core/model.js";
import { MARKER_LOOKBACK, operatorMessageIndex, operatorMessageKey, stanzaIdFor } from "../../../src/delivery/jobs.js";

const OP: ChannelRoute = { mode: "operator", genesys: { serviceName: "support" } };
const T0 = new Date("2026-11-21T10:00:00.000Z");
const timing = { idleTimeoutMs: 600_000, queueTimeoutMs: 1_800_000, queuedNoticeIntervalMs: 15_000, votingWindowMs: 86_400_000 };
const EP = "e0000000-0000-4000-8000-000000000001";
const ctx: DecideContext = { now: T0, route: OP, operatorsAvailable: true, timing, newUuid: () => EP };

function step(c: Conversation, e: ConversationEvent) {
  const d = decide(c, e, ctx);
  expect(d.refusal).toBeUndefined();
  return d;
}

/** An operator-only conversation whose GMS chat was accepted, the agent joined at index 2; position 3. */
function joined(): Conversation {
  let c = newConversation(
    { userJid: "mario@localhost", msisdn: null, channel: "supporto", chatTitle: "Supporto", addressing: { kind: "channel" } },
    { apiVersion: "2", lang: "it", os: null, appVersion: null, premium: false, useChatDynamic: false, plain: true },
    ctx,
  );
  c = step(c, { type: "user_text", text: "aiuto", messageId: "m1", resetSession: false }).conversation;
  c = step(c, { type: "operator_accepted", episodeUuid: EP, chat: { chatId: "c", userId: "u", secureKey: "k", alias: "1" } }).conversation;
  return update(c, [{ kind: "joined", nickname: "Anna", index: 2 }], 3).conversation;
}

const update = (c: Conversation, events: OperatorEvent[], nextPosition: number, alias?: string) =>
  step(c, { type: "operator_update", episodeUuid: EP, events, nextPosition, ...(alias ? { alias } : {}) });
const say = (text: string, index: number): OperatorEvent => ({ kind: "message", text, nickname: "Anna", index });
const texts = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === "send_client" && e.message.kind === "text" ? [[e.message.text, e.transcriptIndex]] : []));

describe("each GMS index once, whichever answer brings it", () => {
  it("a send's answer and a poll's overlapping: the later one delivers only what the earlier did not", () => {
    const c = joined();
    // The send's answer (from 3) reached index 4; the poll (also from 3) got as far as 5.
    const bySend = update(c, [say("uno", 3), say("due", 4)], 5);
    expect(texts(bySend.effects)).toEqual([
      ["uno", 3],
      ["due", 4],
    ]);
    expect(bySend.conversation.episode!.transcriptPosition).toBe(5);
    const byPoll = update(bySend.conversation, [say("uno", 3), say("due", 4), say("tre", 5)], 6);
    expect(texts(byPoll.effects)).toEqual([["tre", 5]]);
    expect(byPoll.conversation.episode!.transcriptPosition).toBe(6);
  });

  it("an answer older than the position delivers nothing and moves it back never", () => {
    const c = update(joined(), [say("uno", 3), say("due", 4)], 5).conversation;
    const late = update(c, [say("uno", 3)], 4);
    expect(late.effects).toEqual([]);
    expect(late.conversation.episode!.transcriptPosition).toBe(5);
  });

  it("events without an index (Genesys Cloud, the poller's own errors) are always handled", () => {
    const c = update(joined(), [say("uno", 3)], 4).conversation;
    const d = step(c, { type: "operator_update", episodeUuid: EP, events: [{ kind: "message", text: "cloud", nickname: "Bea" }] });
    expect(texts(d.effects)).toEqual([["cloud", undefined]]);
  });

  it("takes the alias of the answer (backends.md section 2) without changing the chat it was decided on", () => {
    const c = joined();
    const d = update(c, [], 3, "7");
    expect(d.conversation.episode!.chat!.alias).toBe("7");
    expect(c.episode!.chat!.alias).toBe("1");
  });
});

describe("XEP-0333 displayed markers as GMS readReceipt", () => {
  it("a marker of a handled index asks for readReceipt once, forward only", () => {
    let c = update(joined(), [say("uno", 3), say("due", 4)], 5).conversation;
    const first = step(c, { type: "user_displayed", transcriptIndex: 4 });
    expect(first.effects).toEqual([{ type: "operator_read_receipt", episodeUuid: EP, position: 4 }]);
    c = first.conversation;
    expect(c.episode!.readPosition).toBe(4);
    expect(step(c, { type: "user_displayed", transcriptIndex: 4 }).effects).toEqual([]);
    expect(step(c, { type: "user_displayed", transcriptIndex: 3 }).effects).toEqual([]);
    // Not handled yet: no client could have displayed it.
    expect(step(c, { type: "user_displayed", transcriptIndex: 5 }).effects).toEqual([]);
  });

  it("the stanza id of an operator's message names its index, only among the indexes asked about", () => {
    const id = stanzaIdFor(operatorMessageKey(EP, 7));
    expect(operatorMessageIndex(id, EP, 1, 10)).toBe(7);
    expect(operatorMessageIndex(id, EP, 8, 10)).toBeNull(); // older than what was read
    expect(operatorMessageIndex(id, EP, 1, 7)).toBeNull(); // not handled
    expect(operatorMessageIndex(id, "e0000000-0000-4000-8000-000000000002", 1, 10)).toBeNull();
    expect(operatorMessageIndex("p1", EP, 1, 10)).toBeNull();
    expect(operatorMessageIndex(id, EP, 1, 8 + MARKER_LOOKBACK)).toBeNull(); // beyond the bound
  });
});

describe("a rename as GMS updateNickname", () => {
  it("queues updateNickname when the name differs from the one Genesys knows, and only learns it when none was known", () => {
    const c = joined();
    const learnt = step(c, { type: "user_renamed", episodeUuid: EP, nickname: "Mario" });
    expect(learnt.effects).toEqual([]);
    expect(learnt.conversation.episode!.nickname).toBe("Mario");
    expect(step(learnt.conversation, { type: "user_renamed", episodeUuid: EP, nickname: "Mario" }).effects).toEqual([]);
    const renamed = step(learnt.conversation, { type: "user_renamed", episodeUuid: EP, nickname: "Mario Rossi" });
    expect(renamed.effects).toEqual([{ type: "operator_nickname", episodeUuid: EP, nickname: "Mario Rossi" }]);
    expect(renamed.conversation.episode!.nickname).toBe("Mario Rossi");
  });
});
