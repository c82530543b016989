// The GMS Chat API v2 simulator over real HTTP (spec/backends.md section 2):
// a full chat, transcript paging, errors, injected failures, idle close,
// client timeout, updateData/customNotice, and the control API.
import axios from "axios";
import type { AxiosResponse } from "axios";
import { afterEach, describe, expect, it } from "vitest";
import { parseForm, startGmsSimulator } from "../../../tools/gms-simulator/server.js";
import type { GmsAnswer, GmsSimulator, GmsSimulatorOptions, TranscriptEvent } from "../../../tools/gms-simulator/server.js";

const SERVICE = "customer-support";
const QUEUE_RE = /position in queue:\s*(\d+)/i;

let sims: GmsSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  sims = [];
});

async function start(opts: GmsSimulatorOptions = {}): Promise<GmsSimulator> {
  const sim = await startGmsSimulator(opts);
  sims.push(sim);
  return sim;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type Fields = Record<string, string | number>;

function form(fields: Fields): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) p.append(k, String(v));
  return p;
}

async function postRaw(url: string, fields: Fields): Promise<AxiosResponse<string>> {
  return axios.post(url, form(fields), {
    timeout: 5_000,
    validateStatus: () => true,
    responseType: "text",
    transformResponse: (x: string) => x,
  });
}

async function postJson(url: string, fields: Fields): Promise<GmsAnswer> {
  const res = await postRaw(url, fields);
  expect(res.status).toBe(200);
  expect(res.headers["content-type"]).toMatch(/application\/json/);
  return JSON.parse(res.data) as GmsAnswer;
}

/** A minimal GMS client, written from the spec's table. */
class Client {
  chatId = "";
  userId = "";
  secureKey = "";
  alias = "";
  position = 1;
  seen: TranscriptEvent[] = [];

  constructor(
    readonly sim: GmsSimulator,
    readonly service = SERVICE,
  ) {}

  get base(): string {
    return `${this.sim.url}/genesys/2/chat/${this.service}`;
  }

  async request(extra: Fields = {}): Promise<GmsAnswer> {
    const a = await postJson(this.base, {
      nickname: "Mario",
      firstName: "Mario",
      lastName: "Rossi",
      subject: "Supporto",
      "userData[channel]": "supporto",
      "userData[conversationId]": "conv-1",
      ...extra,
    });
    expect(a.statusCode).toBe(0);
    this.chatId = a.chatId ?? "";
    this.userId = a.userId ?? "";
    this.secureKey = a.secureKey ?? "";
    this.alias = a.alias ?? "";
    this.position = a.nextPosition ?? 1;
    return a;
  }

  ids(): Fields {
    return { userId: this.userId, secureKey: this.secureKey, alias: this.alias };
  }

  call(op: string, extra: Fields = {}): Promise<GmsAnswer> {
    return postJson(`${this.base}/${this.chatId}/${op}`, { ...this.ids(), ...extra });
  }

  /** Refresh from the current position; remembers nextPosition and what it saw. */
  async refresh(): Promise<GmsAnswer> {
    const a = await this.call("refresh", { transcriptPosition: this.position });
    expect(a.statusCode).toBe(0);
    this.seen.push(...a.messages);
    this.position = a.nextPosition ?? this.position;
    return a;
  }

  /** Refreshes until an event matches. */
  async refreshUntil(pred: (e: TranscriptEvent) => boolean, timeoutMs = 3_000): Promise<TranscriptEvent> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await this.refresh();
      const hit = this.seen.find(pred);
      if (hit) return hit;
      if (Date.now() > until) throw new Error(`no matching event; seen ${JSON.stringify(this.seen)}`);
      await sleep(10);
    }
  }
}

describe("GMS simulator: a full chat over HTTP", () => {
  it("request → queue notice → agent joins → says → client sends and types → agent leaves → chatEnded", async () => {
    const sim = await start();
    const c = new Client(sim);
    const requested = await c.request();
    expect(requested).toMatchObject({ statusCode: 0, chatEnded: false, nextPosition: 1, messages: [] });
    expect(requested.chatId).toMatch(/^[0-9A-Za-z]{16}$/);
    expect(requested.userId).toMatch(/^[0-9A-F]{16}$/);
    expect(requested.secureKey).toMatch(/^[0-9a-f]{16}$/);

    // The transcript starts with the client's own ParticipantJoined, then the queue position.
    const first = await c.refresh();
    expect(first.messages[0]).toMatchObject({
      index: 1,
      type: "ParticipantJoined",
      from: { type: "Client", nickname: "Mario", participantId: 1 },
    });
    expect(first.messages[1]).toMatchObject({ index: 2, type: "Notice", from: { type: "External" } });
    expect(QUEUE_RE.exec(first.messages[1]?.text ?? "")?.[1]).toBe("1");
    expect(typeof first.messages[0]?.utcTime).toBe("number");

    // The request's fields and userData reach the chat.
    const chat = sim.chat(c.chatId);
    expect(chat.userData).toEqual({ channel: "supporto", conversationId: "conv-1" });
    expect(chat.subject).toBe("Supporto");

    chat.agentJoin("Giulia");
    const joined = await c.refreshUntil((e) => e.type === "ParticipantJoined" && e.from.type === "Agent");
    expect(joined.from).toEqual({ nickname: "Giulia", participantId: 2, type: "Agent" });

    chat.agentSay("Buongiorno, come posso aiutarla?");
    const said = await c.refreshUntil((e) => e.type === "Message" && e.from.type === "Agent");
    expect(said.text).toBe("Buongiorno, come posso aiutarla?");

    const sent = await c.call("send", { message: "Ho un problema con la SIM" });
    expect(sent.statusCode).toBe(0);
    expect(chat.clientMessages().map((m) => m.text)).toEqual(["Ho un problema con la SIM"]);
    const own = await c.refreshUntil((e) => e.type === "Message" && e.from.type === "Client");
    expect(own.text).toBe("Ho un problema con la SIM");

    expect((await c.call("startTyping")).statusCode).toBe(0);
    expect(chat.typingFromClient).toBe(true);
    await c.refreshUntil((e) => e.type === "TypingStarted" && e.from.type === "Client");
    expect((await c.call("stopTyping")).statusCode).toBe(0);
    expect(chat.typingFromClient).toBe(false);
    await c.refreshUntil((e) => e.type === "TypingStopped" && e.from.type === "Client");

    chat.agentTyping(true);
    await c.refreshUntil((e) => e.type === "TypingStarted" && e.from.type === "Agent");
    chat.agentTyping(false);
    await c.refreshUntil((e) => e.type === "TypingStopped" && e.from.type === "Agent");

    chat.agentLeave();
    const last = await c.refresh();
    expect(last.chatEnded).toBe(true);
    expect(c.seen.at(-1)).toMatchObject({ type: "ParticipantLeft", from: { type: "Agent", nickname: "Giulia" } });
    expect(chat.endReason).toBe("agent-left");
    // Indices seen: 1..n, once each.
    expect(c.seen.map((e) => e.index)).toEqual(c.seen.map((_, i) => i + 1));
  });

  it("reports the queue position of waiting chats whenever it changes", async () => {
    const sim = await start();
    const a = new Client(sim);
    const b = new Client(sim);
    const other = new Client(sim, "premium");
    await a.request();
    await b.request();
    await other.request();
    const positions = async (c: Client) => {
      await c.refresh();
      return c.seen.filter((e) => e.type === "Notice").map((e) => Number(QUEUE_RE.exec(e.text ?? "")?.[1]));
    };
    expect(await positions(a)).toEqual([1]);
    expect(await positions(b)).toEqual([2]);
    expect(await positions(other)).toEqual([1]); // another service, another queue

    sim.chat(a.chatId).agentJoin("Giulia");
    expect(await positions(b)).toEqual([2, 1]);
    expect(await positions(a)).toEqual([1]); // no more notices once an agent joined

    // A manual position, e.g. for a demo.
    sim.chat(b.chatId).queuePosition(7);
    expect(await positions(b)).toEqual([2, 1, 7]);
  });

  it("runs a scripted agent: join, greeting, typing, replies", async () => {
    const sim = await start({
      script: { joinAfterMs: 20, nickname: "Bot-Agent", greeting: "Salve!", replies: ["Uno", "Due"], typingBeforeReplyMs: 20 },
    });
    const c = new Client(sim);
    await c.request();
    await c.refreshUntil((e) => e.type === "Message" && e.text === "Salve!");
    await c.call("send", { message: "a" });
    await c.refreshUntil((e) => e.type === "Message" && e.text === "Uno");
    await c.call("send", { message: "b" });
    await c.refreshUntil((e) => e.type === "Message" && e.text === "Due");
    await c.call("send", { message: "c" });
    await c.refreshUntil((e) => e.type === "Message" && e.text === "Uno" && e.index > 8);
    const agentEvents = c.seen.filter((e) => e.from.type === "Agent").map((e) => `${e.type}${e.text ? `:${e.text}` : ""}`);
    expect(agentEvents).toEqual([
      "ParticipantJoined",
      "Message:Salve!",
      "TypingStarted",
      "TypingStopped",
      "Message:Uno",
      "TypingStarted",
      "TypingStopped",
      "Message:Due",
      "TypingStarted",
      "TypingStopped",
      "Message:Uno",
    ]);
    expect(sim.chat(c.chatId).ended).toBe(false);
  });

  it("a scripted agent leaves after leaveAfterMs, which ends the chat", async () => {
    const sim = await start({ script: { joinAfterMs: 0, nickname: "Breve", leaveAfterMs: 50 } });
    const c = new Client(sim);
    await c.request();
    await sim.waitFor(c.chatId, (ch) => ch.ended, 2_000);
    expect((await c.refresh()).chatEnded).toBe(true);
    expect(c.seen.filter((e) => e.from.type === "Agent").map((e) => e.type)).toEqual(["ParticipantJoined", "ParticipantLeft"]);
    expect(sim.chat(c.chatId).endReason).toBe("agent-left");
  });

  it("chooses scripts per service and per chat; echo replies", async () => {
    const sim = await start({
      scripts: { premium: { joinAfterMs: 0, nickname: "Premium", replies: "echo" } },
      script: (info) => (info.userData["vip"] === "1" ? { joinAfterMs: 0, nickname: "VIP", replies: (t) => t.toUpperCase() } : undefined),
    });
    const plain = new Client(sim);
    await plain.request();
    const vip = new Client(sim);
    await vip.request({ "userData[vip]": "1" });
    const premium = new Client(sim, "premium");
    await premium.request();

    await vip.refreshUntil((e) => e.type === "ParticipantJoined" && e.from.nickname === "VIP");
    await vip.call("send", { message: "ciao" });
    await vip.refreshUntil((e) => e.from.type === "Agent" && e.text === "CIAO");
    await premium.refreshUntil((e) => e.type === "ParticipantJoined" && e.from.nickname === "Premium");
    await premium.call("send", { message: "ciao" });
    await premium.refreshUntil((e) => e.from.type === "Agent" && e.text === "Echo: ciao");
    await sleep(30);
    await plain.refresh();
    expect(plain.seen.some((e) => e.from.type === "Agent")).toBe(false);
  });
});

describe("GMS simulator: transcript positions", () => {
  it("pages without repeating or skipping an index, whatever the polling rhythm", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    const chat = sim.chat(c.chatId);
    chat.agentJoin("Giulia");
    const again = await c.refresh();
    const idle = await c.call("refresh", { transcriptPosition: c.position });
    expect(idle.messages).toEqual([]);
    expect(idle.nextPosition).toBe(again.nextPosition); // nothing new: same nextPosition

    for (let round = 0; round < 6; round++) {
      for (let k = 0; k <= round % 3; k++) chat.agentSay(`r${round}-${k}`);
      if (round % 2 === 0) await c.call("send", { message: `client ${round}` });
      await c.refresh();
      if (round === 3) await c.refresh(); // an empty poll in the middle
    }
    const indices = c.seen.map((e) => e.index);
    expect(indices).toEqual(Array.from({ length: indices.length }, (_, i) => i + 1));
    expect(indices.length).toBe(chat.transcript().length);

    // Any position returns the tail from there, and refresh without one the whole transcript.
    const tail = await c.call("refresh", { transcriptPosition: 5 });
    expect(tail.messages.map((e) => e.index)).toEqual(indices.slice(4));
    const all = await c.call("refresh");
    expect(all.messages).toHaveLength(indices.length);
    const beyond = await c.call("refresh", { transcriptPosition: 999 });
    expect(beyond.messages).toEqual([]);
    expect(beyond.nextPosition).toBe(indices.length + 1);
  });

  it("answers other calls with no messages and nextPosition = last index + 1 (as GMS), or the tail when given a position", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.chat(c.chatId).agentJoin("Giulia");
    const sent = await c.call("send", { message: "uno" });
    expect(sent.messages).toEqual([]);
    expect(sent.nextPosition).toBe(sim.chat(c.chatId).transcript().length + 1);
    const withPos = await c.call("send", { message: "due", transcriptPosition: 1 });
    expect(withPos.messages.map((e) => e.type)).toEqual(["ParticipantJoined", "Notice", "ParticipantJoined", "Message", "Message"]);
  });
});

describe("GMS simulator: errors", () => {
  it("a wrong secureKey, userId or alias gets statusCode 1 with an error; nothing happens", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    const wrongs: Fields[] = [{ secureKey: "0000" }, { userId: "FFFF" }, { alias: "9999" }];
    for (const wrong of wrongs) {
      const a = await postJson(`${c.base}/${c.chatId}/send`, { ...c.ids(), ...wrong, message: "x" });
      expect(a.statusCode).toBe(1);
      expect(a.chatEnded).toBe(false);
      expect(a.errors?.[0]?.code).toBe(101);
      expect(a.errors?.[0]?.advice).toMatch(/secureKey/);
    }
    const missing = await postJson(`${c.base}/${c.chatId}/refresh`, { transcriptPosition: 1 });
    expect(missing.statusCode).toBe(1);
    expect(sim.chat(c.chatId).clientMessages()).toEqual([]);
  });

  it("an unknown chat (or one of another service) gets statusCode 2, chatEnded true", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    const unknown = await postJson(`${c.base}/0004DoesNotExist/refresh`, { ...c.ids(), transcriptPosition: 1 });
    expect(unknown).toMatchObject({ statusCode: 2, chatEnded: true, messages: [] });
    expect(unknown.errors?.[0]?.code).toBe(102);
    const otherService = await postJson(`${sim.url}/genesys/2/chat/premium/${c.chatId}/refresh`, { ...c.ids(), transcriptPosition: 1 });
    expect(otherService.statusCode).toBe(2);
    const badOp = await postRaw(`${c.base}/${c.chatId}/explode`, c.ids());
    expect(badOp.status).toBe(404);
  });

  it("rejects a request without nickname or first and last name, and a malformed position", async () => {
    const sim = await start();
    const a = await postJson(`${sim.url}/genesys/2/chat/${SERVICE}`, { subject: "x" });
    expect(a.statusCode).toBe(2);
    expect(a.errors?.[0]?.code).toBe(100);
    expect(sim.chats()).toHaveLength(0);
    const byName = await postJson(`${sim.url}/genesys/2/chat/${SERVICE}`, { firstName: "Anna", lastName: "Bianchi" });
    expect(byName.statusCode).toBe(0);
    expect(sim.chat(byName.chatId ?? "").nickname).toBe("Anna Bianchi");
    const c = new Client(sim);
    await c.request();
    const bad = await c.call("refresh", { transcriptPosition: "abc" });
    expect(bad.statusCode).toBe(2);
  });

  it("restricts service names when asked", async () => {
    const sim = await start({ services: [SERVICE] });
    expect((await postJson(`${sim.url}/genesys/2/chat/nope`, { nickname: "x" })).statusCode).toBe(2);
    expect((await postJson(`${sim.url}/genesys/2/chat/${SERVICE}`, { nickname: "x" })).statusCode).toBe(0);
  });
});

describe("GMS simulator: end of a chat", () => {
  it("disconnect: the client leaves; chatEnded afterwards; sends are refused with statusCode 2", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.chat(c.chatId).agentJoin("Giulia");
    const d = await c.call("disconnect");
    expect(d).toMatchObject({ statusCode: 0, chatEnded: true });
    const r = await c.refresh();
    expect(r.chatEnded).toBe(true);
    expect(c.seen.at(-1)).toMatchObject({ type: "ParticipantLeft", from: { type: "Client" } });
    const s = await c.call("send", { message: "ancora?" });
    expect(s).toMatchObject({ statusCode: 2, chatEnded: true });
    expect(s.errors?.[0]?.code).toBe(103);
    expect((await c.call("disconnect")).statusCode).toBe(0); // idempotent
    expect(sim.chat(c.chatId).endReason).toBe("client-disconnect");
  });

  it("end(): chatEnded without any ParticipantLeft", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    const chat = sim.chat(c.chatId);
    chat.agentJoin("Giulia");
    await c.refresh();
    const before = c.position;
    chat.end();
    const r = await c.refresh();
    expect(r.chatEnded).toBe(true);
    expect(r.messages).toEqual([]);
    expect(r.nextPosition).toBe(before);
    expect(() => chat.agentSay("troppo tardi")).toThrow(/ended/);
  });

  it("idle close by script: IdleAlert, then IdleClose and chatEnded", async () => {
    const sim = await start({ script: { joinAfterMs: 0, nickname: "Giulia", idleCloseAfterMs: 150, idleAlertAfterMs: 60 } });
    const c = new Client(sim);
    await c.request();
    const chat = await sim.waitFor(c.chatId, (ch) => ch.ended, 2_000);
    expect(chat.endReason).toBe("idle-close");
    const r = await c.refresh();
    expect(r.chatEnded).toBe(true);
    const types = c.seen.map((e) => e.type);
    expect(types.slice(-2)).toEqual(["IdleAlert", "IdleClose"]);
    expect(c.seen.at(-1)?.from.type).toBe("External");
  });

  it("agent activity postpones the idle close; idleClose() closes at once", async () => {
    const sim = await start({ script: { idleCloseAfterMs: 300 } });
    const c = new Client(sim);
    await c.request();
    const chat = sim.chat(c.chatId);
    chat.agentJoin("Giulia");
    for (let i = 0; i < 6; i++) {
      await sleep(60); // 360 ms in all, each gap well under the 300 ms idle timeout
      chat.agentSay(`ancora ${i}`);
    }
    expect(chat.ended).toBe(false);
    await sim.waitFor(c.chatId, (ch) => ch.ended, 1_000);
    const manual = new Client(sim);
    await manual.request();
    sim.chat(manual.chatId).idleClose();
    expect((await manual.refresh()).chatEnded).toBe(true);
    expect(manual.seen.at(-1)?.type).toBe("IdleClose");
  });

  it("drops a client that stops polling (chat ended), not one that polls", async () => {
    const sim = await start({ clientTimeoutMs: 300 });
    const quiet = new Client(sim);
    await quiet.request();
    const busy = new Client(sim);
    await busy.request();
    const until = Date.now() + 700;
    while (Date.now() < until) {
      await busy.refresh();
      await sleep(40);
    }
    expect(sim.chat(quiet.chatId).ended).toBe(true);
    expect(sim.chat(quiet.chatId).endReason).toBe("client-timeout");
    expect(sim.chat(busy.chatId).ended).toBe(false);
    const r = await quiet.refresh();
    expect(r.chatEnded).toBe(true);
    expect(quiet.seen.at(-1)).toMatchObject({ type: "ParticipantLeft", from: { type: "Client" } });
  });
});

describe("GMS simulator: updateData and customNotice", () => {
  it("merges userData and records custom notices", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    const u = await c.call("updateData", { "userData[vote]": "5", "userData[channel]": "premium" });
    expect(u.statusCode).toBe(0);
    const chat = sim.chat(c.chatId);
    expect(chat.userData).toEqual({ channel: "premium", conversationId: "conv-1", vote: "5" });
    expect(chat.userDataUpdates).toEqual([{ vote: "5", channel: "premium" }]);
    const n = await c.call("customNotice", { message: "survey:5" });
    expect(n.statusCode).toBe(0);
    expect(chat.customNotices()).toEqual(["survey:5"]);
    await c.refreshUntil((e) => e.type === "CustomNotice" && e.text === "survey:5" && e.from.type === "Client");
  });

  it("parses userData[key] form fields into an object", () => {
    expect(parseForm("a=1&userData%5Bk%5D=v+w&userData[x]=%C3%A8&empty=")).toEqual({
      a: "1",
      userData: { k: "v w", x: "è" },
      empty: "",
    });
  });
});

describe("GMS simulator: injected failures", () => {
  it("http500 for n calls of one operation, then normal", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.inject({ op: "refresh", times: 2, kind: "http500" });
    const send = await c.call("send", { message: "non colpito" }); // another op is not affected
    expect(send.statusCode).toBe(0);
    for (let i = 0; i < 2; i++) {
      const r = await postRaw(`${c.base}/${c.chatId}/refresh`, { ...c.ids(), transcriptPosition: 1 });
      expect(r.status).toBe(500);
    }
    expect((await c.refresh()).statusCode).toBe(0);
    expect(sim.pendingInjections()).toEqual([]);
  });

  it("statusCode that does not end the chat: statusCode 1, nothing done, chat still open", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.inject({ op: "send", kind: "statusCode", code: 777, advice: "try later" });
    const a = await c.call("send", { message: "perso?" });
    expect(a).toMatchObject({ statusCode: 1, chatEnded: false, errors: [{ code: 777, advice: "try later" }] });
    expect(sim.chat(c.chatId).clientMessages()).toEqual([]);
    expect((await c.call("send", { message: "riprovo" })).statusCode).toBe(0);
    expect(
      sim
        .chat(c.chatId)
        .clientMessages()
        .map((m) => m.text),
    ).toEqual(["riprovo"]);
  });

  it("statusCode that ends the chat: statusCode 2, chatEnded true now and later", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.inject({ op: "refresh", kind: "statusCode", endsChat: true });
    const a = await c.call("refresh", { transcriptPosition: 1 });
    expect(a).toMatchObject({ statusCode: 2, chatEnded: true });
    expect(a.errors?.[0]?.code).toBe(249);
    expect(sim.chat(c.chatId).endReason).toBe("error");
    expect((await c.refresh()).chatEnded).toBe(true);
  });

  it("{delayMs} answers normally, later", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.inject({ op: "refresh", kind: { delayMs: 200 } });
    const t0 = Date.now();
    const r = await c.refresh();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(r.messages[0]?.type).toBe("ParticipantJoined");
  });

  it("garbage: HTTP 200 with a body that is not JSON", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    sim.inject({ kind: "garbage" });
    const r = await postRaw(`${c.base}/${c.chatId}/refresh`, { ...c.ids(), transcriptPosition: 1 });
    expect(r.status).toBe(200);
    expect(() => JSON.parse(r.data) as unknown).toThrow();
  });

  it("fails request chat too, and consumes injections in order", async () => {
    const sim = await start();
    sim.inject({ op: "request", kind: "http500" });
    sim.inject({ op: "request", kind: "statusCode", statusCode: 2, code: 500, advice: "no agents configured" });
    const base = `${sim.url}/genesys/2/chat/${SERVICE}`;
    expect((await postRaw(base, { nickname: "a" })).status).toBe(500);
    const second = await postJson(base, { nickname: "a" });
    expect(second).toMatchObject({ statusCode: 2, errors: [{ code: 500, advice: "no agents configured" }] });
    expect(sim.chats()).toHaveLength(0);
    expect((await postJson(base, { nickname: "a" })).statusCode).toBe(0);
  });

  it("targets one chat when asked", async () => {
    const sim = await start();
    const a = new Client(sim);
    const b = new Client(sim);
    await a.request();
    await b.request();
    sim.inject({ chatId: b.chatId, kind: "http500" });
    expect((await a.refresh()).statusCode).toBe(0);
    expect((await postRaw(`${b.base}/${b.chatId}/refresh`, { ...b.ids(), transcriptPosition: 1 })).status).toBe(500);
  });
});

describe("GMS simulator: waiting helpers and the control HTTP API", () => {
  it("waitForChat resolves on a later chat and rejects after its timeout", async () => {
    const sim = await start();
    const waiting = sim.waitForChat((ch) => ch.userData["conversationId"] === "conv-9", 2_000);
    const c = new Client(sim);
    await c.request({ "userData[conversationId]": "conv-9" });
    expect((await waiting).chatId).toBe(c.chatId);
    await expect(sim.waitForChat(() => false, 50)).rejects.toThrow(/nothing matched within 50 ms/);
  });

  it("drives agents, queue and injections over HTTP", async () => {
    const sim = await start();
    const c = new Client(sim);
    await c.request();
    const ctl = (path: string, body?: unknown) => axios.post(`${sim.url}/sim${path}`, body, { validateStatus: () => true, timeout: 5_000 });

    const list = await axios.get<{ chatId: string; waiting: boolean; queuePosition: number }[]>(`${sim.url}/sim/chats`);
    expect(list.data).toEqual([expect.objectContaining({ chatId: c.chatId, waiting: true, queuePosition: 1 })]);

    expect((await ctl(`/chats/${c.chatId}/queue`, { position: 3 })).status).toBe(200);
    expect((await ctl(`/chats/${c.chatId}/agent/join`, { nickname: "Luca" })).status).toBe(200);
    expect((await ctl(`/chats/${c.chatId}/agent/typing`, { on: true })).status).toBe(200);
    const say = await ctl(`/chats/${c.chatId}/agent/say`, { text: "Eccomi" });
    expect(say.status).toBe(200);
    expect((say.data as { chat: { agents: string[] } }).chat.agents).toEqual(["Luca"]);
    expect((await ctl(`/chats/${c.chatId}/agent/say`, {})).status).toBe(400);
    expect((await ctl(`/chats/nope/agent/say`, { text: "x" })).status).toBe(404);
    expect((await ctl(`/chats/${c.chatId}/agent/idle-alert`)).status).toBe(200);

    await c.refresh();
    expect(c.seen.map((e) => `${e.from.type}:${e.type}`)).toEqual([
      "Client:ParticipantJoined",
      "External:Notice",
      "External:Notice",
      "Agent:ParticipantJoined",
      "Agent:TypingStarted",
      "Agent:Message",
      "External:IdleAlert",
    ]);

    expect((await ctl("/inject", { op: "refresh", kind: "delay", delayMs: 10 })).status).toBe(200);
    expect((await axios.get<unknown[]>(`${sim.url}/sim/inject`)).data).toHaveLength(1);
    expect((await axios.delete(`${sim.url}/sim/inject`)).status).toBe(200);
    expect(sim.pendingInjections()).toEqual([]);
    expect((await ctl("/inject", { kind: "nonsense" })).status).toBe(400);

    expect((await ctl(`/chats/${c.chatId}/agent/leave`)).status).toBe(200);
    expect((await ctl(`/chats/${c.chatId}/agent/say`, { text: "x" })).status).toBe(409);
    const detail = await axios.get<{ ended: boolean; transcript: TranscriptEvent[] }>(`${sim.url}/sim/chats/${c.chatId}`);
    expect(detail.data.ended).toBe(true);
    expect(detail.data.transcript.at(-1)?.type).toBe("ParticipantLeft");
    expect((await axios.get<unknown[]>(`${sim.url}/sim/requests`)).data.length).toBeGreaterThan(0);
  });

  it("sets the script over HTTP and idles / ends chats over HTTP", async () => {
    const sim = await start();
    const set = await axios.post(`${sim.url}/sim/script`, { joinAfterMs: 0, nickname: "Sara", replies: "echo" });
    expect(set.status).toBe(200);
    const c = new Client(sim);
    await c.request();
    await c.refreshUntil((e) => e.type === "ParticipantJoined" && e.from.nickname === "Sara");
    await c.call("send", { message: "eco" });
    await c.refreshUntil((e) => e.text === "Echo: eco");
    expect((await axios.post(`${sim.url}/sim/chats/${c.chatId}/agent/idle`)).status).toBe(200);
    expect((await c.refresh()).chatEnded).toBe(true);

    const d = new Client(sim);
    await d.request();
    expect((await axios.post(`${sim.url}/sim/chats/${d.chatId}/end`)).status).toBe(200);
    expect((await d.refresh()).chatEnded).toBe(true);

    expect((await axios.post(`${sim.url}/sim/reset`)).status).toBe(200);
    expect(sim.chats()).toEqual([]);
  });
});

describe("GMS simulator: file management (files.ts)", () => {
  const upload = async (c: Client, name: string, content: Buffer, type = "image/png"): Promise<GmsAnswer> => {
    const fd = new FormData();
    for (const [k, v] of Object.entries(c.ids())) fd.append(k, String(v));
    fd.append("userData[file-description]", "la foto");
    fd.append("file", new Blob([content], { type }), name);
    const res = await fetch(`${c.base}/${c.chatId}/file`, { method: "POST", body: fd });
    expect(res.status).toBe(200);
    return (await res.json()) as GmsAnswer;
  };

  it("limits in the Notice's userData; a multipart upload the agent receives, a FileUploaded event; download and delete", async () => {
    const sim = await start({ clientTimeoutMs: 0 });
    const c = new Client(sim);
    await c.request();
    const limits = await c.call("file/limits");
    expect(limits.statusCode).toBe(0);
    expect(limits.messages[0]).toMatchObject({ type: "Notice", text: "file-client-cfg-get" });
    expect(limits.messages[0]!.userData).toMatchObject({
      "upload-max-files": "3",
      "upload-max-file-size": "2097152",
      "upload-max-total-size": "5242880",
      "used-upload-max-files": "0",
    });

    const content = Buffer.from("not really a png");
    const up = await upload(c, "modem.png", content);
    expect(up.statusCode).toBe(0);
    const fileId = up.userData?.["file-id"] ?? "";
    expect(fileId).toMatch(/^00F0[0-9A-F]{12}$/);
    const event = await c.refreshUntil((e) => e.type === "FileUploaded");
    expect(event.from.type).toBe("Client");
    expect(event.userData).toMatchObject({
      "file-id": fileId,
      "file-name": "modem.png",
      "file-size": String(content.length),
      "file-description": "la foto",
    });
    expect(
      sim
        .chat(c.chatId)
        .filesFromClient()
        .map((f) => f.name),
    ).toEqual(["modem.png"]);
    expect((await c.call("file/limits")).messages[0]!.userData).toMatchObject({ "used-upload-max-files": "1" });

    const dl = await axios.post(`${c.base}/${c.chatId}/file/${fileId}/download`, form(c.ids()), { responseType: "arraybuffer" });
    expect(dl.headers["content-type"]).toMatch(/^image\/png/);
    expect(Buffer.from(dl.data as ArrayBuffer).equals(content)).toBe(true);

    expect((await c.call(`file/${fileId}/delete`)).statusCode).toBe(0);
    expect((await c.refreshUntil((e) => e.type === "FileDeleted")).userData).toEqual({ "file-id": fileId });
    expect(sim.chat(c.chatId).filesFromClient()).toEqual([]);
    expect((await c.call(`file/${fileId}/download`)).statusCode).toBe(2);
  });

  it("refuses an upload past a limit (statusCode 2, code 106), and a type not allowed; stores nothing", async () => {
    const sim = await start({ clientTimeoutMs: 0, fileLimits: { maxFileBytes: 10, maxFiles: 1 } });
    const c = new Client(sim);
    await c.request();
    const big = await upload(c, "big.png", Buffer.alloc(11));
    expect(big).toMatchObject({ statusCode: 2, chatEnded: false, errors: [{ code: 106 }] });
    expect((await upload(c, "run.exe", Buffer.alloc(5))).statusCode).toBe(2);
    expect((await upload(c, "ok.png", Buffer.alloc(5))).statusCode).toBe(0);
    expect((await upload(c, "two.png", Buffer.alloc(5))).errors?.[0]?.advice).toMatch(/upload-max-files/);
    expect(
      sim
        .chat(c.chatId)
        .filesFromClient()
        .map((f) => f.name),
    ).toEqual(["ok.png"]);
  });

  it("the agent sends a file over the control API; the client sees FileUploaded from the agent and downloads it", async () => {
    const sim = await start({ clientTimeoutMs: 0 });
    const c = new Client(sim);
    await c.request();
    await axios.post(`${sim.url}/sim/chats/${c.chatId}/agent/join`, { nickname: "Anna" });
    const bytes = Buffer.from("%PDF-1.4 bill");
    const sent = await axios.post(`${sim.url}/sim/chats/${c.chatId}/agent/file`, {
      name: "bill.pdf",
      mediaType: "application/pdf",
      contentBase64: bytes.toString("base64"),
    });
    expect(sent.status).toBe(200);
    const event = await c.refreshUntil((e) => e.type === "FileUploaded");
    expect(event.from).toMatchObject({ type: "Agent", nickname: "Anna" });
    const fileId = event.userData?.["file-id"] ?? "";
    const dl = await axios.post(`${c.base}/${c.chatId}/file/${fileId}/download`, form(c.ids()), { responseType: "arraybuffer" });
    expect(Buffer.from(dl.data as ArrayBuffer).equals(bytes)).toBe(true);
    const listed = await axios.get<{ name: string; from: string }[]>(`${sim.url}/sim/chats/${c.chatId}/files`);
    expect(listed.data).toMatchObject([{ name: "bill.pdf", from: "Agent", size: bytes.length }]);
  });
});

describe("the Callback Services API (callback.ts)", () => {
  it("start (form or JSON), query by properties, mandatory fields, and the control API", async () => {
    const sim = await start({ clientTimeoutMs: 0 });
    const base = `${sim.url}/genesys/1/service/callback/cb-mobile`;
    const when = new Date(Date.now() + 3_600_000).toISOString();
    const a = await postRaw(base, { _customer_number: "393471111111", _desired_time: when, product: "fibra" });
    expect(a.status).toBe(200);
    const id = (JSON.parse(a.data) as { _id: string })._id;
    const b = await axios.post<{ _id: string }>(base, { _customer_number: "393472222222" });
    expect(b.data._id).toMatch(/^[0-9a-f]{32}$/);
    expect((await postRaw(base, { _desired_time: when })).status).toBe(400);
    expect((await postRaw(base, { _customer_number: "1", _desired_time: "domani" })).status).toBe(400);

    const found = await axios.get<Record<string, string>[]>(base, { params: { product: "fibra" } });
    expect(found.data).toEqual([
      expect.objectContaining({
        _id: id,
        _customer_number: "393471111111",
        _desired_time: when,
        _callback_state: "SCHEDULED",
        product: "fibra",
      }),
    ]);
    expect((await axios.get<unknown[]>(base, { params: { product: "rame" } })).data).toEqual([]);

    const listed = await axios.get<{ _id: string; _callback_state: string }[]>(`${sim.url}/sim/callbacks`);
    expect(listed.data.map((c) => c._callback_state)).toEqual(["SCHEDULED", "QUEUED"]);
    await axios.post(`${sim.url}/sim/callbacks/inject`, { kind: "http500" });
    expect((await postRaw(base, { _customer_number: "393473333333" })).status).toBe(500);
    await axios.delete(`${sim.url}/sim/callbacks`);
    expect((await axios.get<unknown[]>(`${sim.url}/sim/callbacks`)).data).toEqual([]);
  });
});
