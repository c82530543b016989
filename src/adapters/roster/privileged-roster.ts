// backends.md section 4: the users' rosters on the XMPP server, through
// XEP-0356 Privileged Entity (https://xmpp.org/extensions/xep-0356.html),
// namespace urn:xmpp:privilege:2 (Prosody's mod_privilege speaks only that)
// or urn:xmpp:privilege:1 (ejabberd 23.01 speaks only that, docs/ejabberd.md).
// Both versions advertise and use roster access the same way.
//
// Permissions (XEP-0356 section 4.2): on every connect the server sends the
// component one `<message from="{host}"><privilege xmlns="urn:xmpp:privilege:2">
// <perm access="roster" type="none|get|set|both"/>…</privilege></message>` per
// host that grants it something (`:1` alike; ejabberd also lists the perms it
// did not grant, e.g. `<perm access="presence" type="none"/>`). Nothing is
// assumed: until that message comes the router has no roster access, and a
// connection that goes down forgets what it had (the next connect advertises
// again). A host that sends nothing within `graceMs` of `online` granted
// nothing: one warning says how to fix it.
//
// Roster access (XEP-0356 section 5, RFC 6121 section 2,
// https://www.rfc-editor.org/rfc/rfc6121#section-2): `<iq type="get|set"
// to="{user bare JID}">` with a `jabber:iq:roster` query, as if the user sent
// it; one item per set (RFC 6121 section 2.1.5). Every iq is bounded.
//
// MSISDNs (JID localparts) never reach the log in clear (design.md rule 6).
import jid from "@xmpp/jid";
import xml, { type Element } from "@xmpp/xml";
import type { RosterItem, RosterPort } from "../../core/ports.js";
import { RouterError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { NS_PRIVILEGE, NS_ROSTER } from "../../protocol/index.js";

export type RosterAccess = "none" | "get" | "set" | "both";

const ACCESS: readonly RosterAccess[] = ["none", "get", "set", "both"];
const SUBSCRIPTIONS: readonly RosterItem["subscription"][] = ["none", "to", "from", "both", "remove"];

/**
 * Stanza error conditions meaning "no privilege" (mod_privilege answers
 * `forbidden`). Not `not-allowed`: mod_privilege uses it for a user's own JID.
 */
const REFUSED = new Set(["forbidden", "not-authorized"]);

/** The perms of a privilege advertisement, by access ("roster", "message", "presence", "iq"). */
export type Permissions = ReadonlyMap<string, string>;

/** XEP-0356 before version 0.4 (ejabberd up to at least 23.01). */
export const NS_PRIVILEGE_1 = "urn:xmpp:privilege:1";

/** The advertisement namespaces understood, newest first. */
const PRIVILEGE_NAMESPACES = [NS_PRIVILEGE, NS_PRIVILEGE_1] as const;

/**
 * The `<privilege xmlns="urn:xmpp:privilege:2">` (or `:1`) of a message, or
 * null when it carries none. Perms without an access are skipped; an empty
 * privilege element (all revoked) gives an empty map.
 */
export function parsePrivilege(message: Element): Permissions | null {
  for (const ns of PRIVILEGE_NAMESPACES) {
    const privilege = message.getChild("privilege", ns);
    if (privilege === undefined) continue;
    const perms = new Map<string, string>();
    for (const perm of privilege.getChildren("perm", ns)) {
      const access: unknown = perm.attrs.access;
      if (typeof access !== "string" || access === "") continue;
      const type: unknown = perm.attrs.type;
      perms.set(access, typeof type === "string" ? type : "");
    }
    return perms;
  }
  return null;
}

/** The roster access of a set of perms; an unknown type counts as none. */
export function rosterAccess(perms: Permissions | undefined): RosterAccess {
  const t = perms?.get("roster");
  return (ACCESS as readonly string[]).includes(t ?? "") ? (t as RosterAccess) : "none";
}

const canGet = (a: RosterAccess) => a === "get" || a === "both";
const canSet = (a: RosterAccess) => a === "set" || a === "both";

/** RFC 6121 section 2.1.3 roster get, sent on the user's behalf. */
export function rosterGet(userBareJid: string): Element {
  return xml("iq", { type: "get", to: userBareJid }, xml("query", { xmlns: NS_ROSTER }));
}

/** RFC 6121 section 2.1.5 roster set of one item; the subscription is never sent (the server keeps it). */
export function rosterSet(userBareJid: string, item: Omit<RosterItem, "subscription">): Element {
  const attrs: Record<string, string> = { jid: item.jid };
  if (item.name !== undefined && item.name !== "") attrs["name"] = item.name;
  const groups = [...new Set(item.groups.filter((g) => g !== ""))].map((g) => xml("group", {}, g));
  return xml("iq", { type: "set", to: userBareJid }, xml("query", { xmlns: NS_ROSTER }, xml("item", attrs, ...groups)));
}

/** The items of a roster result (RFC 6121 section 2.1.2): duplicates and group repeats collapse, items without a jid are skipped. */
export function parseRoster(result: Element): RosterItem[] {
  const query = result.getChild("query", NS_ROSTER);
  if (query === undefined) return [];
  const items = new Map<string, RosterItem>();
  for (const el of query.getChildren("item", NS_ROSTER)) {
    const jid: unknown = el.attrs.jid;
    if (typeof jid !== "string" || jid === "") continue;
    const sub: unknown = el.attrs.subscription;
    const subscription = (SUBSCRIPTIONS as readonly unknown[]).includes(sub) ? (sub as RosterItem["subscription"]) : "none";
    const groups = [
      ...new Set(
        el
          .getChildren("group", NS_ROSTER)
          .map((g) => g.getText())
          .filter((g) => g !== ""),
      ),
    ];
    const item: RosterItem = { jid, groups, subscription };
    if (typeof el.attrs.name === "string" && el.attrs.name !== "") item.name = el.attrs.name;
    items.set(jid, item);
  }
  return [...items.values()];
}

/** The domain of a JID (read by @xmpp/jid, which lowercases it); "" when it is none (no host granted anything to it). */
function domainOf(bareJid: string): string {
  try {
    return jid(bareJid).domain;
  } catch {
    return "";
  }
}

/** What the adapter needs of the component connection (xmpp/connection.ts). */
export interface RosterConnection {
  /** A bounded iq round trip; rejects on an error reply (with its `condition`) or the timeout. */
  request(iq: Element, timeoutMs?: number): Promise<Element>;
  on(event: "online" | "offline", listener: () => void): unknown;
  off(event: "online" | "offline", listener: () => void): unknown;
}

export interface PrivilegedRosterOptions {
  /** The component connection: its `online`/`offline` events and bounded iq round trips. */
  connection: RosterConnection;
  /** Config `xmpp.userDomain`: the host whose roster privilege `permitted()` reports. */
  userDomain: string;
  /** Config `xmpp.domain`, for the fix in the warning. */
  componentDomain: string;
  /** Bound of each roster iq. */
  timeoutMs: number;
  /** How long after `online` the advertisement may take before the roster counts as not granted. Default 3000. */
  graceMs?: number;
  log: Logger;
}

/**
 * RosterPort over XEP-0356. Hand it every message the server itself sends to
 * the component domain (`onServerMessage`); it learns its rights from them.
 */
export class PrivilegedRoster implements RosterPort {
  private readonly grants = new Map<string, Permissions>();
  private readonly graceMs: number;
  private graceTimer: NodeJS.Timeout | undefined;
  /** Resolved when the user domain's rights are known for this connection (advertised, or the grace ended). */
  private known: { promise: Promise<void>; resolve(): void } = PrivilegedRoster.deferred();
  /** The access last warned about, until a grant comes: the same warning is not repeated (say, on every reconnect). */
  private warnedFor: RosterAccess | null = null;
  /** The user domain advertised its rights on the current stream. */
  private advertised = false;
  private readonly onOnline = () => this.connected();
  private readonly onOffline = () => this.disconnected();

  constructor(private readonly opts: PrivilegedRosterOptions) {
    this.graceMs = opts.graceMs ?? 3000;
    opts.connection.on("online", this.onOnline);
    opts.connection.on("offline", this.onOffline);
  }

  private static deferred(): { promise: Promise<void>; resolve(): void } {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  }

  /** The user domain's roster access as advertised on this connection. */
  access(): RosterAccess {
    return rosterAccess(this.grants.get(this.opts.userDomain.toLowerCase()));
  }

  /** Roster get and set on the user domain: what cmd_add_to_roster needs. */
  permitted(): boolean {
    return this.access() === "both";
  }

  /**
   * Resolves once the user domain's rights are known on the current
   * connection: advertised, or `graceMs` after `online` passed without it.
   * Commands await it so one that arrives in the first milliseconds after a
   * (re)connect is not refused only because the advertisement is in flight.
   * While offline it waits for the next connection (callers bound it).
   */
  settled(): Promise<void> {
    return this.known.promise;
  }

  /**
   * A message from a server host (from = a bare domain, no localpart) to the
   * component domain. Returns true when it was a privilege advertisement
   * (consumed: never answered), false otherwise.
   */
  onServerMessage(stanza: Element, fromDomain: string): boolean {
    const perms = parsePrivilege(stanza);
    if (perms === null) return false;
    const host = fromDomain.toLowerCase();
    this.grants.set(host, perms);
    const after = rosterAccess(perms);
    const log = this.opts.log;
    if (host !== this.opts.userDomain.toLowerCase()) {
      log.info({ host, roster: after }, "XEP-0356 privileges advertised by a host other than the user domain (kept, unused)");
      return true;
    }
    log.info({ host, roster: after, perms: Object.fromEntries(perms) }, "XEP-0356 privileges advertised");
    if (this.permitted()) {
      if (this.warnedFor !== null) log.info({ host }, "roster privilege granted now: cmd_add_to_roster works again");
      this.warnedFor = null;
    } else if (this.warnedFor !== after) {
      this.warnNotGranted(after);
    }
    clearTimeout(this.graceTimer);
    this.advertised = true;
    this.known.resolve();
    return true;
  }

  async get(userBareJid: string): Promise<RosterItem[]> {
    this.require(userBareJid, canGet, "get");
    const result = await this.round(rosterGet(userBareJid), "get");
    return parseRoster(result);
  }

  async set(userBareJid: string, item: Omit<RosterItem, "subscription">): Promise<void> {
    this.require(userBareJid, canSet, "set");
    await this.round(rosterSet(userBareJid, item), "set");
  }

  /** Stops listening to the connection (tests build several). */
  close(): void {
    clearTimeout(this.graceTimer);
    this.opts.connection.off("online", this.onOnline);
    this.opts.connection.off("offline", this.onOffline);
  }

  private require(userBareJid: string, allowed: (a: RosterAccess) => boolean, what: "get" | "set"): void {
    const access = rosterAccess(this.grants.get(domainOf(userBareJid)));
    if (!allowed(access)) {
      throw new RouterError(
        "ROSTER_NOT_PERMITTED",
        `roster ${what}: the XMPP server granted no roster "${what}" privilege (XEP-0356) for ${domainOf(userBareJid)} (granted: ${access})`,
      );
    }
  }

  private async round(iq: Element, what: "get" | "set"): Promise<Element> {
    try {
      return await this.opts.connection.request(iq, this.opts.timeoutMs);
    } catch (err) {
      const condition = (err as { condition?: unknown }).condition;
      if (typeof condition === "string" && REFUSED.has(condition)) {
        this.opts.log.error({ condition }, `roster ${what} refused by the XMPP server although the privilege was advertised`);
        throw new RouterError("ROSTER_NOT_PERMITTED", `roster ${what}: the XMPP server refused it (${condition})`, { cause: err });
      }
      const detail = typeof condition === "string" ? `the XMPP server answered ${condition}` : (err as Error).message;
      throw new RouterError("INTERNAL_ERROR", `roster ${what}: ${detail}`, { cause: err });
    }
  }

  private connected(): void {
    // The server advertises right after the handshake, which may be handled
    // before `online` fires: what this stream advertised is kept (disconnected()
    // forgot the previous stream's rights).
    clearTimeout(this.graceTimer);
    if (this.advertised) return;
    this.graceTimer = setTimeout(() => {
      if (!this.permitted() && this.warnedFor !== this.access()) this.warnNotGranted(this.access());
      this.known.resolve();
    }, this.graceMs);
    this.graceTimer.unref();
  }

  private disconnected(): void {
    clearTimeout(this.graceTimer);
    this.grants.clear();
    this.advertised = false;
    this.known.resolve(); // whoever waited gets "not permitted" now
    this.known = PrivilegedRoster.deferred();
  }

  private warnNotGranted(access: RosterAccess): void {
    this.warnedFor = access;
    const d = this.opts.userDomain;
    this.opts.log.warn(
      { host: d, roster: access },
      `the XMPP server granted no roster privilege (XEP-0356) for ${d}${access === "none" ? "" : ` (only "${access}")`}: ` +
        `cmd_add_to_roster will answer ROSTER_NOT_PERMITTED; see docs/protocol.md (cmd_add_to_roster). ` +
        `Prosody: enable mod_privilege (prosody-modules) in VirtualHost "${d}" and in Component "${this.opts.componentDomain}", ` +
        `with privileged_entities = { ["${this.opts.componentDomain}"] = { roster = "both" } } in the VirtualHost`,
    );
  }
}
