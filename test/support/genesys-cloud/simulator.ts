// A Genesys Cloud Open Messaging simulator for the router's tests. It follows
// spec/backends.md section 2b and the public platform API documentation
// (developer.genesys.cloud; platform-client SDK models OpenNormalizedMessage,
// OpenEventNormalizedMessage, OpenReceiptNormalizedMessage,
// MessageMediaParticipant), not the router:
//
//   POST  /oauth/token                                          Basic clientId:secret, grant_type=client_credentials
//   POST  /api/v2/conversations/messages/{integrationId}/inbound/open/message[?prefetchConversationId=true]
//   POST  /api/v2/conversations/messages/{integrationId}/inbound/open/event
//   POST  /api/v2/conversations/messages/{integrationId}/inbound/open/receipt  Delivered | Failed (+ reasons), recorded
//   GET   /api/v2/conversations/messages/{conversationId}       participants
//   PATCH /api/v2/conversations/messages/{conversationId}/participants/{participantId}  {state: "disconnected"}
//   GET   /media/{id}                                           an agent's attachment (no token: the URL is the credential)
//
// Every API call needs a bearer token it issued and not expired (401
// otherwise); each token may make `requestsPerMinute` calls a minute (429
// with Retry-After beyond). Inbound bodies are validated (400 on a bad one).
// The agent side calls the router's webhook with X-Hub-Signature-256
// (sha256= + base64 HMAC-SHA256 of the raw body) and retries as Genesys does:
// on a timeout, a 429 or a 5xx, up to 5 more times, retryDelayMs apart.
//
// Attachments (platform API OpenContentAttachment `{mediaType: Image|Video|
// Audio|File, url, mime, filename?}` in `content[]`, contentType
// "Attachment"): an inbound message may carry them instead of text; Genesys
// fetches each URL, without a token, as it receives the message (recorded in
// SimConversation.received). An agent's attachment (agentSendFile) reaches
// the webhook as such content, its URL on this server (/media/{id}).
import { createHash, createHmac, randomUUID } from "node:crypto";
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";

export interface SimOptions {
  clientId: string;
  clientSecret: string;
  webhookSecret: string;
  /** The router's webhook for an integration: set with setWebhook (the router's port is known later). */
  tokenExpiresInSeconds?: number;
  requestsPerMinute?: number;
  /** Genesys waits 10 s; tests shorten it. */
  webhookTimeoutMs?: number;
  /** Genesys retries 5 s apart; tests shorten it. */
  retryDelayMs?: number;
}

export interface SimParticipant {
  id: string;
  name: string;
  purpose: "customer" | "agent" | "acd";
  state: "alerting" | "connected" | "disconnected";
  connectedTime?: string;
  endTime?: string;
}

export interface InboundRecord {
  kind: "message" | "event" | "receipt";
  integrationId: string;
  body: Record<string, unknown>;
  query: Record<string, string>;
}

export interface WebhookDelivery {
  body: string;
  statuses: (number | "timeout")[];
}

/** An inbound attachment as Genesys fetched it from its URL. */
export interface ReceivedAttachment {
  mediaType: string;
  url: string;
  mime: string;
  filename: string | undefined;
  /** The fetch's HTTP status, or "failed" when there was no answer. */
  status: number | "failed";
  sha256: string | undefined;
  size: number;
}

export interface AgentFile {
  filename: string;
  mime: string;
  content: Buffer;
  /** A URL of this server that is not served (an expired link): the fetch gets 404. */
  gone?: boolean;
  /** Another URL than this server's (a host the router must not fetch from). */
  url?: string;
}

const MEDIA_TYPES = ["Image", "Video", "Audio", "File"];

export class SimConversation {
  readonly id = randomUUID();
  readonly participants: SimParticipant[];
  readonly messages: Record<string, unknown>[] = [];
  /** Inbound attachments, each fetched from its URL. */
  readonly received: ReceivedAttachment[] = [];
  readonly customAttributes: Record<string, string>;

  constructor(
    private readonly sim: GenesysCloudSimulator,
    readonly integrationId: string,
    readonly fromId: string,
    nickname: string,
    customAttributes: Record<string, string>,
  ) {
    const t = new Date().toISOString();
    this.customAttributes = customAttributes;
    this.participants = [
      { id: randomUUID(), name: nickname, purpose: "customer", state: "connected", connectedTime: t },
      { id: randomUUID(), name: "Queue", purpose: "acd", state: "connected", connectedTime: t },
    ];
  }

  get ended(): boolean {
    return this.customer.state === "disconnected";
  }

  get customer(): SimParticipant {
    return this.participants[0]!;
  }

  /** Receipts the router sent for agent messages of this conversation (channel.to.id is the customer's id), in order. */
  receipts(messageId?: string): { id: string; status: string; reasons?: unknown }[] {
    return this.sim.inbound
      .filter((r) => r.kind === "receipt" && r.integrationId === this.integrationId)
      .map((r) => r.body as { id: string; status: string; reasons?: unknown; channel: { to: { id: string } } })
      .filter((b) => b.channel.to.id === this.fromId && (messageId === undefined || b.id === messageId))
      .map(({ id, status, reasons }) => ({ id, status, ...(reasons !== undefined ? { reasons } : {}) }));
  }

  texts(): string[] {
    return this.messages.map((m) => (typeof m["text"] === "string" ? m["text"] : ""));
  }

  agent(): SimParticipant | undefined {
    return this.participants.find((p) => p.purpose === "agent" && p.state === "connected");
  }

  /** The agent answers: the acd leg ends, the agent leg connects. */
  agentJoin(name: string): void {
    const t = new Date().toISOString();
    for (const p of this.participants)
      if (p.purpose === "acd" && p.state === "connected") Object.assign(p, { state: "disconnected", endTime: t });
    this.participants.push({ id: randomUUID(), name, purpose: "agent", state: "connected", connectedTime: t });
  }

  agentLeave(): void {
    const a = this.agent();
    if (a) Object.assign(a, { state: "disconnected", endTime: new Date().toISOString() });
  }

  /** The whole conversation ends (every participant disconnected). */
  end(): void {
    const t = new Date().toISOString();
    for (const p of this.participants) if (p.state !== "disconnected") Object.assign(p, { state: "disconnected", endTime: t });
  }

  /** An agent message through the router's webhook; resolves when Genesys would stop trying. */
  agentSay(text: string, extra: Record<string, unknown> = {}): Promise<WebhookDelivery> {
    return this.sim.deliver(this, { type: "Text", text, ...extra });
  }

  /** An agent's attachment (with optional text) through the webhook; its URL serves the bytes. */
  agentSendFile(file: AgentFile, text = ""): Promise<WebhookDelivery> {
    const attachment = {
      id: randomUUID(),
      mediaType: mediaTypeOf(file.mime),
      url: this.sim.serveMedia(file),
      mime: file.mime,
      filename: file.filename,
    };
    return this.sim.deliver(this, { type: "Text", ...(text ? { text } : {}), content: [{ contentType: "Attachment", attachment }] });
  }

  agentTyping(): Promise<WebhookDelivery> {
    return this.sim.deliver(this, { type: "Event", events: [{ eventType: "Typing", typing: { type: "On", duration: 5000 } }] });
  }
}

function mediaTypeOf(mime: string): string {
  const family = mime.split("/")[0];
  return family === "image" ? "Image" : family === "video" ? "Video" : family === "audio" ? "Audio" : "File";
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export class GenesysCloudSimulator {
  readonly conversations: SimConversation[] = [];
  readonly inbound: InboundRecord[] = [];
  readonly tokensIssued: string[] = [];
  /** Answers 429 to the next n API calls (Retry-After: retryAfterSeconds). */
  force429 = { times: 0, retryAfterSeconds: 1 };
  private readonly tokens = new Map<string, { expiresAt: number; calls: number[] }>();
  private readonly webhooks = new Map<string, string>();
  private readonly media = new Map<string, AgentFile>();
  private app: FastifyInstance | null = null;
  url = "";

  constructor(readonly options: SimOptions) {}

  setWebhook(integrationId: string, url: string): void {
    this.webhooks.set(integrationId, url);
  }

  /** The URL an agent's attachment is served at (an unguessable id, no token). */
  serveMedia(file: AgentFile): string {
    if (file.url) return file.url;
    const id = randomUUID();
    if (!file.gone) this.media.set(id, file);
    return `${this.url}/media/${id}`;
  }

  /** Expire every token now (the next API call gets 401). */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.expiresAt = 0;
  }

  async waitForConversation(pred: (c: SimConversation) => boolean, timeoutMs = 5000): Promise<SimConversation> {
    return this.waitFor(() => this.conversations.find(pred), timeoutMs);
  }

  async waitFor<T>(get: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v) return v;
      if (Date.now() > until) throw new Error("simulator: condition not met in time");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  sign(body: string, secret = this.options.webhookSecret): string {
    return "sha256=" + createHmac("sha256", secret).update(body).digest("base64");
  }

  /** One normalized outbound message to the router, with Genesys's retries. */
  async deliver(c: SimConversation, fields: Obj): Promise<WebhookDelivery> {
    const url = this.webhooks.get(c.integrationId);
    if (!url) throw new Error(`simulator: no webhook for ${c.integrationId}`);
    const agent = c.agent();
    const body = JSON.stringify({
      id: randomUUID().replace(/-/g, ""),
      channel: {
        id: c.integrationId,
        platform: "Open",
        type: "Private",
        to: { id: c.fromId },
        from: { nickname: agent?.name ?? "Genesys", id: c.integrationId, idType: "Opaque", firstName: agent?.name },
        time: new Date().toISOString(),
      },
      direction: "Outbound",
      ...fields,
    });
    return this.post(url, body);
  }

  /** POSTs a body as Genesys would (signed), retrying on timeout, 429 and 5xx. */
  async post(
    url: string,
    body: string,
    headers: Record<string, string> = { "x-hub-signature-256": this.sign(body) },
  ): Promise<WebhookDelivery> {
    const statuses: WebhookDelivery["statuses"] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 5000));
      let status: number | "timeout";
      try {
        const res = await fetch(url, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", ...headers },
          signal: AbortSignal.timeout(this.options.webhookTimeoutMs ?? 10_000),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch {
        status = "timeout";
      }
      statuses.push(status);
      if (status !== "timeout" && status !== 429 && status < 500) break;
    }
    return { body, statuses };
  }

  async start(): Promise<string> {
    const app = fastify();
    app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, b, done) => done(null, b));
    app.post("/oauth/token", (req, reply) => this.token(req, reply));
    const api = "/api/v2/conversations/messages";
    app.post(`${api}/:integrationId/inbound/open/:kind`, (req, reply) => this.authorized(req, reply, () => this.onInbound(req, reply)));
    app.get(`${api}/:conversationId`, (req, reply) =>
      this.authorized(req, reply, () => {
        const c = this.conversations.find((x) => x.id === (req.params as Obj)["conversationId"]);
        return c ? reply.send({ id: c.id, participants: c.participants }) : reply.code(404).send({ code: "not.found" });
      }),
    );
    app.patch(`${api}/:conversationId/participants/:participantId`, (req, reply) =>
      this.authorized(req, reply, () => {
        const p = req.params as Obj;
        const c = this.conversations.find((x) => x.id === p["conversationId"]);
        const part = c?.participants.find((x) => x.id === p["participantId"]);
        if (!c || !part) return reply.code(404).send({ code: "not.found" });
        if (!isObj(req.body) || req.body["state"] !== "disconnected") return reply.code(400).send({ code: "bad.request" });
        c.end(); // the customer leaving ends a messaging conversation
        return reply.code(202).send({});
      }),
    );
    app.get("/media/:id", (req, reply) => {
      const file = this.media.get((req.params as Obj)["id"] as string);
      return file ? reply.header("content-type", file.mime).send(file.content) : reply.code(404).send({ code: "not.found" });
    });
    await app.listen({ host: "127.0.0.1", port: 0 });
    this.app = app;
    const a = app.server.address();
    this.url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
    return this.url;
  }

  async stop(): Promise<void> {
    await this.app?.close();
  }

  /** Genesys fetches an inbound attachment as it takes the message, without a token. */
  private async fetchAttachment(c: SimConversation, a: Obj): Promise<void> {
    const url = String(a["url"]);
    const got: ReceivedAttachment = {
      mediaType: String(a["mediaType"]),
      url,
      mime: String(a["mime"]),
      filename: typeof a["filename"] === "string" ? a["filename"] : undefined,
      status: "failed",
      sha256: undefined,
      size: 0,
    };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      got.status = res.status;
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.ok) Object.assign(got, { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length });
    } catch {
      // recorded as failed
    }
    c.received.push(got);
  }

  private token(req: FastifyRequest, reply: FastifyReply) {
    const basic = `Basic ${Buffer.from(`${this.options.clientId}:${this.options.clientSecret}`).toString("base64")}`;
    if (req.headers.authorization !== basic) return reply.code(401).send({ error: "invalid_client" });
    if (new URLSearchParams(String(req.body)).get("grant_type") !== "client_credentials")
      return reply.code(400).send({ error: "unsupported_grant_type" });
    const token = randomUUID();
    const expiresIn = this.options.tokenExpiresInSeconds ?? 86_400;
    this.tokens.set(token, { expiresAt: Date.now() + expiresIn * 1000, calls: [] });
    this.tokensIssued.push(token);
    return reply.send({ access_token: token, token_type: "bearer", expires_in: expiresIn });
  }

  private authorized(req: FastifyRequest, reply: FastifyReply, then: () => unknown) {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const t = token ? this.tokens.get(token) : undefined;
    if (!t || Date.now() >= t.expiresAt) return reply.code(401).send({ code: "authentication.required" });
    const now = Date.now();
    t.calls = t.calls.filter((c) => now - c < 60_000);
    if (this.force429.times > 0 || t.calls.length >= (this.options.requestsPerMinute ?? 300)) {
      if (this.force429.times > 0) this.force429.times--;
      return reply.code(429).header("retry-after", String(this.force429.retryAfterSeconds)).send({ code: "too.many.requests" });
    }
    t.calls.push(now);
    return then();
  }

  private onInbound(req: FastifyRequest, reply: FastifyReply) {
    const { integrationId, kind } = req.params as { integrationId: string; kind: string };
    const body = req.body;
    const bad = (why: string) => reply.code(400).send({ code: "bad.request", message: why });
    if (kind !== "message" && kind !== "event" && kind !== "receipt") return reply.code(404).send({});
    if (!isObj(body) || !isObj(body["channel"])) return bad("channel required");
    const channel = body["channel"];
    if (typeof channel["time"] !== "string" || !ISO.test(channel["time"])) return bad("channel.time must be ISO-8601");
    if (kind === "receipt") {
      // "Inbound open receipt messages": id = the outbound message's, channel.to, status Delivered | Failed,
      // direction Outbound; a failure may name reasons [{code, message}].
      const problem = receiptProblem(body);
      if (problem) return bad(problem);
      this.inbound.push({ kind, integrationId, body, query: req.query as Record<string, string> });
      return reply.code(202).send({});
    }
    this.inbound.push({ kind, integrationId, body, query: req.query as Record<string, string> });
    const from = channel["from"];
    if (!isObj(from) || typeof from["id"] !== "string" || from["idType"] !== "Opaque") return bad("channel.from.id with idType Opaque");
    let c = this.conversations.find((x) => x.fromId === from["id"] && x.integrationId === integrationId && !x.ended);
    if (kind === "event") {
      const events = body["events"];
      if (
        !Array.isArray(events) ||
        !events.every((e) => isObj(e) && e["eventType"] === "Typing" && isObj(e["typing"]) && e["typing"]["type"] === "On")
      )
        return bad("events: Typing On only");
      return reply.code(202).send({});
    }
    const content = inboundAttachments(body["content"]);
    if (content === null) return bad("content: Attachment with mediaType, url and mime");
    if ((typeof body["text"] !== "string" && content.length === 0) || typeof channel["messageId"] !== "string")
      return bad("text or content, and channel.messageId");
    if (!c) {
      const attrs =
        isObj(channel["metadata"]) && isObj(channel["metadata"]["customAttributes"]) ? channel["metadata"]["customAttributes"] : {};
      c = new SimConversation(
        this,
        integrationId,
        from["id"],
        typeof from["nickname"] === "string" ? from["nickname"] : "",
        attrs as Record<string, string>,
      );
      this.conversations.push(c);
    }
    c.messages.push(body);
    for (const a of content) void this.fetchAttachment(c, a);
    const prefetch = (req.query as Obj)["prefetchConversationId"] === "true";
    return reply.send({
      id: randomUUID(),
      channel,
      type: "Text",
      text: body["text"],
      direction: "Inbound",
      ...(prefetch ? { conversationId: c.id } : {}),
    });
  }
}

/** Why an inbound receipt is refused, or null. */
function receiptProblem(body: Obj): string | null {
  const channel = body["channel"] as Obj;
  if (typeof body["id"] !== "string" || !["Delivered", "Failed"].includes(String(body["status"]))) return "receipt id and status";
  if (!isObj(channel["to"]) || typeof channel["to"]["id"] !== "string") return "receipt channel.to.id";
  if (body["direction"] !== "Outbound") return "receipt direction Outbound (a receipt for an outbound message)";
  const reasons = body["reasons"];
  if (reasons !== undefined && (!Array.isArray(reasons) || !reasons.every((r) => isObj(r) && typeof r["code"] === "string")))
    return "receipt reasons: [{code, message}]";
  return null;
}

/** The inbound content's attachments; null when one is malformed. */
function inboundAttachments(content: unknown): Obj[] | null {
  if (content === undefined) return [];
  if (!Array.isArray(content)) return null;
  const out: Obj[] = [];
  for (const item of content) {
    const a = isObj(item) && item["contentType"] === "Attachment" && isObj(item["attachment"]) ? item["attachment"] : null;
    if (!a || !MEDIA_TYPES.includes(String(a["mediaType"])) || typeof a["url"] !== "string" || typeof a["mime"] !== "string") return null;
    out.push(a);
  }
  return out;
}
