// Stanza dispatch: every inbound stanza goes to the one handler that owns it,
// and every request gets an answer (design.md "Style"): an iq nobody handles
// gets service-unavailable, a handler that throws internal-server-error (both
// from the connection, which sends iq replies), a message handler that throws
// an error reply and a log line. Messages of one sender to one JID are handled
// in arrival order (design.md rule 3): the connection does not await one
// stanza before the next, so the order is kept here, before anything awaits.
//
// Messages wait in memory until they are stored, so their number is bounded
// (rule 7): beyond the bound, and for every message still waiting when the
// router stops, the sender is told BUSY (resource-constraint, wait): the
// message was not stored, send it again. Nothing is dropped silently (rule 1).
import jid from "@xmpp/jid";
import type { Element } from "@xmpp/xml";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { canReplyWithError, errorReply } from "../protocol/index.js";
import { memoize } from "../protocol/memo.js";
import { KeyedQueue } from "../router/keyed-queue.js";
import type { StanzaHandler } from "./connection.js";
import type { FairShare } from "./fair-share.js";

export interface Address {
  /** The full JID as sent. */
  full: string;
  bare: string;
  /** Localpart ("" for a domain JID). */
  local: string;
  domain: string;
  resource: string;
}

/** A `from` or `to` read by @xmpp/jid; every message of a conversation has the same ones, so they are read once (memo.ts). */
export function parseAddress(value: unknown): Readonly<Address> | null {
  if (typeof value !== "string" || value === "") return null;
  return addressOf(value);
}

const addressOf = memoize((value: string): Readonly<Address> | null => {
  try {
    const j = jid(value);
    return Object.freeze({
      full: j.toString(),
      bare: j.bare().toString(),
      local: j.local ?? "",
      domain: j.domain,
      resource: j.resource ?? "",
    });
  } catch {
    return null;
  }
});

export interface IqRequest {
  stanza: Element;
  /** The iq's only child, e.g. `<vCard xmlns="vcard-temp"/>`. */
  child: Element;
  from: Address;
  to: Address;
}

/** Returns the result payload, an `<error/>`, or nothing (service-unavailable). */
export type IqHandler = (req: IqRequest) => Promise<Element | void> | Element | void;

export interface Routes {
  /** By `"{get|set} {namespace} {element}"`, e.g. "get vcard-temp vCard". */
  iq: Record<string, IqHandler>;
  /** A message to `{local}@{domain}`: a channel or a server address. */
  channelMessage(stanza: Element, to: Address, from: Address): Promise<void>;
  /** A message to the component domain itself: commands, the server's XEP-0356 advertisement. */
  serviceMessage(stanza: Element, from: Address): Promise<void>;
  presence(stanza: Element, to: Address, from: Address): Promise<void>;
  /** A message of ours bounced with an error (RFC 6120 section 8.3); absent: only logged. */
  bounce?(stanza: Element, to: Address, from: Address): Promise<void>;
}

export interface DispatchOptions {
  domain: string;
  namespace: string;
  routes: Routes;
  send: (stanza: Element) => Promise<void>;
  log: Logger;
  metrics: Metrics;
  /** While false (stopping), messages are answered BUSY. */
  accepting: () => boolean;
  /** Messages not yet handled here plus `othersInFlight()` may not exceed this; beyond it: BUSY. */
  maxInFlight: number;
  /** Work in flight elsewhere that the bound counts too (deliveries running). */
  othersInFlight: () => number;
  /** protocol.md section 8: whether a sender's domain may write (messages); iq and presence stay open. Default: every domain. */
  senderDomainAllowed?: (domain: string) => boolean;
  /** Per-sender bounds (fair-share.ts): a share of maxInFlight (BUSY), a message rate (RATE_LIMITED). */
  fairShare?: FairShare;
}

export function iqKey(type: string, ns: string, name: string): string {
  return `${type} ${ns} ${name}`;
}

export function createDispatcher(opts: DispatchOptions): StanzaHandler & { idle(): Promise<void>; pending(): number } {
  const { routes, log, metrics } = opts;
  const ordered = new KeyedQueue();
  let pending = 0;

  const busy = (stanza: Element, why: string) => {
    metrics.errors.inc({ code: "BUSY" });
    void opts
      .send(
        errorReply(stanza, "BUSY", `the router ${why} and did not store this message: send it again later`, { namespace: opts.namespace }),
      )
      .catch(() => undefined);
  };

  // protocol.md section 8: refused before anything is read or written; a security event (the MSISDN key is hashed by the logger).
  const foreign = (stanza: Element, from: Address, to: Address) => {
    log.warn({ security: true, msisdn: from.local, domain: from.domain, channel: to.local }, "sender of a foreign domain: refused");
    metrics.errors.inc({ code: "FOREIGN_DOMAIN" });
    if (!canReplyWithError(stanza)) return;
    void opts
      .send(
        errorReply(stanza, "FOREIGN_DOMAIN", `from: only users of the router's user domain may write here`, { namespace: opts.namespace }),
      )
      .catch(() => undefined);
  };

  const rateLimited = (stanza: Element) => {
    metrics.errors.inc({ code: "RATE_LIMITED" });
    const text = `the sender went over ${opts.fairShare?.rateText ?? "its message rate"} and this message was not stored: send it again later`;
    void opts.send(errorReply(stanza, "RATE_LIMITED", text, { namespace: opts.namespace })).catch(() => undefined);
  };

  const failMessage = async (stanza: Element, err: unknown) => {
    log.error({ err }, "message handler failed");
    metrics.errors.inc({ code: "INTERNAL_ERROR" });
    if (!canReplyWithError(stanza)) return;
    await opts
      .send(errorReply(stanza, "INTERNAL_ERROR", "the router failed to handle this message; it is logged", { namespace: opts.namespace }))
      .catch(() => undefined);
  };

  /**
   * A bounce of something we sent (e.g. the user is offline and the server keeps nothing): to the bounce route
   * within the same bounds as messages, in order with the sender's messages; never answered (RFC 6120 section 8.3).
   */
  const bounced = (stanza: Element, to: Address, from: Address): void | Promise<void> => {
    log.debug({ channel: to.local }, "message bounced with an error");
    if (!routes.bounce || !opts.accepting() || (opts.senderDomainAllowed && !opts.senderDomainAllowed(from.domain))) return;
    if (pending + opts.othersInFlight() >= opts.maxInFlight) return;
    const share = opts.fairShare?.admit(from.bare) ?? { admitted: true as const, withinRate: Promise.resolve(true), release() {} };
    if (!share.admitted) return;
    pending++;
    return ordered
      .run(`${from.bare}\u0000${to.bare}`, async () => {
        if (await share.withinRate)
          await routes.bounce?.(stanza, to, from).catch((err: unknown) => log.warn({ err }, "bounce handler failed"));
      })
      .finally(() => {
        pending--;
        share.release();
      });
  };

  const handler = (stanza: Element): void | Element | Promise<void | Element> => {
    const from = parseAddress(stanza.attrs.from);
    const to = parseAddress(stanza.attrs.to);
    if (!from || !to || to.domain !== opts.domain) return; // the server never routes these to us
    switch (stanza.name) {
      case "iq": {
        const child = stanza.children.find((c): c is Element => typeof c !== "string");
        if (!child) return;
        metrics.stanzasIn.inc({ type: "iq" });
        const route = routes.iq[iqKey(String(stanza.attrs.type), String(child.attrs.xmlns ?? ""), child.name)];
        return route?.({ stanza, child, from, to });
      }
      case "message": {
        if (stanza.attrs.type === "error") return bounced(stanza, to, from);
        if (opts.senderDomainAllowed && !opts.senderDomainAllowed(from.domain)) return foreign(stanza, from, to);
        if (!opts.accepting()) return busy(stanza, "is shutting down");
        if (pending + opts.othersInFlight() >= opts.maxInFlight) return busy(stanza, "is overloaded");
        const share = opts.fairShare?.admit(from.bare) ?? { admitted: true as const, withinRate: Promise.resolve(true), release() {} };
        if (!share.admitted) return busy(stanza, "holds as many messages of this sender as one sender may have in flight");
        pending++;
        const run = to.local === "" ? () => routes.serviceMessage(stanza, from) : () => routes.channelMessage(stanza, to, from);
        return ordered
          .run(`${from.bare}\u0000${to.bare}`, async () => {
            // Still queued when the router began to stop: answered, never dropped.
            if (!opts.accepting()) return busy(stanza, "is shutting down");
            if (!(await share.withinRate)) return rateLimited(stanza);
            await run().catch((err: unknown) => failMessage(stanza, err));
          })
          .finally(() => {
            pending--;
            share.release();
          });
      }
      case "presence":
        metrics.stanzasIn.inc({ type: "presence" });
        return routes.presence(stanza, to, from).catch((err: unknown) => log.error({ err }, "presence handler failed"));
    }
  };
  return Object.assign(handler, { idle: () => ordered.idle(), pending: () => pending });
}
