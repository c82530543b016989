// A real XMPP user for e2e tests: @xmpp/client 0.14 on the private Prosody's
// c2s port, SASL PLAIN forced (SCRAM-SHA-1 costs about 0.6 s per login in
// pure JS; PLAIN about 10 ms), no TLS. Every stanza received lands in an
// inbox, so a fast reply is never missed:
//
//   const alice = await connectClient({ prosody, username: "alice", password: "pw" });
//   await alice.send(xml("message", { to: "someone@router.localhost" }, xml("body", {}, "hi")));
//   const reply = await alice.waitFor((s) => s.is("message") && s.getChildText("body") === "hello");
//   await alice.stop(); // in afterAll/finally
import { client, type Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import xml from "@xmpp/xml";
import { type Collector, Inbox, type Predicate } from "./inbox.js";
import type { Prosody } from "./prosody.js";

export interface ConnectClientOptions {
  prosody: Pick<Prosody, "c2sService" | "userDomain">;
  username: string;
  password: string;
  /** Default "test". */
  resource?: string;
  /** Delay between reconnect attempts after the server goes away. Default 100 ms. */
  reconnectDelayMs?: number;
  /** Send initial presence on every (re)connection, so messages to the bare JID are delivered. Default true. */
  presence?: boolean;
  /** Bound on the first login. Default 10 s. */
  timeoutMs?: number;
}

/**
 * What this harness uses of the client's iq caller. @types/xmpp__client imports that type from
 * "@xmpp/iq/caller", which does not resolve under NodeNext (@xmpp/iq has no exports map), so
 * TypeScript sees `any` there.
 */
interface IqRequester {
  request(el: Element, timeoutMs?: number): Promise<Element>;
}

export interface TestClient {
  xmpp: Client;
  /** The full JID once online, e.g. "alice@localhost/test". */
  readonly jid: string;
  /** "alice@localhost" */
  readonly bare: string;
  send(el: Element): Promise<void>;
  /** An iq round trip (iqCaller.request); rejects with a StanzaError on an error reply. */
  iq(el: Element, timeoutMs?: number): Promise<Element>;
  /** The first matching stanza already received and not consumed, or the next one to arrive. */
  waitFor(predicate: Predicate, timeoutMs?: number, what?: string): Promise<Element>;
  /** Takes every matching stanza from now on (and unconsumed ones already received). */
  collect(predicate: Predicate, what?: string): Collector;
  isOnline(): boolean;
  /** Resolves when online (at once if online now), e.g. after the server restarted. */
  waitOnline(timeoutMs?: number): Promise<void>;
  /** Errors the client emitted (connection refused while the server was down, ...). */
  readonly errors: Error[];
  /** Stops reconnecting, closes the stream (bounded). Idempotent. */
  stop(): Promise<void>;
}

export async function connectClient(opts: ConnectClientOptions): Promise<TestClient> {
  const { prosody, username, password } = opts;
  const resource = opts.resource ?? "test";
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const bare = `${username}@${prosody.userDomain}`;

  const xmpp = client({
    service: prosody.c2sService,
    domain: prosody.userDomain,
    resource,
    // 0.14: credentials(authenticate, mechanisms, fast, entity); authenticate(credentials, mechanism, userAgent?)
    credentials: (authenticate) => authenticate({ username, password }, "PLAIN", xml("user-agent")),
  });
  xmpp.reconnect.delay = opts.reconnectDelayMs ?? 100;

  let fullJid = `${bare}/${resource}`;
  const inbox = new Inbox(() => fullJid);
  const errors: Error[] = [];
  let stopped = false;

  xmpp.on("error", (err: Error) => {
    errors.push(err);
    if (errors.length > 50) errors.shift();
  });
  xmpp.on("stanza", (el: Element) => inbox.push(el));
  xmpp.on("online", (address) => {
    fullJid = address.toString();
    if (opts.presence ?? true) xmpp.send(xml("presence")).catch((err: Error) => errors.push(err));
  });

  const online = new Promise<void>((resolve, reject) => {
    xmpp.once("online", () => resolve());
    xmpp.start().catch(reject);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      online,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    xmpp.reconnect.stop();
    await xmpp.stop().catch(() => {});
    throw new Error(`${bare} could not log in to ${prosody.c2sService}: ${(err as Error).message}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }

  return {
    xmpp,
    get jid() {
      return fullJid;
    },
    bare,
    send: (el) => xmpp.send(el),
    iq: (el, ms = 5000) => (xmpp.iqCaller as IqRequester).request(el, ms),
    waitFor: (predicate, ms, what) => inbox.waitFor(predicate, ms, what),
    collect: (predicate, what) => inbox.collect(predicate, what),
    isOnline: () => xmpp.status === "online",
    waitOnline(ms = 5000) {
      if (xmpp.status === "online") return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => {
          xmpp.off("online", on);
          const last = errors[errors.length - 1];
          reject(
            new Error(`${bare}: not online again after ${ms} ms (status ${xmpp.status}${last ? `, last error: ${last.message}` : ""})`),
          );
        }, ms);
        const on = () => {
          clearTimeout(t);
          resolve();
        };
        xmpp.once("online", on);
      });
    },
    errors,
    async stop() {
      if (stopped) return;
      stopped = true;
      xmpp.reconnect.stop();
      // stop() waits up to 2 s for the server's </stream:stream>, then 2 s for the socket to close.
      await Promise.race([xmpp.stop().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    },
  };
}
