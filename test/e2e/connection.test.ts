// The component connection against a real private Prosody (one for the file):
// online, inbound and outbound stanzas, from-validation, iq replies and
// requests, refusals (wrong secret), a second connection waiting on conflict, the offline queue across a
// Prosody crash and restart, stop() while offline.
import { type AddressInfo, createServer, type Socket } from "node:net";
import xml, { type Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogging } from "../../src/log.js";
import {
  type ComponentConnection,
  type ComponentConnectionOptions,
  createComponentConnection,
  jidDomain,
} from "../../src/xmpp/connection.js";
import { connectClient, type TestClient } from "./harness/client.js";
import { freePort } from "./harness/free-port.js";
import { Inbox } from "./harness/inbox.js";
import { type Prosody, startProsody } from "./harness/prosody.js";

const D = "router.localhost";
const QUEUE_LIMIT = 5;
const logger = createLogging({
  level: (process.env.LOG_LEVEL as "debug" | undefined) ?? "silent",
  modules: {},
}).child("xmpp");

let prosody: Prosody;
let conn: ComponentConnection;
let alice: TestClient;
const inbox = new Inbox(() => D);
const events: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const withBody = (text: string) => (s: Element) => s.is("message") && s.getChildText("body") === text;
const message = (attrs: Record<string, string>, body: string) => xml("message", { type: "chat", ...attrs }, xml("body", {}, body));

function connection(over: Partial<ComponentConnectionOptions> = {}): ComponentConnection {
  return createComponentConnection(
    {
      service: prosody.componentService,
      domain: D,
      secret: prosody.secret,
      outboundQueueLimit: QUEUE_LIMIT,
      resendWindowMs: 10_000,
      iqTimeoutMs: 2000,
      ...over,
    },
    logger,
  );
}

/** Test iq routes: echo answers, throw throws, slow answers late, anything else is unmatched. */
async function handler(stanza: Element): Promise<Element | undefined> {
  inbox.push(stanza);
  if (!stanza.is("iq")) return undefined;
  const child = stanza.getChildElements()[0];
  switch (child?.getNS()) {
    case "urn:test:echo":
      return xml("echo", { xmlns: "urn:test:echo" }, child.getText());
    case "urn:test:throw":
      throw new Error("handler failed on purpose");
    case "urn:test:slow":
      await sleep(600);
      return xml("slow", { xmlns: "urn:test:slow" });
    default:
      return undefined;
  }
}

beforeAll(async () => {
  prosody = await startProsody({ users: [{ username: "alice", password: "alice-pw" }] });
  conn = connection();
  conn.onStanza(handler);
  conn.on("online", ({ reconnected }) => events.push(reconnected ? "online (reconnected)" : "online"));
  conn.on("offline", (reason) => events.push(`offline: ${reason}`));
  await conn.start();
  alice = await connectClient({ prosody, username: "alice", password: "alice-pw" });
});

afterAll(async () => {
  await alice?.stop();
  await conn?.stop();
  await prosody?.stop();
});

describe("component connection on a private Prosody", () => {
  it("comes online, gets its XEP-0356 privileges and a client's message to someone@D", async () => {
    expect(conn.status()).toEqual({ online: true });
    expect(conn.isOnline()).toBe(true);
    const privilege = await inbox.waitFor(
      (s) => s.is("message") && !!s.getChild("privilege", "urn:xmpp:privilege:2"),
      3000,
      "the privilege message",
    );
    expect(privilege.attrs.from).toBe(prosody.userDomain);

    await alice.send(message({ to: `someone@${D}` }, "hello router"));
    const got = await inbox.waitFor(withBody("hello router"), 3000, "alice's message");
    expect(got.attrs.from).toBe(alice.jid);
    expect(got.attrs.to).toBe(`someone@${D}`);
  });

  it("sends a reply that reaches the client (from defaults to the domain)", async () => {
    await conn.send(message({ from: `someone@${D}/bot`, to: alice.jid }, "hello alice"));
    expect((await alice.waitFor(withBody("hello alice"))).attrs.from).toBe(`someone@${D}/bot`);

    await conn.send(message({ to: alice.bare }, "from the domain"));
    expect((await alice.waitFor(withBody("from the domain"))).attrs.from).toBe(D);
  });

  it("rejects a from outside the domain without sending, and the stream stays up", async () => {
    for (const from of ["evil@localhost", "localhost", `${D}.evil.com`, `a@b@${D}`, `Someone@Router.Localhost`]) {
      await expect(conn.send(message({ from, to: alice.jid }, "bad"))).rejects.toThrow(/not in the component domain router\.localhost/);
    }
    await expect(conn.send(xml("message", { from: D }, xml("body", {}, "no to")))).rejects.toThrow(/without a 'to'/);
    await expect(conn.send(xml("handshake"))).rejects.toThrow(/only message, presence and iq/);

    await conn.send(message({ from: `someone@${D}`, to: alice.jid }, "still up"));
    await alice.waitFor(withBody("still up"));
    expect(conn.isOnline()).toBe(true);
    expect(events).toEqual(["online"]);
    expect(prosody.log()).not.toMatch(/invalid-from/);
    expect(jidDomain(`a@${D}/r/with@signs`)).toBe(D);
  });

  it("answers iqs: handler payload → result, unmatched → service-unavailable, throw → internal-server-error", async () => {
    const iq = (ns: string, name: string, text = "") => xml("iq", { type: "get", to: `someone@${D}` }, xml(name, { xmlns: ns }, text));
    const result = await alice.iq(iq("urn:test:echo", "echo", "ping"));
    expect(result.attrs.type).toBe("result");
    expect(result.getChild("echo", "urn:test:echo")?.getText()).toBe("ping");

    await expect(alice.iq(iq("urn:test:unknown", "query"))).rejects.toMatchObject({ condition: "service-unavailable" });
    await expect(alice.iq(iq("urn:test:throw", "boom"))).rejects.toMatchObject({ condition: "internal-server-error", type: "wait" });
  });

  it("makes iq round trips with a bound", async () => {
    const info = await conn.request(
      xml("iq", { type: "get", to: prosody.userDomain }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })),
    );
    expect(info.attrs.type).toBe("result");
    expect(info.getChild("query", "http://jabber.org/protocol/disco#info")).toBeDefined();

    // The component asks itself; its handler answers after 600 ms.
    const t0 = performance.now();
    const slow = xml("iq", { type: "get", from: `someone@${D}`, to: `slow@${D}` }, xml("slow", { xmlns: "urn:test:slow" }));
    await expect(conn.request(slow, 200)).rejects.toThrow(/iq get urn:test:slow \(id .+\) got no answer within 200 ms/);
    expect(performance.now() - t0).toBeLessThan(550);
    await sleep(500); // the late reply arrives and is dropped
    expect(conn.isOnline()).toBe(true);
  });

  it("wrong secret: start() rejects at once with a clear message and does not retry", async () => {
    const bad = connection({ secret: "not-the-secret" });
    const fatal: Error[] = [];
    bad.on("fatal", (err) => fatal.push(err));
    const t0 = performance.now();
    await expect(bad.start()).rejects.toThrow("XMPP server refused the component secret for router.localhost (not-authorized)");
    expect(performance.now() - t0).toBeLessThan(900); // before the first reconnect (1 s)
    await sleep(1300);
    expect(prosody.log().match(/Component authentication failed/g)).toHaveLength(1);
    expect(bad.status()).toEqual({
      online: false,
      reason: "XMPP server refused the component secret for router.localhost (not-authorized)",
    });
    expect(fatal).toEqual([]); // start() got it; `fatal` is for after the first start
    await expect(bad.send(message({ to: alice.jid }, "x"))).rejects.toThrow(/not-authorized/);
    await bad.stop();
    expect(conn.isOnline()).toBe(true);
  });

  it("another connection for the same domain gets conflict and waits (never gives up, no start bound); ours stays up", async () => {
    const second = connection({ reconnectDelayMs: 200, startTimeoutMs: 500 });
    let settled = "pending";
    const started = second.start().then(
      () => (settled = "online"),
      (err: Error) => (settled = `rejected: ${err.message}`),
    );
    await sleep(1500); // three times the start bound, several conflicts
    expect(settled).toBe("pending");
    expect(second.status()).toEqual({
      online: false,
      reason: expect.stringMatching(/another connection holds the domain \(stream error conflict\)/) as unknown,
    });
    await alice.send(message({ to: `someone@${D}` }, "after conflict"));
    await inbox.waitFor(withBody("after conflict"), 3000);
    expect(conn.isOnline()).toBe(true);
    await second.stop();
    await started;
    expect(settled).toMatch(/rejected: .*stopped before it came online/);
  });

  it("while the server is unreachable: bounded queue, status reason, stop() rejects pending sends", async () => {
    const dead = connection({ service: `xmpp://127.0.0.1:${await freePort()}`, outboundQueueLimit: 3 });
    const started = dead.start();
    started.catch(() => {});
    const pending = [1, 2, 3].map((i) => dead.send(message({ to: alice.jid }, `never ${i}`)));
    for (const p of pending) p.catch(() => {});
    await expect(dead.send(message({ to: alice.jid }, "one too many"))).rejects.toThrow(/outbound queue is full \(3 stanzas\)/);
    expect(dead.queued()).toBe(3);
    await sleep(50);
    expect(dead.status()).toMatchObject({ online: false, reason: expect.stringMatching(/ECONNREFUSED/) as unknown });
    await expect(dead.request(xml("iq", { type: "get", to: "localhost" }, xml("ping", { xmlns: "urn:xmpp:ping" })))).rejects.toThrow(
      /offline/,
    );

    await dead.stop();
    for (const p of pending) await expect(p).rejects.toThrow(/stopped; stanza not sent/);
    await expect(started).rejects.toThrow(/stopped before it came online/);
    expect(dead.queued()).toBe(0);
    expect(dead.status()).toEqual({ online: false, reason: "stopped" });

    const impatient = connection({ service: `xmpp://127.0.0.1:${await freePort()}`, startTimeoutMs: 300 });
    await expect(impatient.start()).rejects.toThrow(/not online within 300 ms \(.*ECONNREFUSED/);
  });

  it("a server that accepts but never answers: the attempt is dropped and retried", async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const c = connection({ service: `xmpp://127.0.0.1:${port}`, connectTimeoutMs: 300, reconnectDelayMs: 100 });
    const started = c.start();
    started.catch(() => {});
    await sleep(900);
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect(c.status()).toEqual({ online: false, reason: "not online within 300 ms of connecting" });
    await c.stop();
    await expect(started).rejects.toThrow(/stopped before it came online/);
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("Prosody crashes and restarts: offline, online by itself, queued stanzas delivered in order", async () => {
    const offline = new Promise<string>((resolve) => conn.once("offline", resolve));
    const online = new Promise<{ reconnected: boolean }>((resolve) => conn.once("online", resolve));
    const { c2sPort, componentPort } = prosody;
    // Written just before the crash: XEP-0114 cannot tell whether it got through, so it is written again after the restart.
    await conn.send(message({ from: `someone@${D}`, to: alice.jid, id: "just-before" }, "just before the crash"));
    await alice.waitFor(withBody("just before the crash"));
    const again = alice.collect((s) => s.is("message") && s.attrs.id === "just-before", "the message written just before the crash");
    await prosody.kill();
    expect(await offline).toBe("connection lost");
    expect(conn.status()).toMatchObject({ online: false });

    const bodies = [1, 2, 3, 4, 5].map((i) => `queued ${i}`);
    const sends = bodies.map((b) => conn.send(message({ from: `someone@${D}`, to: alice.jid }, b)));
    await expect(conn.send(message({ to: alice.jid }, "queued 6"))).rejects.toThrow(/outbound queue is full \(5 stanzas\)/);
    expect(conn.queued()).toBe(5);
    const received = alice.collect((s) => s.is("message") && /^queued /.test(s.getChildText("body") ?? ""), "queued messages");

    await prosody.restart();
    expect([prosody.c2sPort, prosody.componentPort]).toEqual([c2sPort, componentPort]);
    // The client retries every 100 ms, the component every 1 s: the client is back first,
    // so the flushed stanzas find it online (Prosody keeps nothing for offline users here).
    await alice.waitOnline(3000);
    expect(conn.isOnline(), "the component came back before the client: timing margin too small").toBe(false);

    expect(await online).toEqual({ reconnected: true });
    await Promise.all(sends);
    const got = await received.until(5, 3000);
    expect(got.map((s) => s.getChildText("body"))).toEqual(bodies);
    received.stop();
    expect((await again.until(1, 3000)).map((s) => s.getChildText("body"))).toEqual(["just before the crash"]);
    again.stop();
    expect(conn.queued()).toBe(0);
    expect(events.slice(-2)).toEqual(["offline: connection lost", "online (reconnected)"]);

    // Both directions work again.
    await alice.send(message({ to: `someone@${D}` }, "after restart"));
    await inbox.waitFor(withBody("after restart"), 3000);
    await conn.send(message({ to: alice.jid }, "welcome back"));
    await alice.waitFor(withBody("welcome back"));
  });

  it("stop() closes the stream gracefully", async () => {
    const t0 = performance.now();
    await conn.stop();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(conn.status()).toEqual({ online: false, reason: "stopped" });
    expect(events.at(-1)).toBe("offline: stopped");
    await expect(conn.send(message({ to: alice.jid }, "late"))).rejects.toThrow(/stopped/);
    await sleep(100);
    expect(prosody.log()).toMatch(/component disconnected/i);
  });

  it("a secret the server no longer accepts after a restart: `fatal` event, no reconnect loop", async () => {
    const c = connection();
    c.onStanza(() => {});
    await c.start();
    const fatal = new Promise<Error>((resolve) => c.once("fatal", resolve));
    const offline = new Promise<string>((resolve) => c.once("offline", resolve));
    const before = prosody.log().match(/Component authentication failed/g)?.length ?? 0;
    await prosody.restart({ secret: "rotated-secret" });
    expect(await offline).toBe("connection lost"); // Prosody 0.12 just closes the socket on SIGTERM
    expect((await fatal).message).toBe("XMPP server refused the component secret for router.localhost (not-authorized)");
    await sleep(1300);
    expect(prosody.log().match(/Component authentication failed/g)?.length ?? 0).toBe(before + 1);
    expect(c.status()).toEqual({ online: false, reason: "XMPP server refused the component secret for router.localhost (not-authorized)" });
    await c.stop();
  });
});
