// @xmpp/component 0.13.1 ships no typings (and is CommonJS); this covers what we use.
// Shapes checked against node_modules/@xmpp/{component,component-core,connection,iq,middleware,reconnect} 0.13.
declare module "@xmpp/component" {
  import type { Element } from "@xmpp/xml";
  import type { EventEmitter } from "node:events";
  import type { Socket } from "node:net";

  interface IqCallee {
    get(ns: string, name: string, handler: (ctx: IqContext) => unknown): void;
    set(ns: string, name: string, handler: (ctx: IqContext) => unknown): void;
  }
  interface IqContext {
    stanza: Element;
    element: Element;
    from: { toString(): string; bare(): { toString(): string }; local: string; resource: string };
    to: { toString(): string; local: string };
  }
  interface IqCaller {
    /** Adds an id when missing; rejects with a StanzaError on an error reply, with a TimeoutError (empty message) after `timeout` ms (default 30 s). */
    request(stanza: Element, timeout?: number): Promise<Element>;
  }
  /** The context middleware gets for each element received (@xmpp/middleware IncomingContext). */
  interface IncomingContext {
    stanza: Element;
    /** Element name: "message", "presence", "iq", or a nonza's name. */
    name: string;
    /** The type attribute, defaulted ("normal" for message, "available" for presence, "" else). */
    type: string;
    id: string;
    /** Set by the iq callee for get/set: the iq's one child. */
    element?: Element;
  }
  /**
   * Koa-style middleware over every element received. What the chain returns
   * is sent as a reply (for iq get/set the iq callee wraps it: an Element is the
   * result payload, an `<error/>` element gives an error reply, nothing gives
   * service-unavailable, a throw gives internal-server-error).
   */
  type MiddlewareFn = (ctx: IncomingContext, next: () => Promise<unknown>) => unknown;
  interface Middleware {
    use(fn: MiddlewareFn): MiddlewareFn;
    filter(fn: MiddlewareFn): MiddlewareFn;
  }
  interface Reconnect extends EventEmitter {
    /** Fixed delay before each attempt, ms (default 1000). */
    delay: number;
    stop(): void;
    start(): void;
  }
  /** @xmpp/error: a stream or stanza error received from the server. */
  export interface XmppError extends Error {
    /** "StreamError", "StanzaError" or "XMPPError". */
    name: string;
    condition: string;
    text?: string;
    /** StanzaError only. */
    type?: string;
    element?: Element;
  }
  /**
   * Statuses (event `status` with the status, and an event of the status's name):
   * offline, connecting, connect, opening, open, online, closing, close,
   * disconnecting, disconnect.
   */
  export type ComponentStatus =
    "offline" | "connecting" | "connect" | "opening" | "open" | "online" | "closing" | "close" | "disconnecting" | "disconnect";
  export interface Component extends EventEmitter {
    status: ComponentStatus;
    jid: { toString(): string } | null;
    /** The TCP socket while connected, else null. */
    socket: Socket | null;
    /** Bound (ms) of the stream-open, handshake, close and disconnect waits (default 2000). */
    timeout: number;
    options: { service: string; domain: string };
    /** Connects, opens the stream; resolves on `online`, rejects on the first `error`. Throws unless status is offline. */
    start(): Promise<unknown>;
    /** Closes the stream (waits for the server's, bounded by `timeout`) and the socket; status offline. */
    stop(): Promise<unknown>;
    /** Writes one stanza (adds from = domain when missing); resolves when the socket took it. */
    send(element: Element): Promise<void>;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    middleware: Middleware;
    reconnect: Reconnect;
  }
  export function component(options: { service: string; domain: string; password: string }): Component;
  const pkg: { component: typeof component };
  export default pkg;
}
