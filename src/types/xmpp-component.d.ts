// @xmpp/component 0.13.1 ships no typings (and is CommonJS); this covers what we use.
declare module "@xmpp/component" {
  import type { Element } from "@xmpp/xml";
  import type { EventEmitter } from "node:events";

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
    request(stanza: Element, timeout?: number): Promise<Element>;
  }
  interface Middleware {
    use(fn: (ctx: { stanza: Element }, next: () => Promise<unknown>) => unknown): void;
    filter(fn: (ctx: { stanza: Element }, next: () => Promise<unknown>) => unknown): void;
  }
  interface Reconnect extends EventEmitter {
    delay: number;
    stop(): void;
    start(): void;
  }
  export interface Component extends EventEmitter {
    status: string;
    jid: { toString(): string } | null;
    start(): Promise<unknown>;
    stop(): Promise<unknown>;
    send(...elements: Element[]): Promise<void>;
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    middleware: Middleware;
    reconnect: Reconnect;
  }
  export function component(options: { service: string; domain: string; password: string }): Component;
  const pkg: { component: typeof component };
  export default pkg;
}
