// backends.md section 2c: a callback offered at a full operator queue, its
// acceptance (ROUTER_CALLBACK_REQUEST#0001), its booking with the GMS
// Callback service or its hand-off to the bot (`operator_callback`).
import { describe, expect, it } from "vitest";
import { CALLBACK_REQUEST, readDesiredTime } from "../../../src/core/callback.js";
import { decide, newConversation, type DecideContext } from "../../../src/core/conversation.js";
import type { Effect } from "../../../src/core/effects.js";
import type { ConversationEvent } from "../../../src/core/events.js";
import type { ChannelRoute, Conversation } from "../../../src/core/model.js";

const GMS: ChannelRoute = {
  mode: "bot+operator",
  bot: { url: "http://bot" },
  genesys: { serviceName: "support" },
  maxQueued: 0,
  callback: { serviceName: "callback-support" },
};
const BOTCB: ChannelRoute = { ...GMS, callback: "bot" };
const NONE: ChannelRoute = { ...GMS, callback: undefined };

const T0 = new Date("2026-11-21T10:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const timing = { idleTimeoutMs: 600_000, queueTimeoutMs: 1_800_000, queuedNoticeIntervalMs: 15_000, votingWindowMs: 86_400_000 };

function ctx(route: ChannelRoute, now = T0, extra: Partial<DecideContext> = {}): DecideContext {
  return { now, route, operatorsAvailable: true, gmsCallbacks: true, timing, newUuid: () => "u-1", queued: () => 0, ...extra };
}

function conv(route: ChannelRoute, msisdn: string | null = "393471111111"): Conversation {
  const c = newConversation(
    { userJid: "393471111111@localhost", msisdn, channel: "supporto", chatTitle: "Supporto", addressing: { kind: "channel" } },
    { apiVersion: "2.1", lang: "it", os: "android", appVersion: "1", premium: false, useChatDynamic: false },
    ctx(route),
  );
  return { ...c, botSessionOpen: true };
}

const ASK: ConversationEvent = { type: "user_notice", code: "ROUTER_ASK_OPERATOR#0001", messageId: "ask" };
const accept = (data?: Record<string, unknown>, messageId = "cb1"): ConversationEvent => ({
  type: "user_notice",
  code: CALLBACK_REQUEST,
  messageId,
  ...(data ? { data } : {}),
});
const notices = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === "send_client" && e.message.kind === "notice" ? [{ code: e.message.code, data: e.message.data }] : []));

/** The queue is full: the user asked for an operator and was told ROUTER_QUEUE_FULL#0001. */
function full(route: ChannelRoute, c = conv(route), extra: Partial<DecideContext> = {}) {
  return decide(c, ASK, ctx(route, T0, extra));
}

describe("the offer at a full queue", () => {
  it("a GMS callback service on the route: callbackOffered true, remembered on the conversation", () => {
    const d = full(GMS);
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: true } }]);
    expect(d.conversation.callback).toEqual({ state: "offered", serviceName: "callback-support", since: T0.toISOString(), at: null });
    expect(d.conversation.episode).toBeNull();
  });

  it("no offer without a callback on the route, without GMS to book with, or without an MSISDN to call", () => {
    for (const d of [full(NONE), full(GMS, conv(GMS), { gmsCallbacks: false }), full(GMS, conv(GMS, null))]) {
      expect(notices(d.effects)).toEqual([{ code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: false } }]);
      expect(d.conversation.callback ?? null).toBeNull();
    }
  });

  it("a plain XMPP client is offered one too (it accepts with its callback word), and its acceptance books", () => {
    const plain = { ...conv(GMS), plain: true };
    const d = full(GMS, plain);
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: true } }]);
    const booked = decide(d.conversation, accept(), ctx(GMS, at(10)));
    expect(booked.effects).toEqual([{ type: "book_callback", serviceName: "callback-support", desiredTime: null }]);
    // A plain user named by a JID that is no MSISDN has no number to call.
    expect(notices(full(GMS, { ...conv(GMS, null), plain: true }).effects)).toEqual([
      { code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: false } },
    ]);
  });

  it('"bot" on the route offers it too (the bot takes the request)', () => {
    const d = full(BOTCB, conv(BOTCB, null));
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: true } }]);
    expect(d.conversation.callback).toMatchObject({ state: "offered", serviceName: null });
  });

  it("a handover that does go through voids the offer", () => {
    const offered = full(GMS).conversation;
    const d = decide(offered, ASK, ctx({ ...GMS, maxQueued: 5 }, at(5)));
    expect(d.conversation.state).toBe("queued");
    expect(d.conversation.callback).toBeNull();
    expect(decide(d.conversation, accept(), ctx(GMS, at(6))).refusal?.code).toBe("NO_CALLBACK_OFFER");
  });
});

describe("ROUTER_CALLBACK_REQUEST#0001", () => {
  it("books with the GMS service: one book_callback job, no MSISDN in it; the state is requested", () => {
    const d = decide(full(GMS).conversation, accept(), ctx(GMS, at(10)));
    expect(d.refusal).toBeUndefined();
    expect(d.effects).toEqual([{ type: "book_callback", serviceName: "callback-support", desiredTime: null }]);
    expect(JSON.stringify(d.effects)).not.toContain("393471111111");
    expect(d.conversation.callback).toMatchObject({ state: "requested", serviceName: "callback-support", at: null });
  });

  it("a second acceptance of the same offer is refused: never two bookings for one offer", () => {
    const requested = decide(full(GMS).conversation, accept(), ctx(GMS, at(10))).conversation;
    const again = decide(requested, accept(undefined, "cb2"), ctx(GMS, at(11)));
    expect(again.refusal).toMatchObject({ code: "NO_CALLBACK_OFFER", field: "payload.code" });
    expect(again.effects).toEqual([]);
    // Nor is a new offer made while the booking is under way.
    const queueFullAgain = decide(requested, ASK, ctx(GMS, at(12)));
    expect(notices(queueFullAgain.effects)).toEqual([{ code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: false } }]);
    expect(queueFullAgain.conversation.callback?.state).toBe("requested");
  });

  it("is refused without an offer, and after the offer's 30 minutes", () => {
    expect(decide(conv(GMS), accept(), ctx(GMS)).refusal?.code).toBe("NO_CALLBACK_OFFER");
    const offered = full(GMS).conversation;
    expect(decide(offered, accept(), ctx(GMS, at(30 * 60 + 1))).refusal?.code).toBe("NO_CALLBACK_OFFER");
    expect(decide(offered, accept(), ctx(GMS, at(30 * 60))).refusal).toBeUndefined();
  });

  it("data.desiredTime is passed on in UTC; a bad one is a bad request naming the field", () => {
    const offered = full(GMS).conversation;
    const d = decide(offered, accept({ desiredTime: "2026-11-21T15:30:00+01:00" }), ctx(GMS, at(10)));
    expect(d.effects).toEqual([{ type: "book_callback", serviceName: "callback-support", desiredTime: "2026-11-21T14:30:00.000Z" }]);
    for (const desiredTime of ["tomorrow", "2026-11-21T09:00:00Z", "2027-01-21T09:00:00Z", 5]) {
      const r = decide(offered, accept({ desiredTime }), ctx(GMS, at(10)));
      expect(r.refusal).toMatchObject({ code: "BAD_REQUEST", field: "payload.data.desiredTime" });
    }
  });

  it('on a "bot" route the bot gets operator_callback and the offer is used up', () => {
    const d = decide(full(BOTCB).conversation, accept(), ctx(BOTCB, at(10)));
    expect(d.effects).toEqual([{ type: "call_bot", event: "operator_callback", text: "", messageId: "cb1", session: 0 }]);
    expect(d.conversation.callback).toBeNull();
    expect(decide(d.conversation, accept(undefined, "cb2"), ctx(BOTCB, at(11))).refusal?.code).toBe("NO_CALLBACK_OFFER");
  });
});

describe("the booking's outcome", () => {
  const requested = () => decide(full(GMS).conversation, accept({ desiredTime: "2026-11-21T14:30:00Z" }), ctx(GMS, at(10))).conversation;

  it("booked: ROUTER_CALLBACK_REGISTERED#0001 with the time; a repeated outcome tells nothing more", () => {
    const d = decide(requested(), { type: "callback_booked", id: "gms-1", at: null }, ctx(GMS, at(11)));
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_CALLBACK_REGISTERED#0001", data: { at: "2026-11-21T14:30:00.000Z" } }]);
    expect(d.conversation.callback).toMatchObject({ state: "booked", at: "2026-11-21T14:30:00.000Z" });
    expect(decide(d.conversation, { type: "callback_booked", id: "gms-1", at: null }, ctx(GMS, at(12))).effects).toEqual([]);
  });

  it("an immediate callback is registered without `at`", () => {
    const asap = decide(full(GMS).conversation, accept(), ctx(GMS, at(10))).conversation;
    const d = decide(asap, { type: "callback_booked", id: "gms-1", at: null }, ctx(GMS, at(11)));
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_CALLBACK_REGISTERED#0001", data: undefined }]);
  });

  it("failed: ROUTER_CALLBACK_FAILED#0001 and the request is over", () => {
    const d = decide(requested(), { type: "callback_failed", reason: "HTTP 400" }, ctx(GMS, at(11)));
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_CALLBACK_FAILED#0001", data: undefined }]);
    expect(d.conversation.callback).toBeNull();
  });

  it("after a booking a full queue offers a new callback", () => {
    const booked = decide(requested(), { type: "callback_booked", id: "gms-1", at: null }, ctx(GMS, at(11))).conversation;
    const d = decide(booked, ASK, ctx(GMS, at(20)));
    expect(notices(d.effects)).toEqual([{ code: "ROUTER_QUEUE_FULL#0001", data: { callbackOffered: true } }]);
  });
});

describe("readDesiredTime", () => {
  it("absent means as soon as possible; a time within the last minute is now", () => {
    expect(readDesiredTime(undefined, T0)).toEqual({ ok: true, value: null });
    expect(readDesiredTime({ desiredTime: "" }, T0)).toEqual({ ok: true, value: null });
    expect(readDesiredTime({ desiredTime: "2026-11-21T09:59:30Z" }, T0)).toEqual({ ok: true, value: T0.toISOString() });
    expect(readDesiredTime({ desiredTime: "2026-11-21T10:00" }, T0).ok).toBe(false); // no offset: whose time?
  });
});
