import { describe, expect, it } from "vitest";
import {
  sameConversation,
  decide,
  newConversation,
  serviceNameFor,
  withClientMeta,
  type ClientMeta,
  type DecideContext,
} from "../../../src/core/conversation.js";
import type { Effect } from "../../../src/core/effects.js";
import type { ConversationEvent } from "../../../src/core/events.js";
import type { ChannelRoute, Conversation } from "../../../src/core/model.js";

const BOT: ChannelRoute = { mode: "bot", bot: { url: "http://bot" } };
const BOT_OP: ChannelRoute = {
  mode: "bot+operator",
  bot: { url: "http://bot" },
  genesys: { serviceName: "support", premiumServiceName: "support-vip", queues: ["billing"] },
};
const OP: ChannelRoute = { mode: "operator", genesys: { serviceName: "support" } };

const T0 = new Date("2026-11-21T10:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const timing = { idleTimeoutMs: 600_000, queueTimeoutMs: 1_800_000, queuedNoticeIntervalMs: 15_000, votingWindowMs: 86_400_000 };
const meta: ClientMeta = { apiVersion: "2.1", lang: "it", os: "android", appVersion: "0.4.65", premium: false, useChatDynamic: false };

function ctxFor(route: ChannelRoute | null, now = T0, operatorsAvailable = true): DecideContext {
  let n = 0;
  return { now, route, operatorsAvailable, timing, newUuid: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}` };
}

function conv(route: ChannelRoute | null): Conversation {
  return newConversation(
    {
      userJid: "393471111111@localhost",
      msisdn: "393471111111",
      channel: "supporto",
      chatTitle: "Supporto",
      addressing: { kind: "channel" },
    },
    meta,
    ctxFor(route),
  );
}

const text = (t: string, messageId = "m1", resetSession = false): ConversationEvent => ({
  type: "user_text",
  text: t,
  messageId,
  resetSession,
});
const notice = (code: string): ConversationEvent => ({ type: "user_notice", code, messageId: "n1" });
const types = (effects: Effect[]) => effects.map((e) => e.type);
const notices = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === "send_client" && e.message.kind === "notice" ? [e.message.code] : []));

/** Runs a sequence of events, each at its own time, returning the final conversation and all effects. */
function run(route: ChannelRoute | null, steps: [number, ConversationEvent][], start = conv(route)) {
  let c = start;
  const effects: Effect[] = [];
  for (const [sec, ev] of steps) {
    const d = decide(c, ev, { ...ctxFor(route, at(sec)), newUuid: () => "e0000000-0000-4000-8000-000000000001" });
    expect(d.refusal).toBeUndefined();
    c = d.conversation;
    effects.push(...d.effects);
  }
  return { c, effects };
}

/** A bot+operator conversation with an operator who joined at t=10 s. */
function withOperator() {
  return run(BOT_OP, [
    [0, text("ciao")],
    [1, { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] }],
    [
      2,
      {
        type: "operator_accepted",
        episodeUuid: "e0000000-0000-4000-8000-000000000001",
        chat: { chatId: "c", userId: "u", secureKey: "k", alias: "a" },
      },
    ],
    [10, { type: "operator_update", episodeUuid: "e0000000-0000-4000-8000-000000000001", events: [{ kind: "joined", nickname: "Anna" }] }],
  ]);
}
const EP = "e0000000-0000-4000-8000-000000000001";

describe("a new conversation", () => {
  it("rests with the bot on bot channels and closed on operator-only channels", () => {
    expect(conv(BOT).state).toBe("bot");
    expect(conv(BOT_OP).state).toBe("bot");
    expect(conv(OP).state).toBe("closed");
  });

  it("starts the bot session before the first message", () => {
    const d = decide(conv(BOT), text("ciao"), ctxFor(BOT));
    expect(d.effects).toEqual([
      { type: "call_bot", event: "session_start", text: "", messageId: "m1#start", session: 0 },
      { type: "call_bot", event: "message", text: "ciao", messageId: "m1", session: 0 },
    ]);
    expect(d.conversation.botSessionOpen).toBe(true);
    const second = decide(d.conversation, text("ancora", "m2"), ctxFor(BOT));
    expect(types(second.effects)).toEqual(["call_bot"]);
  });

  it("goes straight to an operator on operator-only channels, forwarding the first message", () => {
    const d = decide(conv(OP), text("help"), ctxFor(OP));
    expect(d.conversation.state).toBe("queued");
    expect(d.effects).toEqual([
      { type: "request_operator", episodeUuid: expect.any(String) as unknown, serviceName: "support", handoff: {} },
      { type: "send_client", message: { kind: "notice", code: "ROUTER_QUEUED#0001", data: {} }, episodeUuid: d.conversation.episode!.uuid },
      { type: "send_operator", episodeUuid: d.conversation.episode!.uuid, text: "help", messageId: "m1" },
    ]);
  });

  it("refuses a channel without route and tells the user when no operator service exists", () => {
    expect(decide(conv(null), text("x"), ctxFor(null)).refusal?.code).toBe("SERVICE_UNAVAILABLE");
    const d = decide(conv(OP), text("x"), ctxFor(OP, T0, false));
    expect(d.conversation.state).toBe("closed");
    expect(notices(d.effects)).toEqual(["ROUTER_CLOSED_HOURS#0001"]);
    expect(types(d.effects)).not.toContain("request_operator");
  });
});

describe("with the bot", () => {
  it("resetSession starts a fresh session that the bot sees as session_reset", () => {
    const first = run(BOT, [[0, text("a")]]).c;
    const d = decide(first, text("da capo", "m2", true), ctxFor(BOT));
    expect(d.conversation.botSession).toBe(1);
    expect(d.effects).toEqual([{ type: "call_bot", event: "session_reset", text: "da capo", messageId: "m2", session: 1 }]);
  });

  it("turns a bot answer into messages, remembering the options", () => {
    const { c, effects } = run(BOT, [
      [0, text("menu")],
      [
        1,
        {
          type: "bot_replied",
          cause: "message",
          replies: [
            {
              text: "Scegli",
              buttons: [
                { title: "Offerte", payload: "/offers" },
                { title: "Operatore", payload: "/operator" },
              ],
            },
            { text: "ok" },
          ],
        },
      ],
    ]);
    const sent = effects.filter((e) => e.type === "send_client");
    expect(sent.map((e) => e.type === "send_client" && e.message)).toEqual([
      {
        kind: "rich",
        text: "Scegli",
        buttons: [
          { title: "Offerte", payload: "/offers" },
          { title: "Operatore", payload: "/operator" },
        ],
      },
      { kind: "text", text: "ok", conversationType: "bot" },
    ]);
    expect(c.botOptions).toHaveLength(2);
  });

  it.each([["2"], ["operatore"], [" OPERATORE "]])("a reply of %j picks the option and the bot gets a button event", (reply) => {
    const { c } = run(BOT, [
      [0, text("menu")],
      [
        1,
        {
          type: "bot_replied",
          cause: "message",
          replies: [
            {
              text: "Scegli",
              buttons: [
                { title: "Offerte", payload: "/offers" },
                { title: "Operatore", payload: "/operator" },
              ],
            },
          ],
        },
      ],
    ]);
    const d = decide(c, text(reply, "m2"), ctxFor(BOT));
    expect(d.effects).toEqual([{ type: "call_bot", event: "button", text: "/operator", messageId: "m2", session: 0 }]);
    expect(d.conversation.botOptions).toBeNull();
  });

  it("a number beyond the options, or free text, is an ordinary message", () => {
    const { c } = run(BOT, [
      [0, text("menu")],
      [1, { type: "bot_replied", cause: "message", replies: [{ text: "Scegli", buttons: [{ title: "Offerte", payload: "/offers" }] }] }],
    ]);
    expect(decide(c, text("7", "m2"), ctxFor(BOT)).effects[0]).toMatchObject({ event: "message", text: "7" });
  });

  it("custom.router.close ends the bot session: the next message starts a new one", () => {
    const { c } = run(BOT, [
      [0, text("ciao")],
      [1, { type: "bot_replied", cause: "message", replies: [{ text: "Arrivederci" }, { custom: { router: { close: true } } }] }],
    ]);
    expect(c.botSessionOpen).toBe(false);
    const d = decide(c, text("di nuovo", "m3"), ctxFor(BOT));
    expect(d.effects.map((e) => e.type === "call_bot" && [e.event, e.session])).toEqual([
      ["session_start", 1],
      ["message", 1],
    ]);
  });

  it("other custom data goes to the client; a handoff on a bot-only channel says no operator service", () => {
    const { c, effects } = run(BOT, [
      [0, text("x")],
      [1, { type: "bot_replied", cause: "message", replies: [{ custom: { card: { a: 1 } } }, { custom: { router: { handoff: {} } } }] }],
    ]);
    expect(effects.find((e) => e.type === "send_client")).toMatchObject({
      message: { kind: "rich", text: "", custom: { card: { a: 1 } } },
    });
    expect(notices(effects)).toEqual(["ROUTER_CLOSED_HOURS#0001"]);
    expect(c.state).toBe("bot");
  });
});

describe("handover to an operator", () => {
  it("queues the conversation with the bot's reason and messages delivered first", () => {
    const { c, effects } = run(BOT_OP, [
      [0, text("operatore")],
      [
        1,
        {
          type: "bot_replied",
          cause: "message",
          replies: [
            { text: "Ti passo a un operatore" },
            { custom: { router: { handoff: { reason: "asked", userData: { k: "v", n: 1 } } } } },
          ],
        },
      ],
    ]);
    expect(c.state).toBe("queued");
    expect(c.episode).toMatchObject({ uuid: EP, serviceName: "support", requestedAt: at(1), chat: null });
    const tail = effects.slice(2);
    expect(tail).toEqual([
      { type: "send_client", message: { kind: "text", text: "Ti passo a un operatore", conversationType: "bot" }, episodeUuid: null },
      { type: "request_operator", episodeUuid: EP, serviceName: "support", handoff: { reason: "asked", userData: { k: "v", n: "1" } } },
      { type: "send_client", message: { kind: "notice", code: "ROUTER_QUEUED#0001", data: {} }, episodeUuid: EP },
    ]);
  });

  it("picks the premium service for premium users and the bot's named queue", () => {
    expect(serviceNameFor(BOT_OP, false)).toBe("support");
    expect(serviceNameFor(BOT_OP, true)).toBe("support-vip");
    expect(serviceNameFor(BOT_OP, false, "premium")).toBe("support-vip");
    expect(serviceNameFor(BOT_OP, true, "default")).toBe("support");
    expect(serviceNameFor(BOT_OP, false, "billing")).toBe("billing");
    expect(serviceNameFor(BOT_OP, false, "not-listed")).toBe("support"); // issue 13: only the listed services
    expect(serviceNameFor(BOT, false)).toBeNull();
  });

  it("an operator joining sends JOINED and FOREGROUND#0001 and user messages go to the operator, never the bot", () => {
    const { c, effects } = withOperator();
    expect(c.state).toBe("operator");
    expect(c.episode).toMatchObject({ agentNickname: "Anna", joinedAt: at(10), chat: { chatId: "c" } });
    expect(notices(effects).slice(-2)).toEqual(["ROUTER_OPERATOR_JOINED#0001", "FOREGROUND_CONVERSATION#0001"]);
    const d = decide(c, text("salve", "m9"), ctxFor(BOT_OP, at(11)));
    expect(d.effects).toEqual([{ type: "send_operator", episodeUuid: EP, text: "salve", messageId: "m9" }]);
    const reset = decide(c, text("reset", "m10", true), ctxFor(BOT_OP, at(11)));
    expect(types(reset.effects)).toEqual(["send_operator"]);
  });

  it("agent messages and typing reach the user in the episode's thread", () => {
    const { c } = withOperator();
    const d = decide(
      c,
      {
        type: "operator_update",
        episodeUuid: EP,
        events: [
          { kind: "typing", typing: true },
          { kind: "message", text: "Buongiorno", nickname: "Anna" },
        ],
      },
      ctxFor(BOT_OP, at(20)),
    );
    expect(d.effects).toEqual([
      { type: "send_client", message: { kind: "chat_state", state: "composing" }, episodeUuid: EP },
      {
        type: "send_client",
        message: { kind: "text", text: "Buongiorno", conversationType: "operator", operator: { nickname: "Anna" } },
        episodeUuid: EP,
      },
    ]);
    expect(d.conversation.episode!.lastActivityAt).toEqual(at(20));
  });

  it("user typing goes to the operator as start/stop typing", () => {
    const { c } = withOperator();
    expect(decide(c, { type: "user_chat_state", state: "composing" }, ctxFor(BOT_OP)).effects).toEqual([
      { type: "operator_typing", episodeUuid: EP, typing: true },
    ]);
    expect(decide(c, { type: "user_chat_state", state: "paused" }, ctxFor(BOT_OP)).effects).toEqual([
      { type: "operator_typing", episodeUuid: EP, typing: false },
    ]);
    expect(decide(conv(BOT), { type: "user_chat_state", state: "composing" }, ctxFor(BOT)).effects).toEqual([]);
  });

  it("a second handoff while an episode is open answers FOREGROUND_CONVERSATION#0002", () => {
    const { c } = withOperator();
    const d = decide(
      c,
      { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] },
      ctxFor(BOT_OP, at(30)),
    );
    expect(notices(d.effects)).toEqual(["FOREGROUND_CONVERSATION#0002"]);
    expect(d.conversation.episode!.uuid).toBe(EP);
    expect(types(d.effects)).not.toContain("request_operator");
  });

  it("route.maxQueued: a handover beyond it answers ROUTER_QUEUE_FULL#0001 and the conversation stays with the bot", () => {
    const route: ChannelRoute = { ...BOT_OP, maxQueued: 2 };
    const c = run(route, [[0, text("x")]]).c;
    const handoff: ConversationEvent = { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] };
    const full = decide(c, handoff, { ...ctxFor(route, at(1)), queued: (s) => (s === "support" ? 2 : 0) });
    expect(notices(full.effects)).toEqual(["ROUTER_QUEUE_FULL#0001"]);
    expect(full.effects[0]).toMatchObject({ message: { data: { callbackOffered: false } } });
    expect(full.conversation.state).toBe("bot");
    expect(full.conversation.episode).toBeNull();
    expect(types(full.effects)).not.toContain("request_operator");
    // One place left: the handover goes on.
    const room = decide(c, handoff, { ...ctxFor(route, at(1)), queued: () => 1 });
    expect(types(room.effects)).toContain("request_operator");
  });

  it("ROUTER_QUEUED#0001 carries estimatedWaitSeconds of the episode's service when there is an estimate", () => {
    const c = run(BOT_OP, [[0, text("x")]]).c;
    const handoff: ConversationEvent = { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] };
    const ctx = { ...ctxFor(BOT_OP, at(1)), estimatedWaitSeconds: (s: string) => (s === "support" ? 95 : undefined) };
    const d = decide(c, handoff, ctx);
    const queued = d.effects.find(
      (e) => e.type === "send_client" && e.message.kind === "notice" && e.message.code === "ROUTER_QUEUED#0001",
    );
    expect(queued).toMatchObject({ message: { data: { estimatedWaitSeconds: 95 } } });
    // No estimate: no field.
    const none = decide(c, handoff, ctxFor(BOT_OP, at(1))).effects.find((e) => e.type === "send_client");
    expect(none).toMatchObject({ message: { code: "ROUTER_QUEUED#0001", data: {} } });
    // The position notices carry it too.
    const update: ConversationEvent = {
      type: "operator_update",
      episodeUuid: d.conversation.episode!.uuid,
      events: [{ kind: "queue", position: 3 }],
    };
    expect(notices(decide(d.conversation, update, { ...ctx, now: at(30) }).effects)).toEqual(["ROUTER_QUEUED#0001"]);
    expect(decide(d.conversation, update, { ...ctx, now: at(30) }).effects[0]).toMatchObject({
      message: { data: { position: 3, estimatedWaitSeconds: 95 } },
    });
  });

  it("v2.1: a message on the chat's own thread while an episode is open: FOREGROUND_CONVERSATION#0002 on the episode, the text to the operator", () => {
    const { c } = withOperator();
    const d = decide(c, { ...text("ci sei?"), threadEpisode: null } as ConversationEvent, ctxFor(BOT_OP, at(30)));
    expect(d.effects).toEqual([
      { type: "send_client", message: { kind: "notice", code: "FOREGROUND_CONVERSATION#0002" }, episodeUuid: EP },
      { type: "send_operator", episodeUuid: EP, text: "ci sei?", messageId: "m1" },
    ]);
    // On the episode's own thread: no notice.
    expect(notices(decide(c, { ...text("ci sei?"), threadEpisode: EP } as ConversationEvent, ctxFor(BOT_OP, at(30))).effects)).toEqual([]);
    // v2 threads cannot say: no notice either.
    expect(
      notices(decide({ ...c, apiVersion: "2" }, { ...text("x"), threadEpisode: null } as ConversationEvent, ctxFor(BOT_OP)).effects),
    ).toEqual([]);
  });

  it("v2.1: a message on an ended episode's thread goes to the conversation as it is, with FOREGROUND_CONVERSATION#0001 on its thread", () => {
    const { c } = withOperator();
    const ended = decide(c, notice("GENESYS_CLOSE_BY_USER#0001"), ctxFor(BOT_OP, at(30))).conversation;
    const d = decide(ended, { ...text("ancora?"), threadEpisode: EP } as ConversationEvent, ctxFor(BOT_OP, at(40)));
    expect(d.effects[0]).toEqual({
      type: "send_client",
      message: { kind: "notice", code: "FOREGROUND_CONVERSATION#0001" },
      episodeUuid: null,
    });
    expect(types(d.effects)).toContain("call_bot");
    expect(types(d.effects)).not.toContain("send_operator");
  });
});

describe("opening hours (backends.md section 2c)", () => {
  // T0 is Saturday 2026-11-21, 11:00 in Rome.
  const weekdays = { tz: "Europe/Rome", week: { "mon-fri": ["09:00-18:00"] } };
  const AFTER_HOURS: ChannelRoute = { ...BOT_OP, hours: weekdays };
  const handoff: ConversationEvent = { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] };

  it("outside the hours: no handover, ROUTER_CLOSED_HOURS#0001 with the next opening, the bot keeps the conversation and is told", () => {
    const { c, effects } = run(AFTER_HOURS, [
      [0, text("ciao")],
      [1, handoff],
    ]);
    expect(types(effects)).not.toContain("request_operator");
    expect(c.state).toBe("bot");
    expect(c.episode).toBeNull();
    expect(effects).toContainEqual({
      type: "send_client",
      message: { kind: "notice", code: "ROUTER_CLOSED_HOURS#0001", data: { opensAt: "2026-11-23T09:00:00+01:00" } },
      episodeUuid: null,
    });
    expect(effects.filter((e) => e.type === "call_bot").map((e) => e.event)).toEqual(["session_start", "message", "operator_closed"]);
  });

  it("inside the hours the handover is made; an episode open at closing time goes on", () => {
    const saturday: ChannelRoute = { ...BOT_OP, hours: { tz: "Europe/Rome", week: { sat: ["09:00-12:00"] } } };
    const { c } = run(saturday, [
      [0, text("ciao")],
      [1, handoff],
    ]);
    expect(c.state).toBe("queued");
    const late = decide(c, text("still there?", "m9"), ctxFor(saturday, at(3 * 3600)));
    expect(late.effects).toContainEqual({ type: "send_operator", episodeUuid: c.episode!.uuid, text: "still there?", messageId: "m9" });
  });
});

describe("ending an operator episode", () => {
  it("close by user: disconnect, GENESYS#0004, back to the bot with operator_returned", () => {
    const { c } = withOperator();
    const d = decide(c, notice("GENESYS_CLOSE_BY_USER#0001"), ctxFor(BOT_OP, at(40)));
    expect(d.effects).toEqual([
      { type: "disconnect_operator", episodeUuid: EP },
      { type: "send_client", message: { kind: "notice", code: "GENESYS#0004" }, episodeUuid: EP },
      { type: "call_bot", event: "operator_returned", text: "", messageId: `${EP}#returned`, session: 0 },
    ]);
    expect(d.conversation.state).toBe("bot");
    expect(d.conversation.episode).toMatchObject({ endedAt: at(40), endCode: "GENESYS#0004" });
  });

  it("close by user without an open episode is refused", () => {
    expect(decide(conv(BOT_OP), notice("GENESYS_CLOSE_BY_USER#0001"), ctxFor(BOT_OP)).refusal).toMatchObject({
      code: "NO_OPERATOR_EPISODE",
      field: "payload.code",
    });
  });

  it.each([
    [[{ kind: "left", nickname: "Anna", remaining: 0 }], "GENESYS#0002", true],
    [[{ kind: "ended" }], "GENESYS#0002", false],
    [[{ kind: "idle_close" }], "GENESYS#0003", false],
    [[{ kind: "error", fatal: true, message: "x" }], "GENESYS#0001", false],
  ] as const)("operator side %j ends it with %s", (events, code, disconnect) => {
    const { c } = withOperator();
    const d = decide(c, { type: "operator_update", episodeUuid: EP, events: [...events] }, ctxFor(BOT_OP, at(50)));
    expect(notices(d.effects)).toEqual([code]);
    expect(types(d.effects).includes("disconnect_operator")).toBe(disconnect);
    expect(d.conversation.state).toBe("bot");
  });

  it("an operator message the back-end wants acknowledged (ackId) is sent with it; others without", () => {
    const { c } = withOperator();
    const events = [
      { kind: "message", text: "uno", nickname: "Anna", ackId: "gc-1" },
      { kind: "message", text: "due", nickname: "Anna" },
    ] as const;
    const d = decide(c, { type: "operator_update", episodeUuid: EP, events: [...events] }, ctxFor(BOT_OP, at(50)));
    const sent = d.effects.filter((e) => e.type === "send_client");
    expect(sent.map((e) => ("ackId" in e ? e.ackId : null))).toEqual(["gc-1", null]);
  });

  it("an operator-only channel closes instead of returning to a bot", () => {
    const start = decide(conv(OP), text("x"), ctxFor(OP)).conversation;
    const d = decide(start, { type: "operator_update", episodeUuid: start.episode!.uuid, events: [{ kind: "ended" }] }, ctxFor(OP, at(5)));
    expect(d.conversation.state).toBe("closed");
    expect(types(d.effects)).not.toContain("call_bot");
  });

  it("a non-fatal error only warns, and one agent leaving while another stays changes nothing", () => {
    const { c } = withOperator();
    const d = decide(
      c,
      {
        type: "operator_update",
        episodeUuid: EP,
        events: [
          { kind: "error", fatal: false, message: "x" },
          { kind: "left", nickname: "Anna", remaining: 1 },
        ],
      },
      ctxFor(BOT_OP, at(50)),
    );
    expect(notices(d.effects)).toEqual(["GENESYS_ERROR#0001"]);
    expect(d.conversation.state).toBe("operator");
  });

  it("events after the end, or for another episode, are ignored", () => {
    const { c } = withOperator();
    const d = decide(
      c,
      { type: "operator_update", episodeUuid: EP, events: [{ kind: "ended" }, { kind: "message", text: "late", nickname: "Anna" }] },
      ctxFor(BOT_OP, at(50)),
    );
    expect(d.effects.filter((e) => e.type === "send_client" && e.message.kind === "text")).toEqual([]);
    const other = decide(c, { type: "operator_update", episodeUuid: "other", events: [{ kind: "ended" }] }, ctxFor(BOT_OP, at(50)));
    expect(other.effects).toEqual([]);
    expect(other.conversation.state).toBe("operator");
  });

  it("a failed chat request ends the episode with GENESYS#0001", () => {
    const { c } = run(BOT_OP, [
      [0, text("x")],
      [1, { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] }],
    ]);
    const d = decide(c, { type: "operator_request_failed", episodeUuid: EP, reason: "500" }, ctxFor(BOT_OP, at(2)));
    expect(notices(d.effects)).toEqual(["GENESYS#0001"]);
    expect(d.conversation.state).toBe("bot");
  });

  it("a chat accepted after the user already left is disconnected", () => {
    const { c } = run(BOT_OP, [
      [0, text("x")],
      [1, { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] }],
      [2, notice("GENESYS_CLOSE_BY_USER#0001")],
    ]);
    const d = decide(
      c,
      { type: "operator_accepted", episodeUuid: EP, chat: { chatId: "c", userId: "u", secureKey: "k", alias: "a" } },
      ctxFor(BOT_OP, at(3)),
    );
    expect(d.effects).toEqual([{ type: "disconnect_operator", episodeUuid: EP }]);
    expect(d.conversation.episode!.chat).toEqual({ chatId: "c", userId: "u", secureKey: "k", alias: "a" });
  });
});

describe("timeouts and queue notices (fake clock)", () => {
  it("idle operator: GENESYS#0003 after idleTimeoutMs without activity, not before", () => {
    const { c } = withOperator();
    expect(decide(c, { type: "tick" }, ctxFor(BOT_OP, at(10 + 539))).effects).toEqual([]);
    const d = decide(c, { type: "tick" }, ctxFor(BOT_OP, at(10 + 600)));
    expect(notices(d.effects)).toEqual(["GENESYS#0003"]);
    expect(types(d.effects)[0]).toBe("disconnect_operator");
  });

  it("idle operator: ROUTER_INACTIVITY_WARNING#0001 (closesAt) once, idleWarningMs before GENESYS#0003", () => {
    const { c } = withOperator();
    const w = decide(c, { type: "tick" }, ctxFor(BOT_OP, at(10 + 540)));
    expect(w.effects).toEqual([
      {
        type: "send_client",
        message: { kind: "notice", code: "ROUTER_INACTIVITY_WARNING#0001", data: { closesAt: at(10 + 600).toISOString() } },
        episodeUuid: EP,
      },
    ]);
    expect(decide(w.conversation, { type: "tick" }, ctxFor(BOT_OP, at(10 + 570))).effects).toEqual([]); // once
    expect(notices(decide(w.conversation, { type: "tick" }, ctxFor(BOT_OP, at(10 + 600))).effects)).toEqual(["GENESYS#0003"]);
  });

  it("a user message after the warning keeps the episode open", () => {
    const { c } = withOperator();
    const w = decide(c, { type: "tick" }, ctxFor(BOT_OP, at(10 + 540))).conversation;
    const u = decide(w, text("ci sono"), ctxFor(BOT_OP, at(10 + 580)));
    expect(types(u.effects)).toEqual(["send_operator"]);
    expect(decide(u.conversation, { type: "tick" }, ctxFor(BOT_OP, at(10 + 600))).effects).toEqual([]);
    // The next close is idleTimeoutMs after the user's message, warned again first.
    expect(notices(decide(u.conversation, { type: "tick" }, ctxFor(BOT_OP, at(10 + 580 + 540))).effects)).toEqual([
      "ROUTER_INACTIVITY_WARNING#0001",
    ]);
  });

  it("a Genesys idle alert warns with closesAt idleWarningMs ahead; its idle close ends with GENESYS#0003", () => {
    const { c } = withOperator();
    const alert = { type: "operator_update", episodeUuid: EP, events: [{ kind: "idle_alert" }] } as ConversationEvent;
    const w = decide(c, alert, ctxFor(BOT_OP, at(20)));
    expect(w.effects).toEqual([
      {
        type: "send_client",
        message: { kind: "notice", code: "ROUTER_INACTIVITY_WARNING#0001", data: { closesAt: at(80).toISOString() } },
        episodeUuid: EP,
      },
    ]);
    const close = { type: "operator_update", episodeUuid: EP, events: [{ kind: "idle_close" }] } as ConversationEvent;
    expect(notices(decide(w.conversation, close, ctxFor(BOT_OP, at(80))).effects)).toEqual(["GENESYS#0003"]);
  });

  it("queue timeout: GENESYS#0003 when no operator joined within queueTimeoutMs", () => {
    const { c } = run(BOT_OP, [
      [0, text("x")],
      [1, { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] }],
    ]);
    expect(decide(c, { type: "tick" }, ctxFor(BOT_OP, at(1 + 1799))).effects).toEqual([]);
    expect(notices(decide(c, { type: "tick" }, ctxFor(BOT_OP, at(1 + 1800))).effects)).toEqual(["GENESYS#0003"]);
  });

  it("queue position: on change, at most every 15 s, the latest one sent when the interval has passed", () => {
    const { c } = run(BOT_OP, [
      [0, text("x")],
      [1, { type: "bot_replied", cause: "message", replies: [{ custom: { router: { handoff: {} } } }] }],
    ]);
    const q = (position: number): ConversationEvent => ({
      type: "operator_update",
      episodeUuid: EP,
      events: [{ kind: "queue", position }],
    });
    let r = decide(c, q(3), ctxFor(BOT_OP, at(5)));
    expect(notices(r.effects)).toEqual([]); // 4 s after the first notice
    r = decide(r.conversation, q(2), ctxFor(BOT_OP, at(10)));
    expect(notices(r.effects)).toEqual([]);
    r = decide(r.conversation, { type: "tick" }, ctxFor(BOT_OP, at(16)));
    expect(r.effects).toEqual([
      { type: "send_client", message: { kind: "notice", code: "ROUTER_QUEUED#0001", data: { position: 2 } }, episodeUuid: EP },
    ]);
    r = decide(r.conversation, q(2), ctxFor(BOT_OP, at(40)));
    expect(notices(r.effects)).toEqual([]); // unchanged
    r = decide(r.conversation, q(1), ctxFor(BOT_OP, at(41)));
    expect(r.effects).toEqual([
      { type: "send_client", message: { kind: "notice", code: "ROUTER_QUEUED#0001", data: { position: 1 } }, episodeUuid: EP },
    ]);
  });
});

describe("post-chat voting", () => {
  function closedByOperator() {
    const { c } = withOperator();
    return decide(c, { type: "operator_update", episodeUuid: EP, events: [{ kind: "ended" }] }, ctxFor(BOT_OP, at(100))).conversation;
  }

  it("opens within the window, takes the next message as the vote, then closes again", () => {
    const closed = closedByOperator();
    const open = decide(closed, notice("GENESYS_OPEN_FOR_VOTING#0001"), ctxFor(BOT_OP, at(200)));
    expect(open.conversation.state).toBe("voting");
    const until = new Date(at(100).getTime() + timing.votingWindowMs);
    expect(open.effects).toEqual([
      {
        type: "send_client",
        message: { kind: "notice", code: "ROUTER_VOTING_OPEN#0001", data: { until: until.toISOString() } },
        episodeUuid: EP,
      },
    ]);
    const vote = decide(open.conversation, text("5", "v1"), ctxFor(BOT_OP, at(300)));
    expect(vote.effects[0]).toEqual({ type: "submit_vote", episodeUuid: EP, text: "5", messageId: "v1" });
    expect(types(vote.effects)).not.toContain("call_bot");
    expect(vote.conversation.state).toBe("bot");
    const after = decide(vote.conversation, text("ciao", "m5"), ctxFor(BOT_OP, at(301)));
    expect(types(after.effects)).toEqual(["call_bot"]);
  });

  it("is refused outside the window, while an episode is open, or without any episode", () => {
    const closed = closedByOperator();
    expect(decide(closed, notice("GENESYS_OPEN_FOR_VOTING#0001"), ctxFor(BOT_OP, at(100 + 86_401))).refusal?.code).toBe("VOTING_CLOSED");
    expect(decide(withOperator().c, notice("GENESYS_OPEN_FOR_VOTING#0001"), ctxFor(BOT_OP)).refusal?.code).toBe("VOTING_CLOSED");
    expect(decide(conv(BOT_OP), notice("GENESYS_OPEN_FOR_VOTING#0001"), ctxFor(BOT_OP)).refusal?.code).toBe("VOTING_CLOSED");
  });

  it("an expired voting state goes back to rest on the next tick or message", () => {
    const open = decide(closedByOperator(), notice("GENESYS_OPEN_FOR_VOTING#0001"), ctxFor(BOT_OP, at(200))).conversation;
    const later = at(100 + 86_401);
    expect(decide(open, { type: "tick" }, ctxFor(BOT_OP, later)).conversation.state).toBe("bot");
    expect(types(decide(open, text("ciao"), ctxFor(BOT_OP, later)).effects)).toEqual(["call_bot"]);
  });
});

describe("notices from the client", () => {
  it("an unknown code is refused naming payload.code", () => {
    expect(decide(conv(BOT), notice("GENESYS#0002"), ctxFor(BOT)).refusal).toMatchObject({ code: "BAD_REQUEST", field: "payload.code" });
  });
});

describe("client metadata", () => {
  it("keeps the same object when nothing changed and takes the latest values otherwise", () => {
    const c = conv(BOT);
    expect(withClientMeta(c, meta)).toBe(c);
    expect(withClientMeta(c, { ...meta, useChatDynamic: true, lang: "en" })).toMatchObject({ useChatDynamic: true, lang: "en" });
    expect(withClientMeta(c, { apiVersion: "2.1", lang: "it", os: undefined })).toBe(c); // left out: kept
    expect(withClientMeta(c, { os: "ios" })).toMatchObject({ os: "ios", appVersion: "0.4.65" });
  });

  it("never mutates the conversation it was given", () => {
    const c = withOperator().c;
    const snapshot = structuredClone(c);
    decide(c, notice("GENESYS_CLOSE_BY_USER#0001"), ctxFor(BOT_OP, at(40)));
    decide(c, { type: "tick" }, ctxFor(BOT_OP, at(10_000)));
    expect(c).toEqual(snapshot);
  });
});

describe("sameConversation (what tells a step to save the conversation)", () => {
  it("holds for a copy with equal values: dates by time, options and episode by value", () => {
    const c = withOperator().c;
    const copy: Conversation = structuredClone({ ...c, botOptions: [{ title: "Sì", payload: "/yes" }] });
    expect(sameConversation({ ...c, botOptions: [{ title: "Sì", payload: "/yes" }] }, copy)).toBe(true);
    expect(sameConversation(c, c)).toBe(true);
  });

  it.each<[string, (c: Conversation) => Conversation]>([
    ["a state", (c) => ({ ...c, state: "closed" })],
    ["an episode field", (c) => ({ ...c, episode: { ...c.episode!, queuePosition: 9 } })],
    ["an episode date", (c) => ({ ...c, episode: { ...c.episode!, lastActivityAt: new Date(1) } })],
    ["the Genesys chat", (c) => ({ ...c, episode: { ...c.episode!, chat: { ...c.episode!.chat!, secureKey: "other" } } })],
    ["the options", (c) => ({ ...c, botOptions: [{ title: "No", payload: "/no" }] })],
    ["an optional field left out", (c) => (({ plain: _p, ...rest }) => rest)({ ...c, plain: false })],
  ])("tells %s apart", (_what, change) => {
    const c = { ...withOperator().c, plain: false };
    expect(sameConversation(c, change(structuredClone(c)))).toBe(false);
  });

  it("an event that changes nothing gives an equal conversation; one that does, a different one", () => {
    const c = withOperator().c;
    expect(sameConversation(c, decide(c, { type: "user_chat_state", state: "composing" }, ctxFor(BOT_OP, at(40))).conversation)).toBe(true);
    expect(sameConversation(c, decide(c, notice("GENESYS_CLOSE_BY_USER#0001"), ctxFor(BOT_OP, at(40))).conversation)).toBe(false);
  });
});
