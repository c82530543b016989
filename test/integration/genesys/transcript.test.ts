// The GMS answer reader and the transcript translation on their own (no I/O):
// the cases the simulator does not produce by itself.
import { describe, expect, it } from "vitest";
import { parseGmsAnswer } from "../../../src/adapters/genesys/answer.js";
import type { GmsTranscriptEvent } from "../../../src/adapters/genesys/answer.js";
import { newTrack, translateTranscript } from "../../../src/adapters/genesys/transcript.js";
import type { OperatorEvent } from "../../../src/core/events.js";

const party = (type: string, participantId: number, nickname = type) => ({ type, participantId: String(participantId), nickname });
let n = 0;
/** Every event carries its index (asserted below); most cases compare without it. */
const plainEvents = (events: OperatorEvent[]) => events.map(({ index: _index, ...e }) => e);
const ev = (from: ReturnType<typeof party>, type: string, text?: string, index = ++n): GmsTranscriptEvent =>
  text === undefined ? { from, index, type } : { from, index, type, text };

describe("transcript translation", () => {
  const client = party("Client", 1, "Mario");
  const agent = party("Agent", 2, "Giulia");
  const supervisor = party("Supervisor", 3, "Anna");
  const system = party("External", 0, "system");

  it("maps every GMS event type as the table in transcript.ts says", () => {
    n = 0;
    const messages = [
      ev(client, "ParticipantJoined"),
      ev(system, "Notice", "Your position in queue: 4"),
      ev(system, "Message", "Tutti gli operatori sono occupati"),
      ev(system, "Notice", "Benvenuto"),
      ev(agent, "ParticipantJoined"),
      ev(agent, "TypingStarted"),
      ev(agent, "Message", "Ciao"),
      ev(agent, "TypingStopped"),
      ev(agent, "PushUrl", "https://example.com/faq"),
      ev(agent, "FileUploaded", "file-123"),
      ev(agent, "CustomNotice", "x"),
      ev(agent, "Message", "   "),
      ev(system, "IdleAlert", "presto chiuderemo"),
      ev(client, "Message", "mia domanda"),
      ev(client, "TypingStarted"),
      ev(supervisor, "ParticipantJoined"),
      ev(supervisor, "Message", "sono la supervisora"),
      ev(supervisor, "ParticipantLeft"),
      ev(agent, "SomethingNew", "?"),
      ev(agent, "ParticipantLeft"),
      ev(system, "IdleClose", "chiusa"),
    ];
    const track = newTrack();
    const t = translateTranscript(messages, track, 1, 1);
    expect(plainEvents(t.events)).toEqual([
      { kind: "queue", position: 4 },
      { kind: "message", text: "Tutti gli operatori sono occupati", nickname: "system" },
      { kind: "joined", nickname: "Giulia" },
      { kind: "typing", typing: true },
      { kind: "message", text: "Ciao", nickname: "Giulia" },
      { kind: "typing", typing: false },
      { kind: "message", text: "https://example.com/faq", nickname: "Giulia" },
      { kind: "idle_alert" },
      { kind: "joined", nickname: "Anna" },
      { kind: "message", text: "sono la supervisora", nickname: "Anna" },
      { kind: "left", nickname: "Anna", remaining: 1 },
      { kind: "left", nickname: "Giulia", remaining: 0 },
      { kind: "idle_close" },
    ]);
    expect(t.idleClosed).toBe(true);
    expect(t.lastIndex).toBe(messages.length);
    expect(t.ignored.map((i) => i.type)).toEqual(["Notice", "FileUploaded", "CustomNotice", "Message", "SomethingNew"]);
    expect(track.operators.size).toBe(0);
  });

  it("Chat Server's idle control as Notice events: IDLE_CONTROL_ALERT → idle_alert, IDLE_CONTROL_CLOSE → idle_close", () => {
    const t = translateTranscript(
      [ev(system, "Notice", "IDLE_CONTROL_ALERT"), ev(system, "Notice", "IDLE_CONTROL_CLOSE")],
      newTrack(),
      1,
      1,
    );
    expect(plainEvents(t.events)).toEqual([{ kind: "idle_alert" }, { kind: "idle_close" }]);
    expect(t.idleClosed).toBe(true);
  });

  it("handles each index once, in index order, and folds older indexes without emitting them", () => {
    n = 0;
    const joined = ev(agent, "ParticipantJoined");
    const hello = ev(agent, "Message", "uno");
    const other = ev(party("Agent", 4, "Marco"), "ParticipantJoined");
    const left = ev(agent, "ParticipantLeft");
    const track = newTrack();
    // Shuffled, with a duplicate: sorted and deduplicated.
    const t = translateTranscript([left, other, hello, joined, hello], track, 1, 3);
    expect(plainEvents(t.events)).toEqual([
      { kind: "joined", nickname: "Marco" },
      { kind: "left", nickname: "Giulia", remaining: 1 },
    ]);
    expect(t.lastIndex).toBe(4);
    expect([...track.operators.values()]).toEqual(["Marco"]);
    // Below foldFrom: neither folded nor emitted.
    const again = translateTranscript([joined, hello], track, 3, 3);
    expect(again.events).toEqual([]);
    expect(track.operators.size).toBe(1);
  });

  it("gives each event its index, and emits an index folded before (another answer's) without folding it again", () => {
    n = 0;
    const joined = ev(agent, "ParticipantJoined");
    const hello = ev(agent, "Message", "uno");
    const left = ev(agent, "ParticipantLeft");
    const track = newTrack();
    translateTranscript([joined, hello, left], track, 1, 1);
    expect(track.operators.size).toBe(0);
    // A second answer of the same indexes, emitted from 1 but folded from 4: Giulia is not back in the chat.
    const t = translateTranscript([joined, hello, left], track, 4, 1);
    expect(t.events).toEqual([
      { kind: "joined", nickname: "Giulia", index: 1 },
      { kind: "message", text: "uno", nickname: "Giulia", index: 2 },
      { kind: "left", nickname: "Giulia", remaining: 0, index: 3 },
    ]);
    expect(track.operators.size).toBe(0);
  });
});

describe("GMS answer reader", () => {
  it("reads ids given as numbers, drops unreadable entries, keeps errors", () => {
    const a = parseGmsAnswer(
      JSON.stringify({
        statusCode: 0,
        chatId: "c1",
        userId: "u",
        secureKey: "k",
        alias: 117,
        chatEnded: false,
        nextPosition: "7",
        messages: [
          { index: 5, type: "Message", from: { nickname: "G", participantId: 2, type: "Agent" }, text: "hi" },
          { type: "Message" },
          3,
          null,
        ],
        errors: [{ code: 1, advice: "a" }, "x"],
      }),
    );
    expect(a).toMatchObject({ statusCode: 0, alias: "117", nextPosition: 7, dropped: 3, errors: [{ code: 1, advice: "a" }] });
    expect("invalid" in a ? [] : a.messages).toEqual([
      { index: 5, type: "Message", from: { nickname: "G", participantId: "2", type: "Agent" }, text: "hi" },
    ]);
  });

  it.each([
    ["<html>oops</html>", /not JSON/],
    ["[1,2]", /not a JSON object/],
    ['{"messages":[]}', /no statusCode/],
    ["", /not JSON/],
  ])("%j is not a GMS answer", (body, why) => {
    const a = parseGmsAnswer(body);
    expect("invalid" in a && a.invalid).toMatch(why);
  });
});
