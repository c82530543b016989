// What the Genesys Cloud conversation state says happened (backends.md 2b:
// the webhook has no "agent joined", "agent left" or "conversation ended").
// Read from GET /api/v2/conversations/messages/{conversationId}:
// `participants: [{id, name, purpose: customer|agent|acd|…, state:
// alerting|connected|disconnected|…, connectedTime?, endTime?}]`
// (platform API MessageMediaParticipant). Pure.
//
// The episode's transcriptPosition keeps what was already told: it is 1 +
// the number of agents seen connected so far (the webhook's first agent
// message counts one too). So a restart or another instance's turn neither
// repeats a join nor misses one.
import type { OperatorEvent } from "../../core/events.js";
import { plainText } from "../../security/safe-text.js";

export interface CloudParticipant {
  id: string;
  name: string;
  purpose: string;
  state: string;
  /** Ever connected (state connected, or a connectedTime). */
  wasConnected: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : "");

export function readParticipants(body: unknown): CloudParticipant[] | null {
  if (!isObj(body) || !Array.isArray(body["participants"])) return null;
  return body["participants"].filter(isObj).map((p) => ({
    id: str(p["id"]),
    name: plainText(str(p["name"])),
    purpose: str(p["purpose"]).toLowerCase(),
    state: str(p["state"]).toLowerCase(),
    wasConnected: str(p["state"]).toLowerCase() === "connected" || !!p["connectedTime"],
  }));
}

export interface StateReading {
  events: OperatorEvent[];
  nextPosition: number;
  customerParticipantId: string | undefined;
}

export function readState(participants: CloudParticipant[], position: number, fallbackNickname: string): StateReading {
  const customer = participants.find((p) => p.purpose === "customer");
  const agents = participants.filter((p) => p.purpose === "agent");
  const seen = agents.filter((p) => p.wasConnected);
  const known = Math.max(0, position - 1);
  const events: OperatorEvent[] = [];
  // New agents, oldest first (the API lists participants in the order they came).
  for (const a of seen.slice(known)) events.push({ kind: "joined", nickname: a.name || fallbackNickname });
  const nextPosition = Math.max(position, 1 + seen.length);

  const over = (p: CloudParticipant) => p.state === "disconnected" || p.state === "terminated";
  const ended = (customer !== undefined && over(customer)) || (participants.length > 0 && participants.every(over));
  if (ended) {
    events.push({ kind: "ended" });
  } else if (nextPosition > 1) {
    // An agent had joined; none is connected or being offered the conversation, and it is not back in a queue.
    const busy = agents.some((a) => !over(a)) || participants.some((p) => p.purpose === "acd" && p.state === "connected");
    if (!busy) events.push({ kind: "left", nickname: seen.at(-1)?.name ?? fallbackNickname, remaining: 0 });
  }
  return { events, nextPosition, customerParticipantId: customer?.id };
}
