// GMS transcript → neutral OperatorEvents (backends.md section 2). Pure: the
// only state is the ChatTrack the caller passes in (who is in the chat).
//
// | GMS event (from.type)                         | OperatorEvent                          |
// |-----------------------------------------------|----------------------------------------|
// | anything from Client (our own actions)        | none                                   |
// | ParticipantJoined (Agent, Supervisor)         | joined {nickname}                      |
// | ParticipantLeft (Agent, Supervisor)           | left {nickname, remaining}             |
// | Message (Agent, Supervisor)                   | message {text, nickname}               |
// | TypingStarted / TypingStopped (Agent, Sup.)   | typing {typing: true / false}          |
// | Notice or Message (External) "…position in   | queue {position}                       |
// |   queue: N" (/position in queue:\s*(\d+)/i)   |                                        |
// | Message (External), any other text            | message {text, nickname} (a routing    |
// |                                               |   workflow's words to the customer)    |
// | PushUrl (Agent, Supervisor, External)         | message {text: the URL, nickname}      |
// | FileUploaded (Agent, Supervisor) with a        | file {fileId, name?, mediaType?, size?, |
// |   userData file-id                            |   nickname} (gms-files.ts downloads it) |
// | IdleClose (anyone), Notice IDLE_CONTROL_CLOSE | idle_close                             |
// | IdleAlert (anyone), Notice IDLE_CONTROL_ALERT | idle_alert                             |
// | other Notice, CustomNotice, FileUploaded of   | none                                   |
// |   Client/External, ParticipantJoined/Left of  |                                        |
// |   External, unknown types, empty texts        |                                        |
//
// Chat Server's idle control comes as Notice events whose text names
// IDLE_CONTROL_ALERT, then IDLE_CONTROL_CLOSE (backends.md section 2).
//
// A Supervisor that appears in the client's transcript is visible to the
// customer (GMS leaves silent monitoring out), so it counts as an operator
// like an Agent. `remaining` is the number of operators (Agent + Supervisor)
// still in the chat after the one that left.
import type { OperatorEvent } from "../../core/events.js";
import type { GmsTranscriptEvent } from "./answer.js";

export const QUEUE_POSITION_RE = /position in queue:\s*(\d+)/i;
const IDLE_ALERT_RE = /\bIDLE_CONTROL_ALERT\b/;
const IDLE_CLOSE_RE = /\bIDLE_CONTROL_CLOSE\b/;

/** What the adapter remembers of one chat: the operators in it, folded from the transcript. */
export interface ChatTrack {
  /** Operators in the chat now: participantId → nickname. */
  operators: Map<string, string>;
  /** Every index below this one has been folded into `operators`. */
  next: number;
}

export const newTrack = (): ChatTrack => ({ operators: new Map(), next: 1 });

export interface Translation {
  events: OperatorEvent[];
  /** The highest index in the answer, if it had any event. */
  lastIndex: number | undefined;
  /** Whether an idle_close was emitted (then chatEnded adds no `ended`). */
  idleClosed: boolean;
  /** Events of others read but not turned into anything, for debug logs. */
  ignored: { index: number; type: string; from: string }[];
}

const isOperator = (type: string) => type === "Agent" || type === "Supervisor";

/**
 * Translates `messages` in index order, each index once; every event carries
 * its `index`. Events with index >= foldFrom update `track.operators`; only
 * those with index >= emitFrom produce events (a re-read of older indexes
 * after a restart rebuilds who is present without replaying anything). An
 * index below foldFrom but not below emitFrom was folded already (by another
 * answer: a send's and a poll's overlap): it is emitted against a copy of the
 * track, which it does not change again.
 */
export function translateTranscript(
  messages: readonly GmsTranscriptEvent[],
  track: ChatTrack,
  foldFrom: number,
  emitFrom: number,
): Translation {
  const sorted = [...messages].sort((a, b) => a.index - b.index);
  const out: Translation = { events: [], lastIndex: undefined, idleClosed: false, ignored: [] };
  let previous: number | undefined;
  for (const e of sorted) {
    if (e.index === previous) continue;
    previous = e.index;
    out.lastIndex = e.index;
    // Our own actions (Client) are skipped silently: they are not news to us.
    const fold = e.index >= foldFrom;
    const emit = e.index >= emitFrom;
    if ((!fold && !emit) || e.from.type === "Client") continue;
    const event = translateOne(e, fold ? track : { operators: new Map(track.operators), next: track.next });
    if (!emit) continue;
    if (event) {
      out.events.push({ ...event, index: e.index });
      if (event.kind === "idle_close") out.idleClosed = true;
    } else {
      out.ignored.push({ index: e.index, type: e.type, from: e.from.type });
    }
  }
  return out;
}

/** One event: updates the track, returns what it means to the router (or nothing). */
function translateOne(e: GmsTranscriptEvent, track: ChatTrack): OperatorEvent | undefined {
  const { from } = e;
  const operator = isOperator(from.type);
  const text = e.text ?? "";
  switch (e.type) {
    case "ParticipantJoined":
      if (!operator) return undefined;
      track.operators.set(from.participantId, from.nickname);
      return { kind: "joined", nickname: from.nickname };
    case "ParticipantLeft":
      if (!operator) return undefined;
      track.operators.delete(from.participantId);
      return { kind: "left", nickname: from.nickname, remaining: track.operators.size };
    case "Message": {
      if (from.type === "External") {
        const position = queuePosition(text);
        if (position !== undefined) return { kind: "queue", position };
      } else if (!operator) return undefined;
      return text.trim() === "" ? undefined : { kind: "message", text, nickname: from.nickname };
    }
    case "TypingStarted":
    case "TypingStopped":
      return operator ? { kind: "typing", typing: e.type === "TypingStarted" } : undefined;
    case "Notice": {
      if (IDLE_ALERT_RE.test(text)) return { kind: "idle_alert" };
      if (IDLE_CLOSE_RE.test(text)) return { kind: "idle_close" };
      if (from.type !== "External") return undefined;
      const position = queuePosition(text);
      return position === undefined ? undefined : { kind: "queue", position };
    }
    case "PushUrl":
      return text.trim() === "" ? undefined : { kind: "message", text, nickname: from.nickname };
    case "FileUploaded":
      return operator ? fileEvent(e) : undefined;
    case "IdleClose":
      return { kind: "idle_close" };
    case "IdleAlert":
      return { kind: "idle_alert" };
    default:
      // CustomNotice, FileDeleted and types GMS may add later.
      return undefined;
  }
}

const MAX_FILE_NAME = 256;
const MEDIA_TYPE_RE = /^[\w.+-]+\/[\w.+-]+$/;

/** backends.md section 2: a FileUploaded event carries the file-id (and name, size, type) in its userData. */
function fileEvent(e: GmsTranscriptEvent): OperatorEvent | undefined {
  const d = e.userData ?? {};
  const fileId = d["file-id"];
  if (!fileId) return undefined;
  const size = Number(d["file-size"]);
  return {
    kind: "file",
    fileId,
    nickname: e.from.nickname,
    ...(d["file-name"] ? { name: d["file-name"].slice(0, MAX_FILE_NAME) } : {}),
    ...(d["file-type"] && MEDIA_TYPE_RE.test(d["file-type"]) ? { mediaType: d["file-type"].toLowerCase() } : {}),
    ...(Number.isSafeInteger(size) && size >= 0 && d["file-size"] ? { size } : {}),
  };
}

function queuePosition(text: string): number | undefined {
  const m = QUEUE_POSITION_RE.exec(text);
  if (!m?.[1]) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}
