// A Genesys GMS Chat API v2 simulator (HTTP), for the router's tests and demo.
// It follows spec/backends.md section 2 and Genesys' public documentation, not
// the router. The behaviour (transcript, queue-position notices, statusCode
// semantics, nextPosition, client timeout) is described at the top of
// simulator.ts.
//
//   const sim = await startGmsSimulator({ script: { joinAfterMs: 50, nickname: "Giulia", replies: "echo" } });
//   sim.url                                   // base URL, before /genesys: the router's genesys.url
//   const chat = await sim.waitForChat((c) => c.userData["conversationId"] === id);
//   chat.agentJoin("Marco"); chat.agentSay("Ciao"); chat.agentTyping(true); chat.agentLeave();
//   chat.idleClose(); chat.end(); chat.transcript(); chat.userData; chat.clientMessages(); chat.typingFromClient
//   await sim.waitFor(chat.chatId, (c) => c.clientMessages().length > 0);
//   sim.inject({ op: "refresh", times: 2, kind: "http500" });
//   await sim.stop();
//
// ## GMS routes (every call a POST, form-encoded body, JSON answer in an HTTP 200)
//   POST /genesys/2/chat/{serviceName}                       request chat: nickname | firstName+lastName, subject?, userData[key]
//   POST /genesys/2/chat/{serviceName}/{chatId}/send         userId, secureKey, alias, message, transcriptPosition?
//   POST /genesys/2/chat/{serviceName}/{chatId}/refresh      userId, secureKey, alias, transcriptPosition?
//   POST /genesys/2/chat/{serviceName}/{chatId}/startTyping  userId, secureKey, alias, message?
//   POST /genesys/2/chat/{serviceName}/{chatId}/stopTyping   userId, secureKey, alias
//   POST /genesys/2/chat/{serviceName}/{chatId}/disconnect   userId, secureKey, alias
//   POST /genesys/2/chat/{serviceName}/{chatId}/updateData   userId, secureKey, alias, userData[key]
//   POST /genesys/2/chat/{serviceName}/{chatId}/customNotice userId, secureKey, alias, message
//   POST /genesys/2/chat/{serviceName}/{chatId}/pushUrl      userId, secureKey, alias, pushUrl: a PushUrl event (a URL shared into the chat)
//   POST /genesys/2/chat/{serviceName}/{chatId}/file/limits            userId, secureKey, alias
//   POST /genesys/2/chat/{serviceName}/{chatId}/file                   multipart/form-data: the ids, file, userData[key]
//   POST /genesys/2/chat/{serviceName}/{chatId}/file/{fileId}/download userId, secureKey, alias → the bytes
//   POST /genesys/2/chat/{serviceName}/{chatId}/file/{fileId}/delete   userId, secureKey, alias
// Bodies are application/x-www-form-urlencoded, or multipart/form-data (any
// call; the upload needs it); `userData[key]=value` fields are gathered into
// an object. The file calls are described in files.ts.
//
// ## Control API (JSON in and out; for the demo and for tests in another process)
//   GET    /sim/chats                              [summary of every chat]
//   GET    /sim/chats/{chatId}                     summary + transcript, clientMessages, customNotices, userDataUpdates
//   POST   /sim/chats/{chatId}/agent/join          {nickname?}
//   POST   /sim/chats/{chatId}/agent/say           {text}
//   POST   /sim/chats/{chatId}/agent/typing        {on?: boolean (default true)}
//   POST   /sim/chats/{chatId}/agent/leave         {endChat?: boolean (default true)}
//   POST   /sim/chats/{chatId}/agent/idle          IdleClose, chat ended
//   POST   /sim/chats/{chatId}/agent/idle-alert    IdleAlert only
//   POST   /sim/chats/{chatId}/agent/file          {name, mediaType, contentBase64}: the agent sends a file (FileUploaded)
//   GET    /sim/chats/{chatId}/files               [{fileId, name, mediaType, size, sha256, from, deleted}]
//   GET    /sim/chats/{chatId}/files/{fileId}      the file's bytes (what the agent received)
//   POST   /sim/file-limits                        {maxFiles?, maxFileBytes?, maxTotalBytes?, fileTypes?, needAgent?}: limits from now on
//   POST   /sim/chats/{chatId}/end                 chat ended without ParticipantLeft
//   POST   /sim/chats/{chatId}/queue               {position}: a queue-position Notice now
//   POST   /sim/inject                             an Injection (see simulator.ts); kind may also be "delay" with delayMs
//   GET    /sim/inject                             injections not used up yet
//   DELETE /sim/inject                             drop them all
//   POST   /sim/script                             {serviceName?, ...AgentScript} (replies: "echo" or a list): script of chats requested from now on
//   POST   /sim/reset                              forget every chat, injection and recorded request
//   GET    /sim/requests                           every GMS call received
//   POST   /sim/push                               {url?}: GMS' [push] customhttp.url from now on (unset: no pushes; push.ts)
//   GET    /sim/pushes                             every push made: [{at, chatId, deviceId, url, index, status?, error?}]
// Chat routes answer {ok: true, chat: detail}; 404 for an unknown chat, 409
// when the chat has ended (or has no agent for say/typing/leave), 400 for bad input.
import { fastify } from "fastify";
import type { FastifyInstance, FastifyReply } from "fastify";
import { PushNotifier, type PushRecord } from "./push.js";
import { CHAT_OPS, ChatEndedError, FILE_OPS, GmsEngine, fileSummary } from "./simulator.js";
import type {
  AgentScript,
  FileCall,
  FileLimits,
  FormBody,
  GmsOp,
  GmsRequestRecord,
  Injection,
  ScriptSource,
  SimChat,
} from "./simulator.js";

export * from "./simulator.js";
export * from "./push.js";

export interface GmsSimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** The agent script of every chat, or a function choosing one per chat from its request. */
  script?: ScriptSource;
  /** Scripts by service name (win over `script`). */
  scripts?: Record<string, AgentScript>;
  /** A client making no call for this long is dropped (chat ended); default 30 000, 0 never. */
  clientTimeoutMs?: number;
  /** Accepted service names; unset: any. */
  services?: string[];
  /** Queue-position notices (default true). */
  queueNotices?: boolean;
  /** Chat Server's file limits (files.ts DEFAULT_FILE_LIMITS for unset fields). */
  fileLimits?: Partial<FileLimits>;
  /** One line per call and per transcript event (the CLI prints them). */
  log?: (line: string) => void;
  /** GMS' [push] customhttp.url: chats that ask for customhttp pushes are pushed to it (push.ts); unset: none. */
  pushUrl?: string;
}

export interface GmsSimulator {
  /** `http://host:port`: the base URL, before /genesys. */
  readonly url: string;
  readonly port: number;
  /** The chat with this id (throws if unknown). */
  chat(chatId: string): SimChat;
  /** Every chat, oldest first. */
  chats(): SimChat[];
  waitForChat(predicate: (chat: SimChat) => boolean, timeoutMs?: number): Promise<SimChat>;
  waitFor(chatId: string, predicate: (chat: SimChat) => boolean, timeoutMs?: number): Promise<SimChat>;
  inject(injection: Injection): void;
  clearInjections(): void;
  pendingInjections(): Injection[];
  /** Default script for chats requested from now on. */
  setScript(script: ScriptSource | undefined): void;
  setServiceScript(serviceName: string, script: AgentScript | undefined): void;
  /** Chat Server's file limits from now on. */
  setFileLimits(limits: Partial<FileLimits>): void;
  /** Every GMS call received, in order. */
  readonly requests: GmsRequestRecord[];
  /** GMS' [push] customhttp.url from now on; undefined: no pushes. */
  setPushUrl(url: string | undefined): void;
  /** Every push made, in order. */
  readonly pushes: PushRecord[];
  reset(): void;
  readonly engine: GmsEngine;
  stop(): Promise<void>;
}

/** `a=1&userData[k]=v` → `{a: "1", userData: {k: "v"}}`. */
export function parseForm(body: string): FormBody {
  const out: FormBody = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const m = /^([^[\]]+)\[([^\]]*)\]$/.exec(key);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      const existing = out[m[1]];
      const obj = typeof existing === "object" ? existing : {};
      obj[m[2]] = value;
      out[m[1]] = obj;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function asForm(body: unknown): FormBody {
  return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as FormBody) : {};
}

type Json = Record<string, unknown>;
const asJson = (body: unknown): Json => (typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Json) : {});

function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined || v === null || v === "") return dflt;
  if (typeof v === "boolean") return v;
  return !(v === "false" || v === "0" || v === 0 || v === "off");
}

/** A value for an error message: strings as they are, anything else as JSON (never "[object Object]"). */
const show = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function optNumber(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new BadInput(`not a number: ${show(v)}`);
  return n;
}

class BadInput extends Error {}

/** An AgentScript from JSON (no functions over HTTP). */
export function scriptFromJson(j: Json): AgentScript {
  const s: AgentScript = {};
  const nums = ["joinAfterMs", "typingBeforeReplyMs", "leaveAfterMs", "idleCloseAfterMs", "idleAlertAfterMs"] as const;
  for (const k of nums) {
    const n = optNumber(j[k]);
    if (n !== undefined) s[k] = n;
  }
  if (typeof j["nickname"] === "string") s.nickname = j["nickname"];
  if (typeof j["greeting"] === "string") s.greeting = j["greeting"];
  const r = j["replies"];
  if (r === "echo") s.replies = "echo";
  else if (Array.isArray(r)) s.replies = r.map(String);
  else if (r !== undefined) throw new BadInput(`replies must be "echo" or a list of strings`);
  return s;
}

function injectionFromJson(j: Json): Injection {
  let kind: Injection["kind"];
  const k = j["kind"];
  if (k === "http500" || k === "statusCode" || k === "garbage") kind = k;
  else if (k === "delay" || (typeof k === "object" && k !== null)) {
    const delayMs = optNumber(k === "delay" ? j["delayMs"] : (k as Json)["delayMs"]);
    if (delayMs === undefined) throw new BadInput("a delay needs delayMs");
    kind = { delayMs };
  } else throw new BadInput(`kind must be http500, statusCode, garbage, delay or {delayMs}`);
  const inj: Injection = { kind };
  const op = j["op"];
  if (op !== undefined) {
    if (op !== "request" && !CHAT_OPS.includes(op as GmsOp) && !FILE_OPS.includes(op as never))
      throw new BadInput(`unknown op ${show(op)}`);
    inj.op = op as GmsOp;
  }
  if (typeof j["chatId"] === "string") inj.chatId = j["chatId"];
  const times = optNumber(j["times"]);
  if (times !== undefined) inj.times = times;
  const sc = optNumber(j["statusCode"]);
  if (sc !== undefined) {
    if (sc !== 1 && sc !== 2) throw new BadInput("statusCode must be 1 or 2");
    inj.statusCode = sc;
  }
  const code = optNumber(j["code"]);
  if (code !== undefined) inj.code = code;
  if (typeof j["advice"] === "string") inj.advice = j["advice"];
  if (j["endsChat"] !== undefined) inj.endsChat = bool(j["endsChat"], false);
  return inj;
}

/** A multipart body: its fields as a form (userData[key] gathered) and its `file`, if any. Parsed by Node's own fetch (undici). */
async function parseMultipart(body: Buffer, contentType: string): Promise<MultipartBody> {
  const data = await new Response(body, { headers: { "content-type": contentType } }).formData();
  const fields = new URLSearchParams();
  let upload: FileCall["upload"];
  for (const [key, value] of data) {
    if (typeof value === "string") fields.append(key, value);
    else if (key === "file")
      upload = { name: value.name, mediaType: value.type || "application/octet-stream", content: Buffer.from(await value.arrayBuffer()) };
  }
  return { form: parseForm(fields.toString()), ...(upload ? { upload } : {}) };
}

interface MultipartBody {
  form: FormBody;
  upload?: FileCall["upload"];
}

const isMultipart = (body: unknown): body is MultipartBody => typeof body === "object" && body !== null && "form" in body;

function buildApp(engine: GmsEngine, pushes: PushNotifier): FastifyInstance {
  const app = fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 * 1024 });
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => {
    done(null, parseForm(typeof body === "string" ? body : body.toString("utf8")));
  });
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, async (req: { headers: Record<string, unknown> }, body: Buffer) =>
    parseMultipart(body, String(req.headers["content-type"])),
  );

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof BadInput) return reply.code(400).send({ error: err.message });
    if (err instanceof ChatEndedError) return reply.code(409).send({ error: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === "number" && status >= 400 && status < 500) {
      return reply.code(status).send({ error: (err as Error).message });
    }
    // Controls that cannot apply (no agent to leave, ...) are conflicts, not crashes.
    if (err instanceof Error && req.url.startsWith("/sim/")) return reply.code(409).send({ error: err.message });
    return reply.code(500).send({ error: String(err) });
  });

  const send = (reply: FastifyReply, outcome: Awaited<ReturnType<GmsEngine["handle"]>>) => {
    switch (outcome.kind) {
      case "http500":
        return reply.code(500).type("text/plain").send("Internal Server Error (injected)");
      case "garbage":
        return reply.code(200).type("text/html").send("<html><body><h1>Proxy error</h1> not JSON</body></html>");
      case "json":
        return reply.code(200).send(outcome.body);
      case "file":
        return reply
          .code(200)
          .type(outcome.file.mediaType)
          .header("content-disposition", `attachment; filename="${outcome.file.name.replace(/["\\\r\n]/g, "_")}"`)
          .send(outcome.file.content);
    }
  };
  const formOf = (body: unknown): FormBody => (isMultipart(body) ? body.form : asForm(body));

  // ---- GMS Chat API v2 ---------------------------------------------------
  app.post<{ Params: { serviceName: string } }>("/genesys/2/chat/:serviceName", async (req, reply) => {
    engine.log(`POST request chat on ${req.params.serviceName}`);
    return send(reply, await engine.handle("request", req.params.serviceName, undefined, asForm(req.body)));
  });
  app.post<{ Params: { serviceName: string; chatId: string; op: string } }>(
    "/genesys/2/chat/:serviceName/:chatId/:op",
    async (req, reply) => {
      const { serviceName, chatId, op } = req.params;
      if (op === "file") {
        engine.log(`POST file upload ${chatId}`);
        const upload = isMultipart(req.body) ? req.body.upload : undefined;
        return send(reply, await engine.handle("fileUpload", serviceName, chatId, formOf(req.body), upload ? { upload } : {}));
      }
      if (!CHAT_OPS.includes(op as GmsOp)) return reply.code(404).send({ error: `unknown operation ${op}` });
      engine.log(`POST ${op} ${chatId}`);
      return send(reply, await engine.handle(op as GmsOp, serviceName, chatId, formOf(req.body)));
    },
  );
  app.post<{ Params: { serviceName: string; chatId: string } }>("/genesys/2/chat/:serviceName/:chatId/file/limits", async (req, reply) => {
    engine.log(`POST file limits ${req.params.chatId}`);
    return send(reply, await engine.handle("fileLimits", req.params.serviceName, req.params.chatId, formOf(req.body)));
  });
  app.post<{ Params: { serviceName: string; chatId: string; fileId: string; action: string } }>(
    "/genesys/2/chat/:serviceName/:chatId/file/:fileId/:action",
    async (req, reply) => {
      const { serviceName, chatId, fileId, action } = req.params;
      if (action !== "download" && action !== "delete") return reply.code(404).send({ error: `unknown file operation ${action}` });
      engine.log(`POST file ${action} ${chatId} ${fileId}`);
      return send(
        reply,
        await engine.handle(action === "download" ? "fileDownload" : "fileDelete", serviceName, chatId, formOf(req.body), { fileId }),
      );
    },
  );

  // ---- control API -------------------------------------------------------
  app.get("/sim/chats", async () => engine.chats().map((c) => engine.summary(c)));

  const withChat = (chatId: string, reply: FastifyReply, fn: (chat: SimChat) => void) => {
    const chat = engine.findChat(chatId);
    if (!chat) return reply.code(404).send({ error: `no chat ${chatId}` });
    fn(chat);
    return reply.send({ ok: true, chat: engine.detail(chat) });
  };

  app.get<{ Params: { chatId: string } }>("/sim/chats/:chatId", async (req, reply) => {
    const chat = engine.findChat(req.params.chatId);
    if (!chat) return reply.code(404).send({ error: `no chat ${req.params.chatId}` });
    return engine.detail(chat);
  });

  app.post<{ Params: { chatId: string; action: string } }>("/sim/chats/:chatId/agent/:action", async (req, reply) => {
    const body = asJson(req.body);
    const { chatId, action } = req.params;
    engine.log(`control: agent ${action} on ${chatId}`);
    switch (action) {
      case "join":
        return withChat(chatId, reply, (c) => {
          c.agentJoin(typeof body["nickname"] === "string" ? body["nickname"] : undefined);
        });
      case "say": {
        const text = body["text"];
        if (typeof text !== "string" || text === "") throw new BadInput("say needs {text}");
        return withChat(chatId, reply, (c) => c.agentSay(text));
      }
      case "typing":
        return withChat(chatId, reply, (c) => c.agentTyping(bool(body["on"], true)));
      case "leave":
        return withChat(chatId, reply, (c) => c.agentLeave({ endChat: bool(body["endChat"], true) }));
      case "idle":
        return withChat(chatId, reply, (c) => c.idleClose());
      case "idle-alert":
        return withChat(chatId, reply, (c) => c.idleAlert());
      case "file": {
        const { name, mediaType, contentBase64 } = body;
        if (typeof name !== "string" || typeof contentBase64 !== "string")
          throw new BadInput("file needs {name, contentBase64, mediaType?}");
        const type = typeof mediaType === "string" ? mediaType : "application/octet-stream";
        return withChat(chatId, reply, (c) => c.agentSendFile({ name, mediaType: type, content: Buffer.from(contentBase64, "base64") }));
      }
      default:
        return reply.code(404).send({ error: `unknown agent action ${action}` });
    }
  });

  app.get<{ Params: { chatId: string } }>("/sim/chats/:chatId/files", async (req, reply) => {
    const chat = engine.findChat(req.params.chatId);
    if (!chat) return reply.code(404).send({ error: `no chat ${req.params.chatId}` });
    return chat.files().map(fileSummary);
  });
  app.get<{ Params: { chatId: string; fileId: string } }>("/sim/chats/:chatId/files/:fileId", async (req, reply) => {
    const f = engine.findChat(req.params.chatId)?.findFile(req.params.fileId);
    if (!f) return reply.code(404).send({ error: `no file ${req.params.fileId}` });
    return reply.type(f.mediaType).send(f.content);
  });
  app.post("/sim/file-limits", async (req) => {
    const j = asJson(req.body);
    const limits: Partial<FileLimits> = {};
    for (const k of ["maxFiles", "maxFileBytes", "maxTotalBytes"] as const) {
      const n = optNumber(j[k]);
      if (n !== undefined) limits[k] = n;
    }
    if (Array.isArray(j["fileTypes"])) limits.fileTypes = j["fileTypes"].map((t) => String(t).toLowerCase());
    if (j["needAgent"] !== undefined) limits.needAgent = bool(j["needAgent"], false);
    engine.setFileLimits(limits);
    return { ok: true, limits: engine.fileLimits };
  });

  app.post<{ Params: { chatId: string } }>("/sim/chats/:chatId/end", async (req, reply) =>
    withChat(req.params.chatId, reply, (c) => c.end()),
  );

  app.post<{ Params: { chatId: string } }>("/sim/chats/:chatId/queue", async (req, reply) => {
    const position = optNumber(asJson(req.body)["position"]);
    if (position === undefined || position < 1) throw new BadInput("queue needs {position >= 1}");
    return withChat(req.params.chatId, reply, (c) => c.queuePosition(position));
  });

  app.post("/sim/inject", async (req) => {
    engine.inject(injectionFromJson(asJson(req.body)));
    return { ok: true, pending: engine.pendingInjections() };
  });
  app.get("/sim/inject", async () => engine.pendingInjections());
  app.delete("/sim/inject", async () => {
    engine.clearInjections();
    return { ok: true };
  });

  app.post("/sim/script", async (req) => {
    const body = asJson(req.body);
    const script = scriptFromJson(body);
    const serviceName = body["serviceName"];
    if (typeof serviceName === "string") engine.setServiceScript(serviceName, script);
    else engine.setScript(script);
    return { ok: true, script };
  });

  app.post("/sim/reset", async () => {
    engine.reset();
    return { ok: true };
  });

  app.get("/sim/requests", async () => engine.requests);

  app.post("/sim/push", async (req) => {
    const url = asJson(req.body)["url"];
    if (url !== undefined && (typeof url !== "string" || !/^https?:\/\//.test(url))) throw new BadInput("url must be an http(s) URL");
    pushes.setUrl(url);
    return { ok: true, url: url ?? null };
  });
  app.get("/sim/pushes", async () => pushes.sent);

  return app;
}

export async function startGmsSimulator(opts: GmsSimulatorOptions = {}): Promise<GmsSimulator> {
  const engineOpts: ConstructorParameters<typeof GmsEngine>[0] = {};
  if (opts.script !== undefined) engineOpts.script = opts.script;
  if (opts.scripts !== undefined) engineOpts.scripts = opts.scripts;
  if (opts.clientTimeoutMs !== undefined) engineOpts.clientTimeoutMs = opts.clientTimeoutMs;
  if (opts.services !== undefined) engineOpts.services = opts.services;
  if (opts.queueNotices !== undefined) engineOpts.queueNotices = opts.queueNotices;
  if (opts.fileLimits !== undefined) engineOpts.fileLimits = opts.fileLimits;
  if (opts.log !== undefined) engineOpts.log = opts.log;
  const engine = new GmsEngine(engineOpts);
  const pushes = new PushNotifier(engine, opts.pushUrl);

  const host = opts.host ?? "127.0.0.1";
  const app = buildApp(engine, pushes);
  await app.listen({ port: opts.port ?? 0, host });
  const addr = app.server.address();
  const port = addr !== null && typeof addr === "object" ? addr.port : (opts.port ?? 0);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    engine,
    requests: engine.requests,
    chat: (chatId) => engine.chat(chatId),
    chats: () => engine.chats(),
    waitForChat: (predicate, timeoutMs) => engine.waitForChat(predicate, timeoutMs),
    waitFor: (chatId, predicate, timeoutMs) => engine.waitFor(chatId, predicate, timeoutMs),
    inject: (injection) => engine.inject(injection),
    clearInjections: () => engine.clearInjections(),
    pendingInjections: () => engine.pendingInjections(),
    setScript: (script) => engine.setScript(script),
    setServiceScript: (serviceName, script) => engine.setServiceScript(serviceName, script),
    setFileLimits: (limits) => engine.setFileLimits(limits),
    reset: () => engine.reset(),
    setPushUrl: (u) => pushes.setUrl(u),
    pushes: pushes.sent,
    async stop() {
      engine.dispose();
      await pushes.close();
      await app.close();
    },
  };
}
