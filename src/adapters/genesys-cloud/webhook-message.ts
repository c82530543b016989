// The normalized message Genesys Cloud POSTs to the router's webhook
// (backends.md 2b; platform API OpenNormalizedMessage / OpenEventNormalizedMessage):
// `{id, channel: {id, platform: "Open", type, messageId?, to: {id}, from: {nickname, id, idType, firstName?}, time},
//   type: "Text"|"Receipt"|"Event", text?, content?: [{contentType: "Attachment", attachment}], status?,
//   events?: [{eventType: "Typing", typing: {type: "On", duration?}}], direction: "Outbound"}`.
// Read defensively; pure.
import { withoutControlChars } from "../../security/safe-text.js";
import { plainText, safeHtml } from "../../security/safe-text.js";

/** An agent's attachment (OpenContentAttachment): `url` is where the router downloads it. */
export interface CloudAttachment {
  url: string;
  mime: string | null;
  filename: string | null;
}

export type WebhookMessage =
  | { kind: "text"; id: string; time: string; conversationId: string; text: string; nickname: string; attachments: CloudAttachment[] }
  | { kind: "typing"; id: string; time: string; conversationId: string }
  | { kind: "receipt"; id: string; time: string; conversationId: string; status: string }
  | { kind: "other"; id: string; time: string; conversationId: string; type: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === "string" ? v : "");

function attachmentOf(c: Obj): CloudAttachment {
  const a = isObj(c["attachment"]) ? c["attachment"] : {};
  const mime = str(a["mime"]).trim().toLowerCase();
  const filename = plainText(str(a["filename"])).trim().slice(0, 255);
  return { url: str(a["url"]).trim(), mime: /^[\w.+-]+\/[\w.+-]+$/.test(mime) ? mime : null, filename: filename || null };
}

export function parseWebhookMessage(raw: string): WebhookMessage | { invalid: string } {
  let body: unknown;
  try {
    body = withoutControlChars(JSON.parse(raw));
  } catch {
    return { invalid: "body is not JSON" };
  }
  if (!isObj(body) || !isObj(body["channel"])) return { invalid: "no channel" };
  const channel = body["channel"];
  const id = str(body["id"]);
  const time = str(channel["time"]);
  const to = isObj(channel["to"]) ? channel["to"] : {};
  const from = isObj(channel["from"]) ? channel["from"] : {};
  const conversationId = str(to["id"]);
  if (!id || !time || !conversationId) return { invalid: "id, channel.time or channel.to.id missing" };
  const type = str(body["type"]);
  const common = { id, time, conversationId };
  if (type === "Text") {
    const content = Array.isArray(body["content"]) ? body["content"].filter(isObj) : [];
    const attachments = content.filter((c) => c["contentType"] === "Attachment" || isObj(c["attachment"])).map(attachmentOf);
    const nickname = plainText(str(from["nickname"]) || str(from["firstName"])).trim();
    return { kind: "text", ...common, text: safeHtml(str(body["text"])), nickname, attachments };
  }
  if (type === "Receipt") return { kind: "receipt", ...common, status: str(body["status"]) };
  if (type === "Event") {
    const events = Array.isArray(body["events"]) ? body["events"].filter(isObj) : [];
    if (events.some((e) => e["eventType"] === "Typing")) return { kind: "typing", ...common };
  }
  return { kind: "other", ...common, type };
}
