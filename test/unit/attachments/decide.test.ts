// protocol.md section 10 in the core: the user's attachments are checked
// before anything is forwarded; refused ones are told, the text still goes.
import { describe, expect, it } from "vitest";
import { decide, newConversation, type DecideContext } from "../../../src/core/conversation.js";
import type { AttachmentPolicy } from "../../../src/core/attachment-policy.js";
import type { Effect } from "../../../src/core/effects.js";
import type { ChannelRoute, Conversation } from "../../../src/core/model.js";
import type { Attachment } from "../../../src/protocol/attachment.js";
import { botRequest } from "../../../src/delivery/jobs.js";

const BOT: ChannelRoute = { mode: "bot", bot: { url: "http://bot" } };
const OP: ChannelRoute = { mode: "operator", genesys: { serviceName: "support" } };
const policy: AttachmentPolicy = {
  allowedHosts: ["upload.example.org"],
  maxBytes: 10 * 1024 * 1024,
  allowedTypes: ["image/*", "application/pdf", "text/plain"],
  maxPerEpisode: 5,
  allowHttp: false,
};
const timing = { idleTimeoutMs: 600_000, queueTimeoutMs: 1_800_000, queuedNoticeIntervalMs: 15_000, votingWindowMs: 86_400_000 };

function ctx(route: ChannelRoute, operatorTakesFiles?: (serviceName: string) => boolean): DecideContext {
  let n = 0;
  return {
    now: new Date(),
    route,
    operatorsAvailable: true,
    timing,
    attachments: policy,
    newUuid: () => `uuid-${++n}`,
    ...(operatorTakesFiles ? { operatorTakesFiles } : {}),
  };
}

function conv(route: ChannelRoute): Conversation {
  return newConversation(
    {
      userJid: "393471111111@example.org",
      msisdn: "393471111111",
      channel: "supporto",
      chatTitle: "Supporto",
      addressing: { kind: "channel" },
    },
    { apiVersion: "2", lang: "en", os: null, appVersion: null, premium: false, useChatDynamic: false },
    ctx(route),
  );
}

const good = (n: number): Attachment => ({ url: `https://upload.example.org/s/${n}.png` });
const refusals = (effects: Effect[]) =>
  effects.flatMap((e) =>
    e.type === "send_client" && e.message.kind === "notice" && e.message.code === "ROUTER_ATTACHMENT_REFUSED#0001" ? [e.message.data] : [],
  );
const botCalls = (effects: Effect[]) =>
  effects.filter((e): e is Extract<Effect, { type: "call_bot" }> => e.type === "call_bot" && e.event !== "session_start");

function send(c: Conversation, route: ChannelRoute, text: string, attachments: Attachment[], messageId = "m1") {
  return decide(c, { type: "user_text", text, messageId, resetSession: false, attachments }, ctx(route));
}

describe("attachments from the user, in the core", () => {
  it("an accepted file reaches the bot's metadata with its type", () => {
    const c = conv(BOT);
    const d = send(c, BOT, "my modem", [good(1)]);
    const [call] = botCalls(d.effects);
    expect(call).toMatchObject({ text: "my modem", attachments: [{ url: good(1).url, mediaType: "image/png" }] });
    expect(botRequest(d.conversation, call!).metadata.attachments).toEqual([
      { url: good(1).url, mediaType: "image/png", name: null, size: null },
    ]);
    expect(d.conversation.attachmentsSent).toBe(1);
  });

  it("a refused file is told with its reason and the text still goes through, without attachments", () => {
    const d = send(conv(BOT), BOT, "look", [{ url: "https://evil.example/x.png" }]);
    expect(refusals(d.effects)).toEqual([{ reason: "host", name: "x.png" }]);
    const [call] = botCalls(d.effects);
    expect(call).toMatchObject({ text: "look" });
    expect(call!.attachments).toBeUndefined();
    expect(botRequest(d.conversation, call!).metadata).not.toHaveProperty("attachments");
  });

  it("only a refused file and no text: the refusal, and nothing for the bot", () => {
    const d = send(conv(BOT), BOT, "", [{ url: "https://upload.example.org/s/a.exe" }]);
    expect(refusals(d.effects)).toEqual([{ reason: "type", name: "a.exe" }]);
    expect(d.effects.some((e) => e.type === "call_bot")).toBe(false);
  });

  it("the sixth file of an episode is refused as count; a reset session counts again", () => {
    let c = conv(BOT);
    c = send(c, BOT, "", [good(1), good(2), good(3)]).conversation;
    const d = send(c, BOT, "", [good(4), good(5), good(6)], "m2");
    expect(botCalls(d.effects)[0]!.attachments!.map((a) => a.url)).toEqual([good(4).url, good(5).url]);
    expect(refusals(d.effects)).toEqual([{ reason: "count", name: "6.png" }]);
    const r = decide(
      d.conversation,
      { type: "user_text", text: "again", messageId: "m3", resetSession: true, attachments: [good(7)] },
      ctx(BOT),
    );
    expect(botCalls(r.effects)[0]!.attachments).toHaveLength(1);
  });

  it("to a GMS operator: the text, then one send_operator_file job per accepted file; refused ones are told", () => {
    const gms = (serviceName: string) => serviceName === "support";
    const d = decide(
      conv(OP),
      {
        type: "user_text",
        text: "bill",
        messageId: "m1",
        resetSession: false,
        attachments: [good(1), { url: good(2).url, size: 11 * 1024 * 1024 }, good(3)],
      },
      ctx(OP, gms),
    );
    const uuid = d.conversation.episode!.uuid;
    expect(d.effects.filter((e) => e.type === "send_operator" || e.type === "send_operator_file")).toEqual([
      { type: "send_operator", episodeUuid: uuid, text: "bill", messageId: "m1" },
      { type: "send_operator_file", episodeUuid: uuid, attachment: { url: good(1).url, mediaType: "image/png" }, messageId: "m1#file0" },
      { type: "send_operator_file", episodeUuid: uuid, attachment: { url: good(3).url, mediaType: "image/png" }, messageId: "m1#file1" },
    ]);
    expect(refusals(d.effects)).toEqual([{ reason: "size", name: "2.png" }]);
    expect(d.conversation.attachmentsSent).toBe(2);
  });

  it("an operator's file (GMS FileUploaded) becomes a receive_operator_file job and counts as activity", () => {
    const opened = send(conv(OP), OP, "hello", []).conversation;
    const uuid = opened.episode!.uuid;
    const joined = decide(
      opened,
      { type: "operator_update", episodeUuid: uuid, events: [{ kind: "joined", nickname: "Anna" }] },
      ctx(OP),
    ).conversation;
    const file = { fileId: "00F01", nickname: "Anna", name: "bill.pdf", mediaType: "application/pdf", size: 10 };
    const d = decide(joined, { type: "operator_update", episodeUuid: uuid, events: [{ kind: "file", ...file }] }, ctx(OP));
    expect(d.effects).toEqual([{ type: "receive_operator_file", episodeUuid: uuid, file }]);
  });

  it("to an operator whose back-end takes no files (not configured): an accepted file is refused as unavailable and the text still goes", () => {
    const d = send(conv(OP), OP, "bill", [good(1), { url: good(2).url, size: 11 * 1024 * 1024 }]);
    const op = d.effects.find((e) => e.type === "send_operator");
    expect(op).toMatchObject({ text: "bill" });
    expect(op).not.toHaveProperty("attachments");
    expect(refusals(d.effects)).toEqual([
      { reason: "size", name: "2.png" },
      { reason: "unavailable", name: "1.png" },
    ]);
    const onlyFile = send(conv(OP), OP, "", [good(1)]);
    expect(onlyFile.effects.filter((e) => e.type === "send_operator")).toEqual([]);
    expect(refusals(onlyFile.effects)).toEqual([{ reason: "unavailable", name: "1.png" }]);
  });

  it("without a policy nothing is accepted", () => {
    const c = conv(BOT);
    const { attachments: _none, ...bare } = ctx(BOT);
    const d = decide(c, { type: "user_text", text: "x", messageId: "m1", resetSession: false, attachments: [good(1)] }, bare);
    expect(refusals(d.effects)).toHaveLength(1);
  });
});
