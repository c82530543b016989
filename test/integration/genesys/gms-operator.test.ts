// The GMS Chat API v2 adapter (src/adapters/genesys) against the simulator
// over real HTTP (spec/backends.md section 2): a full chat, transcript paging,
// re-reading after a restart, idle close, every injected failure, and the
// secure key kept out of errors and logs.
import { createServer } from "node:net";
import { inspect } from "node:util";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createGmsOperator, GenesysError } from "../../../src/adapters/genesys/index.js";
import type { GmsCallOutcome, GmsOp, GmsOperator, GmsOperatorOptions } from "../../../src/adapters/genesys/index.js";
import type { OperatorEvent } from "../../../src/core/events.js";
import type { GenesysChatIds } from "../../../src/core/model.js";
import { startGmsSimulator } from "../../../tools/gms-simulator/server.js";
import type { GmsSimulator } from "../../../tools/gms-simulator/server.js";

const TIMEOUT_MS = 250;

let sim: GmsSimulator;
/** Every log line any adapter of this file wrote (level debug), to check for secrets. */
const logLines: string[] = [];
const log = pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) });
/** Every secure key this file saw: none may appear in a log line. */
const secrets = new Set<string>();
let calls: { op: GmsOp; outcome: GmsCallOutcome; seconds: number }[] = [];

beforeAll(async () => {
  sim = await startGmsSimulator({ clientTimeoutMs: 0 });
});
afterEach(() => {
  sim.clearInjections();
  calls = [];
});
afterAll(async () => {
  await sim.stop();
});

function operator(overrides: Partial<GmsOperatorOptions> = {}): GmsOperator {
  return createGmsOperator(
    {
      baseUrl: sim.url,
      requestTimeoutMs: TIMEOUT_MS,
      onCall: (op, outcome, seconds) => calls.push({ op, outcome, seconds }),
      ...overrides,
    },
    log,
  );
}

let serviceSeq = 0;
/** A service name of its own per test, so queue positions do not mix. */
const newService = () => `support-${++serviceSeq}`;

async function openChat(gms: GmsOperator, serviceName: string, nickname = "Mario") {
  const ids = await gms.requestChat({ serviceName, nickname, subject: "Aiuto", userData: { conversationId: `c-${serviceName}` } });
  const { nextPosition, ...chat } = ids;
  secrets.add(chat.secureKey);
  return { chat, nextPosition, sim: sim.chat(chat.chatId) };
}

/** Polls like the router: from the last nextPosition, collecting the events. */
class Poller {
  position: number;
  readonly seen: OperatorEvent[] = [];
  constructor(
    readonly gms: GmsOperator,
    readonly serviceName: string,
    readonly chat: GenesysChatIds,
    position = 1,
  ) {
    this.position = position;
  }
  async poll(): Promise<OperatorEvent[]> {
    const poll = await this.gms.refresh(this.serviceName, this.chat, this.position);
    expect(poll.nextPosition).toBeGreaterThanOrEqual(this.position);
    // Every event of a GMS transcript carries its index (asserted in "send with transcriptPosition"); compared without it here.
    expect(poll.events.filter((e) => e.kind !== "ended" && e.kind !== "error").every((e) => Number.isInteger(e.index))).toBe(true);
    const events = poll.events.map(withoutIndex);
    this.position = poll.nextPosition;
    this.seen.push(...events);
    return events;
  }
}

const withoutIndex = ({ index: _index, ...e }: OperatorEvent): OperatorEvent => e;

/** The error a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<GenesysError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GenesysError);
  return err as GenesysError;
}

/** Nothing a log or a crash report could print of the error holds the key. */
function expectNoSecret(err: unknown, key: string) {
  const e = err as Error;
  for (const text of [
    e.message,
    String(e),
    e.stack ?? "",
    inspect(e, { depth: 10 }),
    JSON.stringify(e),
    String((e.cause as Error | undefined)?.message),
  ]) {
    expect(text).not.toContain(key);
  }
}

describe("GMS operator adapter against the simulator", () => {
  it("carries a whole chat: queue, join, typing, messages both ways, data, notice, leave, end", async () => {
    const gms = operator();
    const service = newService();
    const { chat, nextPosition, sim: sc } = await openChat(gms, service);
    expect(nextPosition).toBe(1);
    expect(sc.nickname).toBe("Mario");
    expect(sc.subject).toBe("Aiuto");
    expect(sc.userData).toEqual({ conversationId: `c-${service}` });

    const p = new Poller(gms, service, chat, nextPosition);
    // Index 1 is our own ParticipantJoined (skipped); 2 the queue notice.
    expect(await p.poll()).toEqual([{ kind: "queue", position: 1 }]);
    expect(p.position).toBe(3);
    expect(await p.poll()).toEqual([]);

    sc.agentJoin("Giulia");
    sc.agentTyping(true);
    sc.agentSay("Ciao, come posso aiutarti?");
    sc.agentTyping(false);
    expect(await p.poll()).toEqual([
      { kind: "joined", nickname: "Giulia" },
      { kind: "typing", typing: true },
      { kind: "message", text: "Ciao, come posso aiutarti?", nickname: "Giulia" },
      { kind: "typing", typing: false },
    ]);

    await gms.send(service, chat, "Ho un problema con la SIM");
    expect(sc.clientMessages().map((m) => m.text)).toEqual(["Ho un problema con la SIM"]);
    await gms.typing(service, chat, true);
    expect(sc.typingFromClient).toBe(true);
    await gms.typing(service, chat, false);
    expect(sc.typingFromClient).toBe(false);
    await gms.updateData(service, chat, { vote: "5", voteAt: "2024-01-01T00:00:00Z" });
    expect(sc.userDataUpdates).toEqual([{ vote: "5", voteAt: "2024-01-01T00:00:00Z" }]);
    expect(sc.userData["vote"]).toBe("5");
    await gms.customNotice(service, chat, "utente in background");
    expect(sc.customNotices()).toEqual(["utente in background"]);
    // Our own Message, typing and CustomNotice are in the transcript: none comes back.
    expect(await p.poll()).toEqual([]);
    expect(p.position).toBe(sc.nextPosition);

    sc.agentLeave();
    expect(await p.poll()).toEqual([{ kind: "left", nickname: "Giulia", remaining: 0 }, { kind: "ended" }]);

    await gms.disconnect(service, chat);
    await gms.disconnect(service, chat);
    expect(sc.endReason).toBe("agent-left");

    // An action on an ended chat: a permanent GenesysError that says so.
    const err = await failure(gms.send(service, chat, "ancora?"));
    expect(err).toMatchObject({
      code: "SERVICE_UNAVAILABLE",
      op: "send",
      kind: "status",
      statusCode: 2,
      chatEnded: true,
      transient: false,
    });
    expectNoSecret(err, chat.secureKey);

    const ops = new Set(calls.filter((c) => c.outcome === "ok").map((c) => c.op));
    expect([...ops].sort()).toEqual(
      ["customNotice", "disconnect", "refresh", "request", "send", "startTyping", "stopTyping", "updateData"].sort(),
    );
    expect(calls.at(-1)).toMatchObject({ op: "send", outcome: "rejected" });
    expect(calls.every((c) => c.seconds >= 0 && c.seconds < 5)).toBe(true);
  });

  it("disconnect by the client ends the chat once, then stays a success", async () => {
    const gms = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(gms, service);
    sc.agentJoin("Giulia");
    await gms.disconnect(service, chat);
    expect(sc.endReason).toBe("client-disconnect");
    await gms.disconnect(service, chat);
    const p = new Poller(gms, service, chat);
    const events = await p.poll();
    // Our own ParticipantLeft is skipped; the agent is still "present" but GMS says the chat is over.
    expect(events).toEqual([{ kind: "queue", position: 1 }, { kind: "joined", nickname: "Giulia" }, { kind: "ended" }]);
  });

  it("pages the transcript: every index once, in order, none skipped, our own events left out", async () => {
    const gms = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(gms, service);
    const p = new Poller(gms, service, chat);
    sc.agentJoin("Giulia");
    const said: string[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < round; i++) {
        const text = `m${round}.${i}`;
        sc.agentSay(text);
        said.push(text);
      }
      await gms.send(service, chat, `client ${round}`);
      // Polling twice in a row brings nothing new the second time.
      await p.poll();
      expect(await p.poll()).toEqual([]);
    }
    const texts = p.seen.filter((e) => e.kind === "message").map((e) => (e as { text: string }).text);
    expect(texts).toEqual(said);
    expect(p.seen.filter((e) => e.kind === "joined")).toHaveLength(1);
    expect(p.position).toBe(sc.nextPosition);
    // Every request asked from where the previous answer said.
    const positions = sim.requests
      .filter((r) => r.op === "refresh" && r.chatId === chat.chatId)
      .map((r) => Number(r.form["transcriptPosition"]));
    expect(positions[0]).toBe(1);
    expect(positions.every((n, i) => i === 0 || n >= positions[i - 1]!)).toBe(true);

    // A position beyond the end never goes backwards.
    const ahead = await gms.refresh(service, chat, sc.nextPosition + 10);
    expect(ahead).toEqual({ events: [], nextPosition: sc.nextPosition + 10 });
  });

  it("after a restart re-reads who is present and replays nothing", async () => {
    const before = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(before, service);
    sc.agentJoin("Giulia");
    sc.agentJoin("Marco");
    sc.agentSay("benvenuto");
    const p = new Poller(before, service, chat);
    await p.poll();
    expect(p.seen.filter((e) => e.kind === "joined")).toHaveLength(2);

    // A new adapter (the router restarted) resumes from the persisted position.
    const after = operator();
    const resumed = new Poller(after, service, chat, p.position);
    expect(await resumed.poll()).toEqual([]);
    sc.agentLeave(); // Marco, the last to join
    expect(await resumed.poll()).toEqual([{ kind: "left", nickname: "Marco", remaining: 1 }]);
    sc.agentSay("sono ancora qui");
    sc.agentLeave(); // Giulia: the last agent, GMS ends the chat
    expect(await resumed.poll()).toEqual([
      { kind: "message", text: "sono ancora qui", nickname: "Giulia" },
      { kind: "left", nickname: "Giulia", remaining: 0 },
      { kind: "ended" },
    ]);
    const asked = sim.requests.filter((r) => r.op === "refresh" && r.chatId === chat.chatId).map((r) => r.form["transcriptPosition"]);
    // before: 1; after: 1 (re-read once), then incremental.
    expect(asked[0]).toBe("1");
    expect(asked[1]).toBe("1");
    expect(Number(asked[2])).toBe(p.position);
  });

  it("IdleAlert gives idle_alert, IdleClose idle_close and no separate ended", async () => {
    const gms = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(gms, service);
    const p = new Poller(gms, service, chat);
    await p.poll();
    sc.agentJoin("Giulia");
    sc.idleAlert();
    sc.idleClose();
    expect(await p.poll()).toEqual([{ kind: "joined", nickname: "Giulia" }, { kind: "idle_alert" }, { kind: "idle_close" }]);
  });

  it("the documented form (Notice IDLE_CONTROL_ALERT, then IDLE_CONTROL_CLOSE) gives the same", async () => {
    const gms = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(gms, service);
    const p = new Poller(gms, service, chat);
    await p.poll();
    sc.agentJoin("Giulia");
    sc.idleControl("alert");
    expect(await p.poll()).toEqual([{ kind: "joined", nickname: "Giulia" }, { kind: "idle_alert" }]);
    sc.idleControl("close");
    expect(await p.poll()).toEqual([{ kind: "idle_close" }]);
    expect(sc.ended).toBe(true);
  });

  describe("failures", () => {
    const transportFailures = [
      ["HTTP 500", "http500", "http", 500],
      ["a body that is not JSON", "garbage", "invalid_answer", 200],
      ["an answer later than requestTimeoutMs", { delayMs: TIMEOUT_MS + 300 }, "timeout", undefined],
    ] as const;

    it.each(transportFailures)(
      "%s: send throws a transient GenesysError; the chat goes on",
      async (_name, kind, failureKind, httpStatus) => {
        const gms = operator();
        const service = newService();
        const { chat, sim: sc } = await openChat(gms, service);
        sim.inject({ op: "send", chatId: chat.chatId, kind });
        const started = Date.now();
        const err = await failure(gms.send(service, chat, "uno"));
        expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 250);
        expect(err).toMatchObject({
          code: "SERVICE_UNAVAILABLE",
          op: "send",
          kind: failureKind,
          transient: true,
          chatEnded: false,
          chatId: chat.chatId,
        });
        expect(err.httpStatus).toBe(httpStatus);
        expectNoSecret(err, chat.secureKey);
        expect(calls.at(-1)?.outcome).toBe(failureKind === "timeout" ? "timeout" : "failed");
        await gms.send(service, chat, "due");
        // (A timed-out send may still be carried out: GMS has no idempotency key.)
        await sim.waitFor(chat.chatId, (c) => c.clientMessages().some((m) => m.text === "due"));
        expect(sc.clientMessages().map((m) => m.text)).toContain("due");
      },
    );

    it.each(transportFailures)(
      "%s: refresh throws a transient GenesysError, the next poll loses nothing",
      async (_name, kind, failureKind) => {
        const gms = operator();
        const service = newService();
        const { chat, sim: sc } = await openChat(gms, service);
        const p = new Poller(gms, service, chat);
        await p.poll();
        sc.agentJoin("Giulia");
        sim.inject({ op: "refresh", chatId: chat.chatId, kind });
        const err = await failure(p.poll());
        expect(err).toMatchObject({ op: "refresh", kind: failureKind, transient: true });
        expectNoSecret(err, chat.secureKey);
        expect(await p.poll()).toEqual([{ kind: "joined", nickname: "Giulia" }]);
      },
    );

    it("requestChat: HTTP 500 and timeouts are transient, a refusal by GMS is not", async () => {
      const gms = operator();
      const service = newService();
      sim.inject({ op: "request", kind: "http500" });
      expect(await failure(gms.requestChat({ serviceName: service, nickname: "M", subject: "s", userData: {} }))).toMatchObject({
        op: "request",
        transient: true,
        kind: "http",
      });
      sim.inject({ op: "request", kind: { delayMs: TIMEOUT_MS + 300 } });
      expect(await failure(gms.requestChat({ serviceName: service, nickname: "M", subject: "s", userData: {} }))).toMatchObject({
        transient: true,
        kind: "timeout",
      });
      // GMS refuses a request with neither nickname nor first and last name: statusCode 2.
      expect(await failure(gms.requestChat({ serviceName: service, nickname: "", subject: "s", userData: {} }))).toMatchObject({
        transient: false,
        kind: "status",
        statusCode: 2,
      });
    });

    it("statusCode 1: actions throw a transient error, refresh reports a non-fatal error event", async () => {
      const gms = operator();
      const service = newService();
      const { chat } = await openChat(gms, service);
      const p = new Poller(gms, service, chat);
      await p.poll();
      // Past the adapter's own retries (statusRetries, default 2): three answers of statusCode 1.
      sim.inject({ op: "send", chatId: chat.chatId, kind: "statusCode", statusCode: 1, times: 3 });
      const err = await failure(gms.send(service, chat, "x"));
      expect(err).toMatchObject({
        kind: "status",
        statusCode: 1,
        transient: true,
        chatEnded: false,
        errors: [{ code: 104, advice: expect.any(String) as unknown }],
      });
      expect(err.message).toContain("104");

      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 1, times: 3 });
      const before = p.position;
      const events = await p.poll();
      expect(events).toEqual([{ kind: "error", fatal: false, message: expect.stringContaining("statusCode 1") as unknown }]);
      expect(p.position).toBe(before);
      expect(calls.at(-1)).toMatchObject({ op: "refresh", outcome: "rejected" });
    });

    it("statusCode 1 means retry the call: one such answer is retried, the user never hears of it", async () => {
      const gms = operator({ statusRetryDelayMs: 10 });
      const service = newService();
      const { chat, sim: sc } = await openChat(gms, service);
      const p = new Poller(gms, service, chat);
      await p.poll();
      sc.agentJoin("Giulia");
      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 1 });
      expect(await p.poll()).toEqual([{ kind: "joined", nickname: "Giulia" }]);
      expect(calls.filter((c) => c.op === "refresh").map((c) => c.outcome)).toEqual(["ok", "rejected", "ok"]);
      sim.inject({ op: "send", chatId: chat.chatId, kind: "statusCode", statusCode: 1 });
      await gms.send(service, chat, "una volta");
      expect(sc.clientMessages().map((m) => m.text)).toEqual(["una volta"]);
    });

    it("on a non-zero statusCode no other field is used: no event, no position, no alias", async () => {
      const gms = operator({ statusRetries: 0 });
      const service = newService();
      const { chat, sim: sc } = await openChat(gms, service);
      const p = new Poller(gms, service, chat);
      await p.poll();
      sc.agentJoin("Giulia");
      sc.agentSay("ciao");
      const before = p.position;
      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 1, withFields: true });
      const poll = await gms.refresh(service, chat, before);
      expect(poll).toEqual({
        events: [{ kind: "error", fatal: false, message: expect.stringContaining("statusCode 1") as unknown }],
        nextPosition: before,
      });
      // Nothing was skipped: the next good answer brings both events.
      expect(await p.poll()).toEqual([
        { kind: "joined", nickname: "Giulia" },
        { kind: "message", text: "ciao", nickname: "Giulia" },
      ]);
    });

    it("the alias GMS changes within a chat comes back from refresh, and calls with it go through", async () => {
      const gms = operator();
      const service = newService();
      const { chat, sim: sc } = await openChat(gms, service);
      await gms.refresh(service, chat, 1);
      const next = sc.changeAlias();
      const poll = await gms.refresh(service, chat, 1);
      expect(poll.alias).toBe(next);
      // The old alias is refused now; the new one is not.
      expect(await failure(gms.send(service, chat, "vecchio"))).toMatchObject({ statusCode: 1, errors: [{ code: 101 }] });
      await gms.send(service, { ...chat, alias: next }, "nuovo");
      expect(sc.clientMessages().map((m) => m.text)).toEqual(["nuovo"]);
      expect((await gms.refresh(service, { ...chat, alias: next }, poll.nextPosition)).alias).toBeUndefined();
    });

    it.each([8209, 8210])("error code %i ends the chat even with statusCode 1 and chatEnded false: fatal, not retried", async (code) => {
      const gms = operator();
      const service = newService();
      const { chat } = await openChat(gms, service);
      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 1, code, advice: "gone", endsChat: false });
      const { events } = await gms.refresh(service, chat, 1);
      expect(events).toEqual([
        { kind: "error", fatal: true, message: expect.stringContaining(`${code} gone`) as unknown },
        { kind: "ended" },
      ]);
      expect(calls.filter((c) => c.op === "refresh")).toHaveLength(1);
      sim.inject({ op: "send", chatId: chat.chatId, kind: "statusCode", statusCode: 1, code, endsChat: false });
      expect(await failure(gms.send(service, chat, "x"))).toMatchObject({ transient: false, chatEnded: true });
    });

    it("a statusCode that ends the chat: refresh reports a fatal error, then ended", async () => {
      const gms = operator();
      const service = newService();
      const { chat, sim: sc } = await openChat(gms, service);
      const p = new Poller(gms, service, chat);
      await p.poll();
      sc.agentJoin("Giulia");
      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", endsChat: true });
      const events = await p.poll();
      expect(events).toEqual([{ kind: "error", fatal: true, message: expect.stringContaining("249") as unknown }, { kind: "ended" }]);
      expect(sc.ended).toBe(true);
      // The transcript is still readable, and says the chat is over.
      expect(await p.poll()).toEqual([{ kind: "joined", nickname: "Giulia" }, { kind: "ended" }]);
      await gms.disconnect(service, chat);
    });

    it("statusCode 2 that does not end the chat is still fatal", async () => {
      const gms = operator();
      const service = newService();
      const { chat } = await openChat(gms, service);
      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 2, code: 100, advice: "bad" });
      const { events } = await gms.refresh(service, chat, 1);
      expect(events).toEqual([{ kind: "error", fatal: true, message: expect.stringContaining("100 bad") as unknown }]);
    });

    it("a wrong secure key: actions throw, refresh reports an error, and the key never shows", async () => {
      const gms = operator();
      const service = newService();
      const { chat } = await openChat(gms, service);
      const wrong: GenesysChatIds = { ...chat, secureKey: "feedc0ffee15bad0" };
      secrets.add(wrong.secureKey);
      for (const p of [
        gms.send(service, wrong, "x"),
        gms.typing(service, wrong, true),
        gms.disconnect(service, wrong),
        gms.updateData(service, wrong, { a: "b" }),
      ]) {
        const err = await failure(p);
        expect(err).toMatchObject({ kind: "status", statusCode: 1, errors: [{ code: 101 }] });
        expectNoSecret(err, wrong.secureKey);
        expectNoSecret(err, chat.secureKey);
      }
      const { events, nextPosition } = await gms.refresh(service, wrong, 1);
      expect(events).toEqual([{ kind: "error", fatal: false, message: expect.stringContaining("101") as unknown }]);
      expect(nextPosition).toBe(1);
      const event = events[0] as { message: string };
      expect(event.message).not.toContain(wrong.secureKey);
      // The right key still works: the chat was not touched.
      await gms.send(service, chat, "ok");

      // Even a GMS advice that echoes the key is cut before it reaches an error or an event.
      sim.inject({ op: "send", chatId: chat.chatId, kind: "statusCode", statusCode: 1, advice: `bad key ${chat.secureKey}`, times: 3 });
      const echoed = await failure(gms.send(service, chat, "x"));
      expect(echoed.errors[0]?.advice).toBe("bad key [redacted]");
      expectNoSecret(echoed, chat.secureKey);
      sim.inject({ op: "refresh", chatId: chat.chatId, kind: "statusCode", statusCode: 1, advice: `bad key ${chat.secureKey}`, times: 3 });
      const echoedPoll = await gms.refresh(service, chat, 1);
      expect(JSON.stringify(echoedPoll)).not.toContain(chat.secureKey);
      expect(JSON.stringify(echoedPoll)).toContain("[redacted]");
    });

    it("an unknown chat: refresh is fatal and ended, disconnect succeeds", async () => {
      const gms = operator();
      const service = newService();
      const { chat } = await openChat(gms, service);
      const ghost: GenesysChatIds = { ...chat, chatId: "0004doesNotExist00" };
      expect((await gms.refresh(service, ghost, 5)).events).toEqual([
        { kind: "error", fatal: true, message: expect.stringContaining("102") as unknown },
        { kind: "ended" },
      ]);
      await gms.disconnect(service, ghost);
    });

    it("connection refused is a transient network failure; a wrong base path is a permanent HTTP one", async () => {
      const port = await closedPort();
      const down = operator({ baseUrl: `http://127.0.0.1:${port}` });
      const service = newService();
      const { chat } = await openChat(operator(), service);
      const err = await failure(down.refresh(service, chat, 1));
      expect(err).toMatchObject({ kind: "network", transient: true });
      expect(err.message).toContain("ECONNREFUSED");
      expectNoSecret(err, chat.secureKey);

      const wrongPath = operator({ baseUrl: `${sim.url}/nope/` });
      const err404 = await failure(wrongPath.send(service, chat, "x"));
      expect(err404).toMatchObject({ kind: "http", httpStatus: 404, transient: false });
    });
  });
});

describe("GMS calls beyond the table (backends.md section 2)", () => {
  it("send with transcriptPosition answers the transcript from there, each event with its index, as a poll", async () => {
    const gms = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(gms, service);
    const p = new Poller(gms, service, chat);
    await p.poll();
    sc.agentJoin("Giulia");
    sc.agentSay("Buongiorno");
    const from = p.position;
    const answer = await gms.send(service, chat, "salve", undefined, from);
    const asked = sim.requests.filter((r) => r.op === "send" && r.chatId === chat.chatId).at(-1)!;
    expect(asked.form["transcriptPosition"]).toBe(String(from));
    const joinedAt = sc.transcript().find((e) => e.type === "ParticipantJoined" && e.from.type === "Agent")!.index;
    expect(answer).toEqual({
      events: [
        { kind: "joined", nickname: "Giulia", index: joinedAt },
        { kind: "message", text: "Buongiorno", nickname: "Giulia", index: joinedAt + 1 },
      ],
      nextPosition: sc.nextPosition, // our own message included: it is not news to us
    });
    // The poll from the old position (it raced the send) brings the same indexes: the core skips them.
    const raced = await gms.refresh(service, chat, from);
    expect(raced.events.map((e) => e.index)).toEqual([joinedAt, joinedAt + 1]);
    // Without transcriptPosition, a send answers no transcript (and its nextPosition is not taken).
    expect(await gms.send(service, chat, "ancora")).toBeUndefined();
  });

  it("after a restart, a send from the persisted position replays nothing before it", async () => {
    const before = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(before, service);
    sc.agentJoin("Giulia");
    sc.agentSay("prima");
    const p = new Poller(before, service, chat);
    await p.poll();
    sc.agentSay("dopo");
    // A new adapter (the router restarted) knows nobody in the chat: it asks from 1 and gives only what is new.
    const after = operator();
    const answer = (await after.send(service, chat, "ci sei?", undefined, p.position))!;
    const asked = sim.requests.filter((r) => r.op === "send" && r.chatId === chat.chatId).at(-1)!;
    expect(asked.form["transcriptPosition"]).toBe("1");
    expect(answer.events.map(withoutIndex)).toEqual([{ kind: "message", text: "dopo", nickname: "Giulia" }]);
    // And the track it rebuilt knows Giulia: her leaving ends it with nobody left.
    sc.agentLeave();
    const resumed = new Poller(after, service, chat, answer.nextPosition);
    expect(await resumed.poll()).toEqual([{ kind: "left", nickname: "Giulia", remaining: 0 }, { kind: "ended" }]);
  });

  it("readReceipt and updateNickname carry the ids with transcriptPosition and nickname; a refusal throws", async () => {
    const gms = operator();
    const service = newService();
    const { chat, sim: sc } = await openChat(gms, service);
    await gms.readReceipt!(service, chat, 3);
    await gms.updateNickname!(service, chat, "Mario Rossi");
    expect(sc.readReceipts()).toEqual([3]);
    expect(sc.nicknameUpdates()).toEqual(["Mario Rossi"]);
    const receipt = sim.requests.find((r) => r.op === "readReceipt" && r.chatId === chat.chatId)!;
    expect(receipt.form).toMatchObject({ userId: chat.userId, secureKey: chat.secureKey, alias: chat.alias, transcriptPosition: "3" });
    sim.inject({ op: "readReceipt", kind: "statusCode", statusCode: 2, code: 100 });
    expect(await failure(gms.readReceipt!(service, chat, 4))).toMatchObject({ op: "readReceipt", transient: false });
  });
});

describe("logs", () => {
  // Runs last in this file: every test above has logged by now.
  it("never hold a secure key", () => {
    expect(logLines.length).toBeGreaterThan(10);
    expect(secrets.size).toBeGreaterThan(5);
    const all = logLines.join("");
    for (const key of secrets) expect(all).not.toContain(key);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
