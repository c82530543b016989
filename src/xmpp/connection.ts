// The router's component connection (XEP-0114, https://xmpp.org/extensions/xep-0114.html)
// over @xmpp/component 0.13: start/stop, automatic reconnect, a bounded
// in-memory queue for stanzas sent while offline, one inbound handler, iq
// round trips with a bound (design.md rule 7).
//
// Inbound stanzas and iqs (the choice, and why): xmpp.js's component always
// installs its iq callee as middleware; for every iq get/set it awaits the
// rest of the chain and answers with what that returns (an Element: result
// payload; an <error/>: error reply; nothing: service-unavailable; a throw:
// internal-server-error). We do not register per-namespace iqCallee.get/set
// routes; instead ONE middleware placed after the callee hands every inbound
// message, presence and iq get/set to the one handler given to onStanza(),
// and for iq get/set the handler's return value is the reply:
//   - an Element (e.g. `<query xmlns=…>`) → `<iq type="result">` carrying it,
//   - an `<error type=…><condition xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>…</error>` → `<iq type="error">`,
//   - nothing → service-unavailable (the dispatch layer did not match it),
//   - a throw → internal-server-error (logged here).
// So the dispatch layer keeps its routing to itself and gets the RFC 6120
// section 8.3 replies for free; it must await its work for an iq (bounded by
// its own timeouts) and never send the iq reply itself. An iq get/set
// without exactly one child gets bad-request from the callee before any
// handler runs (RFC 6120 section 8.2.3). For messages and presences the
// return value is ignored. The handler is called synchronously in arrival
// order (xmpp.js does not await one stanza before the next), so it should
// enqueue per conversation (design.md rule 3) before awaiting anything.
// iq results/errors are matched to request() by xmpp.js's iq caller; late or
// unknown ones are dropped (logged at debug).
//
// Reconnect: xmpp.js's reconnect (fixed delay, default 1 s, forever). Only
// `online` means connected (`reconnected` fires before the handshake). A
// refused secret (stream error not-authorized) or an unknown domain
// (host-unknown) is fatal: reconnecting stops, start() rejects, or after the
// first start a `fatal` event is emitted. Another component on the domain
// (conflict: Prosody's mod_component keeps the first connection and refuses
// the new one) means another instance is active: we wait and retry at the
// reconnect delay, never give up, and start()'s bound no longer applies (the
// server answers; issue 19, active/standby).
//
// Delivery: send() resolves when the socket took the stanza. A stanza written
// just before the server dies can still be lost (XEP-0114 has no acks), so the
// messages written in the last `resendWindowMs` before the stream went down
// are written again, first, when it is back (same ids: the router's are
// derived from their job, so a client drops what it already has). The
// in-memory queue covers the time the component knows it is offline.
import { EventEmitter } from "node:events";
import jid from "@xmpp/jid";
import pkg, { type Component, type ComponentStatus, type XmppError } from "@xmpp/component";
import xml, { Element } from "@xmpp/xml";
import { ERRORS } from "../errors.js";
import type { Logger } from "../log.js";
import { memoize } from "../protocol/memo.js";
import { forgetSerialized } from "../protocol/serialized.js";
import { mendElement } from "../protocol/xml-chars.js";

const { component } = pkg;

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

export interface ComponentConnectionOptions {
  /** `xmpp://host:port` of the server's component listener. */
  service: string;
  /** The component domain D. */
  domain: string;
  secret: string;
  /** Stanzas held in memory while offline; beyond it send() rejects. */
  outboundQueueLimit: number;
  /** Default bound of request(). */
  iqTimeoutMs: number;
  /** Delay between reconnect attempts. Default 1000. */
  reconnectDelayMs?: number;
  /** start() rejects if not online within this bound (server unreachable). Default 30 000. */
  startTimeoutMs?: number;
  /** A connection attempt not online within this bound is dropped and retried. Default 10 000. */
  connectTimeoutMs?: number;
  /** Bound of stop()'s graceful close. Default 3000. */
  stopTimeoutMs?: number;
  /** Messages written this long before the stream went down are written again after it is back. Default 0 (none). */
  resendWindowMs?: number;
}

/**
 * Receives every inbound message, presence and iq get/set. For iq get/set the
 * return value is the reply (see the top of connection.ts); otherwise ignored.
 */
export type StanzaHandler = (stanza: Element) => void | Element | Promise<void | Element>;

export interface ConnectionStatus {
  online: boolean;
  /** Why not online (absent when online): "not started", "connecting", "connection lost", "connect ECONNREFUSED …", "stream error …", "stopped", … */
  reason?: string;
}

export interface ConnectionEvents {
  /** The stream is up (handshake accepted). `reconnected` is false the first time. */
  online: [info: { reconnected: boolean }];
  /** The stream went down; reconnecting follows unless stopped. */
  offline: [reason: string];
  /** The server refused the component for good after the first start: main exits(1) with the message. */
  fatal: [error: Error];
}

export interface ComponentConnection extends EventEmitter<ConnectionEvents> {
  readonly domain: string;
  /** Connects; resolves on the first `online`. Rejects on a fatal refusal, the start bound, or stop(). */
  start(): Promise<void>;
  /** Closes the stream gracefully (bounded); stops reconnecting; queued sends reject. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends a stanza whose `from` is in the component domain (set to the domain when absent)
   * and which has a `to`. Online: written now. Offline: queued (bounded) and written, in order,
   * on the next `online`; resolves when written. Rejects when invalid, queue full, or stopped.
   */
  send(stanza: Element): Promise<void>;
  /**
   * An iq get/set round trip (from checked like send(); defaults to the domain). Not queued: rejects
   * at once when offline, on an error reply (a StanzaError with `condition` and `type`), or after
   * timeoutMs (default iqTimeoutMs). Written directly, so it may overtake stanzas still queued.
   */
  request(iq: Element, timeoutMs?: number): Promise<Element>;
  /** The one inbound handler; register before start(). */
  onStanza(handler: StanzaHandler): void;
  isOnline(): boolean;
  status(): ConnectionStatus;
  /** Stanzas waiting in the offline queue. */
  queued(): number;
}

const CONFLICT_MESSAGE = "another connection holds the domain (stream error conflict); waiting for it to go";

const FATAL_CONDITIONS = new Set(["not-authorized", "host-unknown"]);

function fatalMessage(domain: string, err: XmppError): string {
  const detail = err.text ? `: ${err.text}` : "";
  switch (err.condition) {
    case "not-authorized":
      return `XMPP server refused the component secret for ${domain} (not-authorized)`;
    default:
      return `XMPP server does not serve the component domain ${domain} (${err.condition}${detail}); check its Component section`;
  }
}

/**
 * The domain part of a JID (`[local@]domain[/resource]`, read by @xmpp/jid), undefined when it is not one.
 * Strict: a value @xmpp/jid would rewrite (case folded, a second `@`) is not taken as written.
 */
export const jidDomain: (value: string) => string | undefined = memoize((value) => {
  try {
    const parsed = jid(value);
    return parsed.toString() === value ? parsed.domain : undefined;
  } catch {
    return undefined;
  }
}); // every stanza sent is checked; the router sends from a few JIDs (its channels)

function isStanza(el: Element): boolean {
  return el.name === "message" || el.name === "presence" || el.name === "iq";
}

/** name, type, id: never the JIDs (they may carry MSISDNs, design.md rule 6). */
function summary(el: Element): Record<string, string | undefined> {
  return { name: el.name, type: el.attrs.type as string | undefined, id: el.attrs.id as string | undefined };
}

interface Pending {
  stanza: Element;
  resolve(): void;
  reject(err: Error): void;
}

class Connection extends EventEmitter<ConnectionEvents> implements ComponentConnection {
  readonly domain: string;
  private readonly xmpp: Component;
  private readonly opts: Required<ComponentConnectionOptions>;
  private readonly log: Logger;
  private state: "idle" | "starting" | "running" | "stopped" = "idle";
  private online = false;
  private everOnline = false;
  private reason = "not started";
  private lastError: string | undefined;
  private fatal: Error | undefined;
  private handler: StanzaHandler | undefined;
  private readonly queue: Pending[] = [];
  /** Messages written in the last resendWindowMs, oldest first. */
  private readonly written: { at: number; stanza: Element }[] = [];
  /** What was written just before the stream went down: written again on the next `online`. */
  private resend: Element[] = [];
  private flushing = false;
  private starting: { resolve(): void; reject(err: Error): void } | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(opts: ComponentConnectionOptions, logger: Logger) {
    super();
    this.opts = {
      reconnectDelayMs: 1000,
      startTimeoutMs: 30_000,
      connectTimeoutMs: 10_000,
      stopTimeoutMs: 3000,
      resendWindowMs: 0,
      ...opts,
    };
    this.domain = opts.domain;
    this.log = logger;
    this.xmpp = component({ service: opts.service, domain: opts.domain, password: opts.secret });
    this.xmpp.reconnect.delay = this.opts.reconnectDelayMs;
    // Always listen: an unhandled `error` event would throw.
    this.xmpp.on("error", (err: Error) => this.onError(err));
    this.xmpp.on("status", (status: ComponentStatus) => this.onStatus(status));
    this.xmpp.middleware.use((ctx) => this.inbound(ctx.stanza, ctx.type));
  }

  onStanza(handler: StanzaHandler): void {
    this.handler = handler;
  }

  isOnline(): boolean {
    return this.online;
  }

  status(): ConnectionStatus {
    return this.online ? { online: true } : { online: false, reason: this.reason };
  }

  queued(): number {
    return this.queue.length;
  }

  start(): Promise<void> {
    if (this.state !== "idle") return Promise.reject(new Error(`start(): the component connection is already ${this.state}`));
    this.state = "starting";
    this.reason = "connecting";
    this.log.info({ service: this.opts.service, domain: this.domain }, "connecting the component");
    return new Promise<void>((resolve, reject) => {
      this.starting = { resolve, reject };
      this.startTimer = setTimeout(() => {
        const err = new Error(
          `XMPP component ${this.domain} not online within ${this.opts.startTimeoutMs} ms (${this.opts.service}: ${this.reason})`,
        );
        this.log.error({ error: err.message }, "giving up connecting");
        this.starting = undefined;
        reject(err);
        void this.stop();
      }, this.opts.startTimeoutMs);
      // Failures are reported through the `error` event; reconnect retries the transient ones.
      this.xmpp.start().catch(() => {});
    });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.state = "stopped";
    this.xmpp.reconnect.stop();
    this.clearTimers();
    const err = this.fatal ?? new Error(`XMPP component connection to ${this.domain} stopped; stanza not sent`);
    this.rejectQueue(err);
    if (this.starting) {
      this.starting.reject(this.fatal ?? new Error(`XMPP component connection to ${this.domain} stopped before it came online`));
      this.starting = undefined;
    }
    this.log.info("stopping the component connection");
    if (this.xmpp.status !== "online") {
      // No open stream to close politely (connecting, refused, already closing): drop the socket.
      this.xmpp.socket?.destroy();
    }
    if (this.xmpp.status !== "offline") {
      // Online: </stream:stream>, wait for the server's, close the socket. Bounded either way.
      const closed = await Promise.race([
        this.xmpp.stop().then(
          () => true,
          () => true,
        ),
        new Promise<false>((r) => setTimeout(() => r(false), this.opts.stopTimeoutMs).unref()),
      ]);
      if (!closed) {
        this.log.warn({ timeoutMs: this.opts.stopTimeoutMs }, "stream did not close in time; dropping the socket");
        this.xmpp.socket?.destroy();
      }
    }
    this.setOffline(this.fatal?.message ?? "stopped");
  }

  send(stanza: Element): Promise<void> {
    // One character XML forbids and the server drops the stream for everyone (protocol/xml-chars.ts).
    if (mendElement(stanza) > 0) {
      forgetSerialized(stanza); // the XML made when it was stored holds them still
      this.log.warn(summary(stanza), "replaced characters XML forbids in an outbound stanza");
    }
    const problem = this.check(stanza);
    if (problem) return Promise.reject(new Error(problem));
    if (this.state === "stopped") {
      return Promise.reject(this.fatal ?? new Error(`XMPP component connection to ${this.domain} is stopped; stanza not sent`));
    }
    if (this.online && this.queue.length === 0 && !this.flushing) {
      if (this.log.isLevelEnabled("trace")) this.log.trace(summary(stanza), "send");
      return this.xmpp.send(stanza).then(() => this.remember(stanza));
    }
    if (this.queue.length >= this.opts.outboundQueueLimit) {
      return Promise.reject(
        new Error(
          `XMPP component ${this.domain} is ${this.online ? "catching up" : "offline"} and its outbound queue is full (${this.opts.outboundQueueLimit} stanzas); retry later`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ stanza, resolve, reject });
      if (this.log.isLevelEnabled("trace")) this.log.trace({ ...summary(stanza), queued: this.queue.length }, "queued");
    });
  }

  async request(iq: Element, timeoutMs = this.opts.iqTimeoutMs): Promise<Element> {
    const isQuery = iq.name === "iq" && (iq.attrs.type === "get" || iq.attrs.type === "set");
    mendElement(iq);
    const problem = isQuery ? this.check(iq) : `request() takes an <iq type="get"|"set">, not <${iq.name}>`;
    if (problem) throw new Error(problem);
    const what = `iq ${iq.attrs.type as string} ${iq.getChildElements()[0]?.getNS() ?? "(no payload)"}`;
    if (!this.online || this.state === "stopped") {
      throw new Error(`XMPP component ${this.domain} is ${this.state === "stopped" ? "stopped" : "offline"}: ${what} not sent`);
    }
    try {
      return await this.xmpp.iqCaller.request(iq, timeoutMs);
    } catch (err) {
      if ((err as Error).name === "TimeoutError") {
        throw new Error(`${what} (id ${iq.attrs.id as string}) got no answer within ${timeoutMs} ms`, { cause: err });
      }
      throw err; // a StanzaError (error reply) or a failed write
    }
  }

  /** Why a stanza must not be sent (the server would close the stream for a foreign `from`), or undefined. */
  private check(stanza: Element): string | undefined {
    if (!isStanza(stanza)) return `only message, presence and iq stanzas can be sent, not <${stanza.name}>`;
    const to = stanza.attrs.to as string | undefined;
    if (!to) return `<${stanza.name}> without a 'to' attribute (XEP-0114 requires one)`;
    const from = stanza.attrs.from as string | undefined;
    if (from === undefined || from === "") {
      stanza.attrs.from = this.domain;
      forgetSerialized(stanza);
      return undefined;
    }
    if (jidDomain(from) !== this.domain) {
      return `refusing to send <${stanza.name}> from "${from}": not in the component domain ${this.domain} (the server would close the stream)`;
    }
    return undefined;
  }

  private async inbound(stanza: Element, type: string): Promise<Element | undefined> {
    if (!isStanza(stanza)) return undefined; // handshake, stream errors: handled by xmpp.js
    const query = stanza.name === "iq" && (type === "get" || type === "set");
    if (stanza.name === "iq" && !query) {
      this.log.debug(summary(stanza), "iq reply matching no pending request (late or unknown id): dropped");
      return undefined;
    }
    if (!this.handler) {
      this.log.warn(summary(stanza), "stanza received before a handler was registered: dropped");
      return undefined; // an iq gets service-unavailable
    }
    try {
      const reply = await this.handler(stanza);
      if (!query || !(reply instanceof Element)) return undefined;
      if (reply.is("iq")) {
        this.log.error(summary(stanza), "iq handler returned a whole <iq>, not its payload or an <error/>");
        return internalServerError();
      }
      return reply;
    } catch (err) {
      this.log.error({ err, ...summary(stanza) }, "stanza handler failed");
      return query ? internalServerError() : undefined;
    }
  }

  private onStatus(status: ComponentStatus): void {
    this.log.debug({ status }, "component status");
    switch (status) {
      case "connecting":
        clearTimeout(this.connectTimer);
        this.connectTimer = setTimeout(() => {
          this.lastError = `not online within ${this.opts.connectTimeoutMs} ms of connecting`;
          this.reason = this.lastError;
          this.log.warn({ status: this.xmpp.status }, "connection attempt hangs: dropping it");
          this.xmpp.socket?.destroy();
        }, this.opts.connectTimeoutMs);
        this.connectTimer.unref();
        break;
      case "online":
        this.onOnline();
        break;
      case "disconnect":
      case "offline":
        clearTimeout(this.connectTimer);
        this.setOffline(this.state === "stopped" ? (this.fatal?.message ?? "stopped") : (this.lastError ?? "connection lost"));
        break;
      default:
        // closing, close, disconnecting after online: the stream is going away.
        if (this.online) this.setOffline(this.state === "stopped" ? "stopped" : (this.lastError ?? `connection ${status}`));
    }
  }

  private onOnline(): void {
    clearTimeout(this.connectTimer);
    if (this.state === "stopped") return;
    const reconnected = this.everOnline;
    this.online = true;
    this.everOnline = true;
    this.lastError = undefined;
    this.state = "running";
    if (this.resend.length > 0) {
      // Written again before anything queued, so per-conversation order holds; nobody waits for these.
      this.queue.unshift(...this.resend.map((stanza) => ({ stanza, resolve: () => undefined, reject: () => undefined })));
      this.log.info({ stanzas: this.resend.length }, "writing again what was written just before the stream went down");
      this.resend = [];
    }
    this.log.info({ reconnected, queued: this.queue.length }, "component online");
    if (this.starting) {
      clearTimeout(this.startTimer);
      this.starting.resolve();
      this.starting = undefined;
    }
    void this.flush();
    this.emit("online", { reconnected });
  }

  private setOffline(reason: string): void {
    this.reason = reason;
    if (!this.online) return;
    this.online = false;
    if (this.state !== "stopped") this.keepForResend();
    // Going offline because we stop is expected; anything else is worth a warning.
    if (reason === "stopped") this.log.info({ reason }, "component offline");
    else this.log.warn({ reason }, "component offline");
    this.emit("offline", reason);
  }

  private onError(err: Error): void {
    const e = err as XmppError;
    const message = e.name === "StreamError" ? `stream error ${e.condition}${e.text ? `: ${e.text}` : ""}` : err.message || err.name;
    if (e.name === "StreamError" && FATAL_CONDITIONS.has(e.condition)) {
      this.failFatally(new Error(fatalMessage(this.domain, e), { cause: err }));
      return;
    }
    if (e.name === "StreamError" && e.condition === "conflict") {
      this.onConflict();
      return;
    }
    if (this.lastError === CONFLICT_MESSAGE && /ECONNRESET|EPIPE/.test(message)) {
      // The server closing the socket after its conflict stream error: the conflict stays the reason.
      this.log.debug({ error: message }, "xmpp error after conflict");
      return;
    }
    const repeated = message === this.lastError;
    this.lastError = message;
    if (!this.online && this.state !== "stopped") this.reason = message;
    if (repeated || this.state === "stopped") this.log.debug({ error: message }, "xmpp error");
    else this.log.warn({ error: message }, "xmpp error");
  }

  /** Another connection holds the domain: keep retrying (xmpp.js reconnects after the server closes), without start()'s bound. */
  private onConflict(): void {
    clearTimeout(this.startTimer);
    const message = CONFLICT_MESSAGE;
    if (this.lastError !== message && this.state !== "stopped") {
      this.log.warn({ retryMs: this.opts.reconnectDelayMs }, "another instance holds the component domain; retrying until it goes");
    }
    this.lastError = message;
    if (!this.online && this.state !== "stopped") this.reason = message;
  }

  /** The server refused us for good: stop reconnecting, fail start() or report `fatal`. */
  private failFatally(err: Error): void {
    if (this.fatal) return;
    this.fatal = err;
    this.reason = err.message;
    this.xmpp.reconnect.stop();
    this.clearTimers();
    this.log.error({ error: err.message }, "component refused by the server; not reconnecting");
    const starting = this.starting;
    void this.stop(); // the server closes the stream too; rejects queued sends with `err`
    if (!starting) this.emit("fatal", err);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.online && this.queue.length > 0) {
        const item = this.queue[0]!;
        try {
          await this.xmpp.send(item.stanza);
        } catch (err) {
          if (this.xmpp.status !== "online") break; // connection dropped: keep it for the next online
          if (this.queue[0] === item) this.queue.shift();
          item.reject(err as Error);
          continue;
        }
        if (this.queue[0] === item) this.queue.shift();
        this.remember(item.stanza);
        item.resolve();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Keeps a written message for the resend window (the oldest ones fall out as new ones come). */
  private remember(stanza: Element): void {
    const window = this.opts.resendWindowMs;
    // An archive result (XEP-0313) answers one query; written again after a reconnect it answers none.
    if (window <= 0 || stanza.name !== "message" || stanza.getChild("result", "urn:xmpp:mam:2")) return;
    const now = Date.now();
    this.written.push({ at: now, stanza });
    while (this.written.length > 0 && this.written[0]!.at < now - window) this.written.shift();
  }

  /** The stream went down: what it took in the window may be lost; it goes out again first on the next `online`. */
  private keepForResend(): void {
    const since = Date.now() - this.opts.resendWindowMs;
    this.resend.push(...this.written.filter((w) => w.at >= since).map((w) => w.stanza));
    this.written.length = 0;
  }

  private rejectQueue(err: Error): void {
    for (const item of this.queue.splice(0)) item.reject(err);
  }

  private clearTimers(): void {
    clearTimeout(this.startTimer);
    clearTimeout(this.connectTimer);
  }
}

function internalServerError(): Element {
  const spec = ERRORS.INTERNAL_ERROR;
  return xml("error", { type: spec.type }, xml(spec.condition, { xmlns: NS_STANZAS }));
}

export function createComponentConnection(opts: ComponentConnectionOptions, logger: Logger): ComponentConnection {
  return new Connection(opts, logger);
}
